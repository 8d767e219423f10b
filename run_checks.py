"""The checks on a train.py run, made before anything loads or is written (README "Guarantees"): the Hub reachable
when it is needed, the output folder new or asked to be replaced, a resume the same work as the run it continues,
and the checkpoint it resumes of this run's labels and shapes.

A run records what it is in `cmhl_run.json` in its --output_dir before training: every setting that changes its
result, and the content of what it reads (the model's save, the data files, the teachers), by sha256. A resume
(`--resume_from_checkpoint`) computes the same record and is refused, naming the fields that differ, unless they
match; `last` resumes only a folder that holds such a record.
"""

import fnmatch
import json
import logging
import socket
from pathlib import Path
from urllib.parse import urlparse

from huggingface_hub import constants as hub_constants
from huggingface_hub import try_to_load_from_cache

from configuration_cmhl import CMHLConfig
from data import DataError
from jsonfiles import read_json
from outputs import Output, remove
from plots import FIGURES
from saves import MANIFEST, TOKENIZER_FILES, file_digest, is_local, save_fingerprint

logger = logging.getLogger("cmhl.train")
RUN_RECORD = "cmhl_run.json"
# What a finished run leaves at the top of its folder (Trainer.save_metrics, the final save).
FINISHED_MARKS = ("all_results.json", "train_results.json")


def check_hub_reachable(model_args, data_args):
    """Fail in seconds, with one paragraph of advice, when the Hub is needed and cannot serve: no network, or
    HF_HUB_OFFLINE=1 with the model or data set missing from the local cache."""
    needs = {}
    if is_local(model_args.model_name_or_path) and not Path(model_args.model_name_or_path).expanduser().exists():
        raise DataError(f"--model_name_or_path {model_args.model_name_or_path}: no such folder")
    if not Path(model_args.model_name_or_path).exists():
        needs[f"--model_name_or_path {model_args.model_name_or_path}"] = model_args.model_name_or_path
    if not (data_args.train_file or data_args.validation_file or data_args.test_file or data_args.corpus):
        needs[f"--dataset_name {data_args.dataset_name}"] = data_args.dataset_name
    if not needs:
        return
    if hub_constants.HF_HUB_OFFLINE:
        missing = [flag for flag, name in needs.items() if not _in_local_cache(name, dataset=flag.startswith("--dataset"))]
        if missing:
            raise DataError(f"HF_HUB_OFFLINE is set and {' and '.join(missing)} is not in the local cache. "
                            + _OFFLINE_ADVICE)
        return
    host = urlparse(hub_constants.ENDPOINT).hostname
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError as error:
        raise DataError(f"Cannot reach the Hugging Face Hub at {hub_constants.ENDPOINT} ({error}), needed for "
                        f"{' and '.join(needs)}. " + _OFFLINE_ADVICE + " Set HF_HUB_OFFLINE=1 to use models and data "
                        "sets already in the local cache.") from None


_OFFLINE_ADVICE = ("Offline, pass local files and a local model folder instead: --train_file train.txt --validation_file "
                   "validation.txt [--test_file test.txt] (dair-ai 'text;label' .txt, CSV, JSON Lines or Parquet) and "
                   "--model_name_or_path /path/to/encoder (a folder with config.json and weights).")


def _in_local_cache(name: str, dataset: bool) -> bool:
    """Whether a Hub model (its config.json) or data set is in the local cache, asked without the network."""
    if not dataset:
        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    import datasets

    try:
        datasets.load_dataset_builder(name)
    except Exception:  # noqa: BLE001 - any failure means it cannot be loaded offline
        return False
    return True


def is_complete_checkpoint(path: Path) -> bool:
    """Trainer writes trainer_state.json last: a checkpoint without it was cut short (a killed run)."""
    return (path / "trainer_state.json").is_file() and any(path.glob("model*.safetensors"))


def is_run_folder(folder: Path) -> bool:
    """Whether `folder` holds a train.py run: its record, or (runs of earlier versions) a finished run's results."""
    return (folder / RUN_RECORD).is_file() or any((folder / mark).is_file() for mark in FINISHED_MARKS)


