"""What a model or export folder is, and where a tool may write: the checks every tool runs before it reads a
folder or writes a file (README "Guarantees").

A save is the set of files one `save_pretrained` / export wrote: config, weights (or ONNX graphs), tokenizer and
code. After saving, train.py and export_onnx.py write `cmhl_save.json`, the name and sha256 of each of those
files (`write_manifest`). Before reading, every tool calls `check_save`: a folder missing a part it needs, or
holding a part that differs from the manifest or is not in it (left by another save), is an error naming the folder
and the part. A folder without a manifest (a stock checkpoint, an earlier version's) is checked for its parts only.
`save_fingerprint` hashes what a folder's save is by content, for resuming (never by path, size or time).
"""

import hashlib
from pathlib import Path

from data import DataError
from jsonfiles import read_object
from outputs import write_json

MANIFEST = "cmhl_save.json"
WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "model.safetensors.index.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "added_tokens.json", "*.model", "spm.model")
PART_PATTERNS = ("config.json", *WEIGHT_FILES, *TOKENIZER_FILES, "*.py", "*.onnx", "*.onnx.data")
# What each need is met by: any one file of the group (a tokenizer needs its vocabulary, not only its config).
NEEDS = {"config": ("config.json",), "weights": ("*.safetensors", "pytorch_model*.bin"),
         "tokenizer": ("tokenizer.json", "vocab.txt", "vocab.json", "*.model"),
         "onnx": ("model.onnx",), "onnx-int8": ("model_int8.onnx",)}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parts(folder: Path) -> list[Path]:
    """The files of `folder` (not its sub-folders) that belong to a save, sorted by name."""
    found = {p for pattern in PART_PATTERNS for p in folder.glob(pattern) if p.is_file()}
    return sorted(found - {folder / "training_args.bin"}, key=lambda p: p.name)


def write_manifest(folder) -> Path:
    """Record the save now in `folder`: {"files": {name: sha256}}, written whole (a temporary name, then a rename)."""
    folder = Path(folder)
    return write_json(folder / MANIFEST, {"files": {p.name: file_digest(p) for p in parts(folder)}})


def is_local(name_or_path: str) -> bool:
    """A path on this machine, or meant as one: it exists, or it is spelled as a path (./x, /x, ~/x, a\\x, x/y/z),
    not as a Hub id (`name` or `org/name`)."""
    text = str(name_or_path)
    return (Path(text).exists() or text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1
            or text.endswith("/"))


def check_save(name_or_path, needs=("config", "weights", "tokenizer"), flag: str = "--model_name_or_path") -> None:
    """Stop, naming the folder and the part, unless `name_or_path` is one whole save holding `needs` (NEEDS keys).
    A Hub id is left to the Hub loaders (they fetch whole repositories)."""
    if not is_local(name_or_path):
        if not hub_can_serve(name_or_path):
            raise DataError(f"{flag} {name_or_path}: no such folder here, and the Hugging Face Hub cannot be reached "
                            "to fetch it as a model id (offline?); give the path of a model folder")
        return
    folder = Path(name_or_path).expanduser()
    if not folder.exists():
        raise DataError(f"{flag} {name_or_path}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{flag} {name_or_path}: expected a model folder (config.json, weights, tokenizer), got a file")
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        recorded = read_object(manifest_path, "save manifest", {"files": (dict, True)})["files"]
        for name, digest in recorded.items():
            path = folder / name
            if not path.is_file():
                raise DataError(f"{folder}: part {name} of this save is missing; copy the whole folder, or save again")
            if file_digest(path) != digest:
                raise DataError(f"{folder}: {name} is not the file this save wrote (changed, or written by another "
                                "save into this folder); save again into an empty folder")
        strays = [p.name for p in parts(folder) if p.name not in recorded]
        if strays:
            raise DataError(f"{folder}: {strays} are not part of the save recorded in {MANIFEST} (left by another "
                            "save?); save again into an empty folder, or remove them")
    missing = [need for need in needs if not any(p.is_file() for pattern in NEEDS[need] for p in folder.glob(pattern))]
    if "weights" in missing and (folder / "model.onnx").is_file():
        raise DataError(f"{flag} {name_or_path}: is an ONNX export (export_onnx.py), not a PyTorch checkpoint; score it "
                        "with predict.py --runtime onnx (or onnx-int8), or give the checkpoint it was exported from")
    onnx_missing = [need for need in missing if need.startswith("onnx")]
    if onnx_missing and any(p.is_file() for p in folder.glob("*.safetensors")):
        runtime = onnx_missing[0]
        raise DataError(f"{flag} {name_or_path}: is a PyTorch checkpoint, not an ONNX export; export it first "
                        f"(python export_onnx.py --model_name_or_path {name_or_path} --output_dir "
                        f"{str(name_or_path).rstrip('/')}-onnx{' --quantize' if runtime == 'onnx-int8' else ''}) and "
                        f"score that folder with --runtime {runtime}, or use --runtime torch here")
    if missing:
        wanted = "; ".join(f"{need}: one of {list(NEEDS[need])}" for need in missing)
        raise DataError(f"{flag} {name_or_path}: the folder has no {' and no '.join(missing)} files ({wanted}); it is "
                        "not a whole save (copy every file of the checkpoint)")
    if (folder / "config.json").is_file():
        load_checked_config(folder)
        check_weight_shapes(folder)


