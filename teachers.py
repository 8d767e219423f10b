"""Teachers for born-again multi-task CMHL (Clark et al., "BAM! Born-Again Multi-Task Networks for Natural
Language Understanding", ACL 2019): single-task checkpoints that score every training text once, before training,
so that every row trains every head (loss.py mixes their targets with the gold ones).

    emotion teacher: any sequence classifier with this run's label names (a plain fine-tune with train.py, a CMHL
                     checkpoint, a stock Hub classifier); labels are matched by name, never by position.
                     Target: its distribution softmax(z / T), T = CMHLConfig.distillation_temperature.
    affect teacher:  a CMHL checkpoint whose valence and arousal heads were trained (e.g. the EmoBank-only regression
                     of benchmarks/emobank_regression.py --pooling mean), or a stock 2-output regression checkpoint
                     (valence in [-1, 1], arousal in [0, 1], in that order). Targets: its valence and arousal.

Several teachers of one kind are averaged (probabilities; values): a seed ensemble is one teacher. With
`cache_dir`, the targets are kept in `<cache_dir>/<kind>-<fingerprint>.npz`, the fingerprint being a hash of every
teacher's files (config and weights, by content), the texts, the labels, the temperature and the max length: a cache
is only ever read by the run whose teachers and data made it.
"""

import hashlib
import json
import zipfile
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from configuration_cmhl import CMHLConfig
from data import DataError
from predict import Predictor
from saves import check_save

logger = logging.getLogger("cmhl.teachers")
KINDS = ("emotion", "affect")


@dataclass
class TeacherCheck:
    """What a teacher folder was found to be."""

    path: str
    cmhl: bool  # a CMHL checkpoint (else a stock sequence classifier)
    label_names: list[str]  # its labels in index order (a regression: its two outputs)


def _is_cmhl(config_dict: dict) -> bool:
    return str((config_dict.get("auto_map") or {}).get("AutoConfig", "")).endswith("configuration_cmhl.CMHLConfig")


def check_teacher(path: str, kind: str, label_names: list[str]) -> TeacherCheck:
    """Read a teacher's config and refuse, naming the path, one that cannot teach `kind` for these labels: no
    model folder, an emotion teacher with other label names (in any order is fine), an untrained head, a
    regression of another shape."""
    if kind not in KINDS:
        raise ValueError(f"teacher kind: expected one of {KINDS}, got {kind!r}")
    flag = f"--{kind}_teacher {path}"
    check_save(path, flag=f"--{kind}_teacher")  # one whole save (saves.py)
    if not (Path(path) / "config.json").is_file():
        raise DataError(f"{flag}: expected a model folder with config.json (a checkpoint of train.py, "
                        "benchmarks/emobank_regression.py or a stock sequence classifier)")
    try:
        config_dict = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{flag}: its config.json cannot be read ({error})") from None
    if not isinstance(config_dict, dict):
        raise DataError(f"{flag}: its config.json is not a JSON object")
    if _is_cmhl(config_dict):
        config = CMHLConfig.from_pretrained(path)
        names = config.label_names
        heads = ["emotion"] if kind == "emotion" else ["valence", "arousal"]
        untrained = [head for head in heads if not config.head_is_trained(head)]
        if untrained:
            raise DataError(f"{flag}: its {' and '.join(untrained)} head(s) were never trained (config.json: "
                            f"trained_heads {config.trained_heads}, weights emotion {config.emotion_weight}, valence "
                            f"{config.valence_weight}, arousal {config.arousal_weight}); it cannot teach {kind}")
        cmhl = True
    else:
        # transformers leaves id2label out of config.json at its default, 2 outputs LABEL_0, LABEL_1
        id2label = config_dict.get("id2label") or {str(i): f"LABEL_{i}" for i in range(config_dict.get("num_labels", 2))}
        names = [id2label.get(str(i)) for i in range(len(id2label))]
        regression = config_dict.get("problem_type") == "regression"
        if kind == "affect" and not (regression and len(names) == 2):
            raise DataError(f"{flag}: expected a CMHL checkpoint with trained valence and arousal heads, or a stock "
                            "regression with 2 outputs (valence, arousal; problem_type 'regression'); its config.json "
                            f"has problem_type {config_dict.get('problem_type')!r} and {len(names)} outputs")
        if kind == "emotion" and regression:
            raise DataError(f"{flag}: a regression (problem_type 'regression'), not an emotion classifier")
        cmhl = False
    if kind == "emotion" and sorted(names) != sorted(label_names):
        raise DataError(f"{flag}: its labels {names} are not this run's {label_names} (matched by name, in any "
                        "order); give a teacher trained on the same label set")
    return TeacherCheck(path, cmhl, names)