def resolve_resume(resume: str | None, output_dir: str) -> str | None:
    """The checkpoint to resume, or None for a fresh start.

    `last`: the newest complete checkpoint of the run in --output_dir (an incomplete one, left by a run killed while
    saving, is skipped with a warning). No folder, or an empty one: a fresh start (the same command serves a
    preemptible job's first start and its restarts). A folder that holds no train.py run, or a finished one, is
    refused: resuming there would write into it. An explicit path must be a complete checkpoint outside
    --output_dir's own checkpoint being written, i.e. not --output_dir itself."""
    if resume is None:
        return None
    output = Path(output_dir)
    if resume != "last":
        if not is_complete_checkpoint(Path(resume)):
            raise DataError(f"--resume_from_checkpoint {resume}: expected a complete checkpoint (model weights and "
                            "trainer_state.json); it was cut short or is not a checkpoint")
        if output.exists() and Path(resume).exists() and (
                output.resolve() == Path(resume).resolve() or output.resolve().is_relative_to(Path(resume).resolve())):
            raise DataError(f"--resume_from_checkpoint {resume}: --output_dir {output_dir} is that checkpoint's own "
                            "folder; the resumed run would write its steps beside the state it read. Resume into the "
                            "run's folder (--output_dir <run> --resume_from_checkpoint last) or a new one")
        return resume
    if not output.is_dir() or not any(output.iterdir()):
        return None
    if not is_run_folder(output):
        raise DataError(f"--resume_from_checkpoint last: {output_dir} holds no train.py run (no {RUN_RECORD}), so "
                        "there is nothing to resume; give a new --output_dir")
    if any((output / mark).is_file() for mark in FINISHED_MARKS):
        raise DataError(f"--resume_from_checkpoint last: {output_dir} holds a finished run; give a new --output_dir "
                        "(or --overwrite_output_dir without --resume_from_checkpoint to train it again)")
    found = sorted((p for p in output.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
                   key=lambda p: int(p.name.split("-")[-1]), reverse=True)
    for path in found:
        if is_complete_checkpoint(path):
            return str(path)
        logger.warning(f"{path}: incomplete (no trainer_state.json: the run was stopped while saving); skipped")
    logger.warning(f"--resume_from_checkpoint last: no complete checkpoint in {output_dir} yet; training starts afresh")
    return None


def claim_output_dir(training_args, inputs: list) -> Output:
    """The run's --output_dir, claimed before anything is written (outputs.Output, written in place: checkpoints must
    outlive a kill to be resumed). A run never writes over what it reads, nor over another run: a non-empty folder is
    refused unless it holds a train.py run that this run resumes (`--resume_from_checkpoint`; check_run_record then
    checks it is the same work), or that --overwrite_output_dir replaces (`remove_previous_run`, under the lock).
    A folder of anything else (data, a user's files) is never written into. Called in every process, the main one
    first (main_process_first); the main process holds the lock for the whole run."""
    resuming = bool(training_args.resume_from_checkpoint)

    def replaceable(folder: Path) -> str | None:
        if not is_run_folder(folder):
            held = sorted(p.name for p in folder.iterdir())[:5]
            return (f"it holds no train.py run (no {RUN_RECORD}; {held}), so nothing there is "
                    f"{'resumed' if resuming else 'removed'}; give a new --output_dir")
        return None

    flag = "--resume_from_checkpoint" if resuming and not training_args.overwrite_output_dir else "--overwrite_output_dir"
    def advice(folder: Path) -> str | None:
        if is_run_folder(folder) and not any((folder / mark).is_file() for mark in FINISHED_MARKS):
            return "--resume_from_checkpoint last to continue the run there, or --overwrite_output_dir to replace it"
        return None

    if resuming and training_args.resume_from_checkpoint != "last":  # the resume's own checks name it best
        resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
    output = Output(training_args.output_dir, "folder", flag="--output_dir", inputs=inputs, stage=False,
                    overwrite=resuming or training_args.overwrite_output_dir, replaceable=replaceable,
                    overwrite_flag=flag, tool="another train.py", existing_advice=advice)
    return output


# What train.py writes at the top of its --output_dir (Trainer's saves, the card, results, figures, records): the
# entries a replacing run removes. Anything else there (predict.py's predictions, an evaluate_cmhl.py or export
# folder placed inside the run, a user's notes) is another tool's output and is kept.
TRAIN_OUTPUTS = ("checkpoint-*", "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json",
                 *TOKENIZER_FILES, "chat_template.*", "*.py", "README.md", "*_results.json", "trainer_state.json",
                 "training_args.bin", "runs", MANIFEST, "cmhl_run.json", ".cmhl_run.json.tmp", *FIGURES.values())


def written_by_train(path: Path) -> bool:
    return any(fnmatch.fnmatchcase(path.name, pattern) for pattern in TRAIN_OUTPUTS)


def remove_previous_run(output: Output, training_args) -> None:
    """--overwrite_output_dir without a resume: what the earlier run wrote in --output_dir goes (TRAIN_OUTPUTS:
    checkpoints, results, card, figures, model), so that nothing of it is read as this run's and `last` never resumes
    it; what other tools wrote there is kept and listed. Main process, under the output's lock."""
    if not (output.existed and training_args.overwrite_output_dir and not training_args.resume_from_checkpoint):
        return
    held = sorted(output.path.iterdir())
    removed = [path for path in held if written_by_train(path)]
    for path in removed:
        remove(path)
    kept = [path.name for path in held if path not in removed]
    logger.warning(f"--overwrite_output_dir: removed the previous run in {training_args.output_dir} ({len(removed)} "
                   f"entries){'; kept the outputs of other tools there: ' + str(kept) if kept else ''}")


def content(path) -> str | None:
    """A file's sha256, a folder's save fingerprint, a Hub id's name; None for None."""
    if path is None:
        return None
    return file_digest(Path(path)) if Path(path).is_file() else save_fingerprint(path)


def check_run_record(resume: str | None, record: dict) -> None:
    """A resume must be the same work: this run's record is compared with the one of the run the checkpoint
    belongs to (beside it, in its run folder), and refused naming every field that differs."""
    if not resume:
        return
    source = Path(resume).parent / RUN_RECORD
    if not source.is_file():
        raise DataError(f"--resume_from_checkpoint {resume}: no {RUN_RECORD} beside it, so nothing says it is "
                        "this work; resume only checkpoints of train.py runs, or start a new run")
    earlier, now = _flat(read_json(source, "train.py run record")), _flat(record)
    differ = [f"{key}: {_shown(earlier.get(key))} there, {_shown(now.get(key))} now"
              for key in sorted(earlier.keys() | now.keys()) if earlier.get(key) != now.get(key)]
    if differ:
        raise DataError(f"--resume_from_checkpoint {resume}: it is other work ({'; '.join(differ)}); resume with "
                        "the settings and data it was trained with, or start a new run")


def _shown(value) -> str:
    """A record value in a refusal: whole when short, else its start and end (a hash's first 12 characters)."""
    text = json.dumps(value)
    return text if len(text) <= 60 else f"{text[:28]}...{text[-28:]}"


def _flat(record: dict, prefix: str = "") -> dict:
    """{"cmhl": {"contradiction_weight": 0.1}} -> {"cmhl.contradiction_weight": 0.1}, so that a refusal names
    the very setting that differs."""
    flat = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            # corpora: by name where items have one (corpora.goemotions.test), else by position
            for index, item in enumerate(value):
                flat.update(_flat(item, f"{prefix}{key}.{item.get('name', index)}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def write_run_record(output_dir: str, record: dict) -> None:
    """Write this run's record into --output_dir (whole: a temporary name, then a rename), once every check passed."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    temporary = Path(output_dir) / f".{RUN_RECORD}.tmp"
    temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
    temporary.replace(Path(output_dir) / RUN_RECORD)


def check_checkpoint_labels(checkpoint: str, label_names: list[str]) -> None:
    """The checkpoint a run resumes must have this run's labels, by name and in order (or Trainer would load
    its head rows under the new names)."""
    names = CMHLConfig.from_pretrained(checkpoint).label_names
    if names != label_names:
        by_case = [f"{a!r} / {b!r}" for a, b in zip(names, label_names) if a != b and a.casefold() == b.casefold()]
        hint = f"; {', '.join(by_case)} differ only by case" if by_case and len(names) == len(label_names) else ""
        raise DataError(f"--resume_from_checkpoint {checkpoint}: its labels {names} are not this run's {label_names} "
                        f"(names and order must match{hint}); resume with the same labels, or start a new run")


def check_checkpoint_shapes(checkpoint: str, model) -> None:
    """Every tensor of the checkpoint must exist in the model with the same shape (another encoder size or a
    run of another model is an error naming the first differences, not a traceback from Trainer)."""
    from safetensors import safe_open

    shapes = {}
    for path in sorted(Path(checkpoint).glob("model*.safetensors")):
        with safe_open(str(path), "pt") as handle:
            shapes.update({key: list(handle.get_slice(key).get_shape()) for key in handle.keys()})
    expected = {key: list(value.shape) for key, value in model.state_dict().items()}
    differences = [f"{key}: checkpoint {shapes.get(key)}, model {expected.get(key)}"
                   for key in sorted(set(shapes) | set(expected)) if shapes.get(key) != expected.get(key)]
    if differences:
        raise DataError(f"--resume_from_checkpoint {checkpoint}: it is not a checkpoint of this model "
                        f"({len(differences)} tensors differ, e.g. {differences[:3]}); resume with the model and "
                        "settings of the run that wrote it")
    check_trainer_state(Path(checkpoint))


def check_trainer_state(checkpoint: Path) -> None:
    """Trainer's own state files of a checkpoint read whole (optimizer, scheduler, RNG: weights_only, no code runs),
    so that a damaged one is one sentence naming it, not a traceback from deep in Trainer."""
    import torch

    for name in ("optimizer.pt", "scheduler.pt"):  # (rng_state.pth holds numpy state: Trainer reads it itself)
        path = checkpoint / name
        if not path.is_file():
            continue
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any failure to read it means the same to the user
            raise DataError(f"--resume_from_checkpoint {checkpoint}: {name} cannot be read ({str(error).splitlines()[0][:80]}); "
                            "the checkpoint is damaged: resume from an earlier one (or --resume_from_checkpoint last "
                            "after moving this one away)") from None
    state = checkpoint / "trainer_state.json"
    if state.is_file():
        read_json(state, "Trainer state")