def hub_can_serve(name: str) -> bool:
    """Whether a Hub model id can be loaded: in the local cache, or the Hub answers within 5 s (not offline)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return True
    if constants.HF_HUB_OFFLINE:
        return False
    try:
        socket.create_connection((urlparse(constants.ENDPOINT).hostname, 443), timeout=5).close()
    except OSError:
        return False
    return True


def check_weight_shapes(folder) -> None:
    """The encoder's sizes in config.json against the tensors in its safetensors (headers only, no weights read):
    the word embeddings' [vocab_size, hidden_size] and the count of layers. A mismatch is one sentence naming both
    files, before a model is built from them. Stock and CMHL configs alike (their encoder fields are top-level)."""
    import re

    from safetensors import safe_open

    folder = Path(folder)
    weights = sorted(folder.glob("*.safetensors"))
    config = read_object(folder / "config.json", "model config (config.json)")
    if not weights or config.get("model_type") in (None, ""):
        return
    shapes = {}
    for path in weights:
        try:
            with safe_open(str(path), "pt") as handle:
                shapes.update({name: handle.get_slice(name).get_shape() for name in handle.keys()})
        except Exception as error:  # noqa: BLE001 -- safetensors' own error type for a damaged header
            raise DataError(f"{path}: not a readable safetensors file ({str(error).splitlines()[0][:120]}); copy it "
                            "again") from None
    embedding = next((shape for name, shape in shapes.items()
                      if name.endswith(("word_embeddings.weight", "tok_embeddings.weight"))), None)
    expected = [config.get("vocab_size"), config.get("hidden_size")]
    if embedding is not None and None not in expected and list(embedding) != expected:
        raise DataError(f"{folder / 'config.json'}: vocab_size {expected[0]} and hidden_size {expected[1]} do not "
                        f"match the word embeddings of {weights[0].name}, {list(embedding)}; the config is of another "
                        "model")
    layers = {int(m.group(1)) for name in shapes for m in [re.search(r"\.layers?\.(\d+)\.", name)] if m}
    count = config.get("num_hidden_layers")
    if layers and isinstance(count, int) and count != max(layers) + 1:
        raise DataError(f"{folder / 'config.json'}: num_hidden_layers {count}, but {weights[0].name} holds "
                        f"{max(layers) + 1} layers; the config is of another model")


def load_checked_config(folder):
    """The folder's CMHL config, checked (CMHLConfig.check); a config that fails names its config.json. A stock
    config (no CMHL auto_map) is returned as None."""
    from configuration_cmhl import CMHLConfig

    path = Path(folder) / "config.json"
    raw = read_object(path, "model config (config.json)")
    if not str((raw.get("auto_map") or {}).get("AutoConfig", "")).endswith("configuration_cmhl.CMHLConfig"):
        return None
    try:
        config = CMHLConfig.from_pretrained(str(folder))
        config.check()
    except (ValueError, TypeError, KeyError) as error:
        raise DataError(f"{path}: {error}") from None
    return config


def save_fingerprint(name_or_path) -> str:
    """What a model is, by content: sha256 over its parts' digests (the manifest's when there is one). A Hub id
    counts by name (and revision, when pinned in it)."""
    if not is_local(name_or_path):
        return f"hub:{name_or_path}"
    folder = Path(name_or_path).expanduser()
    manifest_path = folder / MANIFEST
    if manifest_path.is_file():
        return hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for path in parts(folder):
        digest.update(f"{path.name}:{file_digest(path)}\n".encode())
    return digest.hexdigest()


def load_tokenizer(name_or_path, flag: str = "--model_name_or_path"):
    """`AutoTokenizer.from_pretrained`, in every tool: a damaged or foreign tokenizer file (tokenizers' own errors,
    JSON errors, a vocabulary that does not parse) is one sentence naming the folder and its tokenizer files."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except OSError:
        raise  # a missing file or folder: the system's words name it (entry.run)
    except Exception as error:  # noqa: BLE001 -- tokenizers raises a bare Exception for a damaged tokenizer.json
        folder = Path(str(name_or_path))
        found = sorted(p.name for pattern in TOKENIZER_FILES for p in folder.glob(pattern)) if folder.is_dir() else []
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise DataError(f"{flag} {name_or_path}: its tokenizer cannot be read ({first}); the tokenizer files {found} "
                        "are damaged or of another format: copy them again from the original checkpoint") from None