def _files_digest(path: str) -> str:
    """sha256 over the teacher's config, weights and tokenizer files, by content (never by name, size or time)."""
    digest = hashlib.sha256()
    folder = Path(path)
    parts = sorted(p for p in folder.iterdir() if p.is_file() and (
        p.name == "config.json" or p.suffix in (".safetensors", ".bin") or p.name.startswith(("tokenizer", "vocab"))))
    for part in parts:
        digest.update(part.name.encode())
        with open(part, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def fingerprint(kind: str, teachers: list[str], texts: list[str], label_names: list[str], temperature: float,
                max_length: int, precision: str = "fp32") -> str:
    """What the targets of `kind` depend on, hashed: every teacher's files, the texts in order, the labels, the
    temperature (emotion only), the max length and the precision they were scored in."""
    digest = hashlib.sha256()
    settings = {"kind": kind, "teachers": [_files_digest(t) for t in teachers], "labels": label_names,
                "temperature": temperature if kind == "emotion" else None, "max_length": max_length,
                "texts": len(texts), **({"precision": precision} if precision != "fp32" else {})}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _temperature_softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    """(N, L) logits -> softmax(z / T), (N, L) float64."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def score(check: TeacherCheck, kinds: list[str], texts: list[str], label_names: list[str], temperature: float,
          max_length: int, batch_size: int = 64, precision: str = "fp32") -> dict[str, dict[str, np.ndarray]]:
    """One teacher's targets of each of `kinds` for `texts`, from one pass over them (predict.Predictor: sorted,
    token-budgeted batches): {"emotion": {"probs": (N, L) in this run's label order}, "affect": {"valence",
    "arousal": (N,)}}."""
    predictor = Predictor(check.path, max_length=max_length, batch_size=batch_size,
                          runtime="torch" if check.cmhl else "stock", precision=precision)
    out = predictor.outputs(texts)
    targets = {}
    if "emotion" in kinds:
        order = [check.label_names.index(name) for name in label_names]  # by name: column i is label_names[i]
        targets["emotion"] = {"probs": _temperature_softmax(out["logits"], temperature)[:, order]}
    if "affect" in kinds and check.cmhl:
        targets["affect"] = {"valence": out["valence"].astype(np.float64),
                             "arousal": out["arousal"].astype(np.float64)}
    elif "affect" in kinds:
        targets["affect"] = {"valence": out["logits"][:, 0], "arousal": out["logits"][:, 1]}
    return targets


def _read_cache(cache: Path, key: str, texts: list[str]) -> dict[str, np.ndarray]:
    try:
        stored = dict(np.load(cache, allow_pickle=False))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # cut short by a kill, or not ours
        raise DataError(f"{cache}: a damaged teacher cache ({str(error).splitlines()[0][:80]}); remove it (the "
                        "teachers score again), or give another --teacher_cache_dir") from None
    found = str(stored.get("fingerprint", "none"))
    if found != key or any(len(stored[n]) != len(texts) for n in stored if n != "fingerprint"):
        raise DataError(f"{cache}: teacher targets of other teachers or other data (fingerprint {found[:12]}, "
                        f"expected {key[:12]}); remove it or give another --teacher_cache_dir")
    return {name: stored[name] for name in stored if name != "fingerprint"}


def teacher_targets(teachers: dict[str, list[str]], texts: list[str], label_names: list[str], temperature: float,
                    max_length: int, cache_dir: str | None = None,
                    precision: str = "fp32") -> dict[str, dict[str, np.ndarray]]:
    """{kind: the averaged targets of its teachers for `texts`} for each kind of `teachers` ({"emotion": [paths],
    "affect": [paths]}; see `score`), float32, scored in `precision` (fp32 or bf16 autocast). A kind is read from
    `cache_dir` when these teachers and texts made it before, else scored and (with `cache_dir`) stored there. A
    teacher listed under both kinds (one CMHL checkpoint teaching emotion and affect) reads the texts once."""
    teachers = {kind: paths for kind, paths in teachers.items() if paths}
    checks = {kind: {path: check_teacher(path, kind, label_names) for path in paths}
              for kind, paths in teachers.items()}
    keys = {kind: fingerprint(kind, paths, texts, label_names, temperature, max_length, precision)
            for kind, paths in teachers.items()}
    caches = {kind: Path(cache_dir) / f"{kind}-{key[:32]}.npz" if cache_dir else None for kind, key in keys.items()}
    targets = {}
    for kind, cache in caches.items():
        if cache is not None and cache.is_file():
            targets[kind] = _read_cache(cache, keys[kind], texts)
            logger.info(f"{kind} teacher targets read from {cache}")
    missing = [kind for kind in teachers if kind not in targets]
    start = time.time()
    scored = {}  # path -> {kind: targets}, each teacher run once for every kind it teaches
    for path in dict.fromkeys(path for kind in missing for path in teachers[kind]):
        kinds = [kind for kind in missing if path in teachers[kind]]
        scored[path] = score(checks[kinds[0]][path], kinds, texts, label_names, temperature, max_length,
                             precision=precision)
    for kind in missing:
        parts = [scored[path][kind] for path in teachers[kind]]
        targets[kind] = {name: np.mean([part[name] for part in parts], axis=0).astype(np.float32) for name in parts[0]}
        if caches[kind] is not None:
            caches[kind].parent.mkdir(parents=True, exist_ok=True)
            partial = caches[kind].with_name(f"{caches[kind].name}.{os.getpid()}.tmp.npz")
            np.savez(partial, fingerprint=np.array(keys[kind]), **targets[kind])
            os.replace(partial, caches[kind])
    if missing:
        logger.info(f"{' and '.join(missing)} teacher(s) {list(scored)} scored {len(texts)} texts in "
                    f"{time.time() - start:.0f} s ({len(scored)} pass(es) over them)")
    return targets


def check_teachers(emotion: list[str] | None, affect: list[str] | None, label_names: list[str]) -> None:
    """Every teacher checked (check_teacher) before anything loads or trains."""
    for kind, paths in (("emotion", emotion), ("affect", affect)):
        for path in paths or []:
            check_teacher(path, kind, label_names)


def add_teacher_columns(train, emotion: list[str] | None, affect: list[str] | None, label_names: list[str],
                        temperature: float, max_length: int, cache_dir: str | None = None, precision: str = "fp32"):
    """The training set with the teachers' targets as columns `teacher_probs` (L floats per row),
    `teacher_valence`, `teacher_arousal` (the model's forward arguments), for the kinds given, scored in
    `precision` (train.py: the run's own, bf16 autocast where it trains in bf16)."""
    targets = teacher_targets({"emotion": emotion, "affect": affect}, list(train["text"]), label_names, temperature,
                              max_length, cache_dir, precision)
    if "emotion" in targets:
        train = train.add_column("teacher_probs", targets["emotion"]["probs"].tolist())
    if "affect" in targets:
        train = train.add_column("teacher_valence", targets["affect"]["valence"].tolist())
        train = train.add_column("teacher_arousal", targets["affect"]["arousal"].tolist())
    return train
