"""Predict emotions, valence, arousal, intensity and a consistency flag for every text of a file, streaming.

    python predict.py --model_name_or_path runs/cmhl --input_file texts.txt --output_file predictions.csv
    python predict.py --model_name_or_path runs/cmhl-onnx --runtime onnx-int8 ...     # export_onnx.py --quantize
    python predict.py --model_name_or_path runs/cmhl-onnx --runtime onnx-int8 --streams 2 ...  # 2 batches at once
    torchrun --nproc_per_node 4 predict.py ...          # or accelerate launch --multi_gpu --num_processes 4

Input: `.txt` (one text per line; every line is a text, empty lines included, so output rows align with input
lines), `.csv` / `.tsv` with a `--text_column` (default `text`), or `.jsonl` with that key. Output (`.csv`,
`.tsv` or `.jsonl`, by extension), one row per text in input order: `row`, `text`, `label`, `p_<label>` for
every label, `valence` in [-1, 1], `arousal` in [0, 1], `intensity` in [0, 1], `consistent`
(metrics.ConsistencyCheck), and for a checkpoint calibrated by no_emotion.py `no_emotion_score` in [0, 1] and
`no_emotion` (the score at or above the checkpoint's threshold: no clear emotion). Outputs of heads that were
not trained are left out. Every runtime (runtimes.py: PyTorch, ONNX, int8 ONNX) gives all of them.

How a file is scored: texts are read in windows of `--window` texts; within a window they are sorted by token
count, longest first, and cut into batches of at most `--batch_size` texts and `--max_batch_tokens` padded tokens,
so a batch pads to its own longest text, not the file's, and no batch is larger than the first; each
window's rows are written, in input order, to `<output_file>.parts/` as soon as it is scored, and the parts are
joined into the output at the end. So memory stays flat however long the file (BENCHMARKS.md measures it), an
interrupted run given the same command resumes at the first window not yet written, and under a multi-process
launcher process r scores windows r, r + n, r + 2n, ..., and the output is the one a single process writes.
A progress bar counts texts (texts/s); the log ends with the throughput. The model is the repository's own
class, so no remote code runs.
"""

import argparse
import contextlib
import csv
import ctypes
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

import entry
from data import (DataError, check_header, check_text_encodable, delimited_records, json_record, positive_int,
                  read_lines)
from metrics import ConsistencyCheck, softmax
from modeling_cmhl import no_emotion_flags, no_emotion_score
from hardware import bf16_pays
from runtimes import PRECISIONS, RUNTIMES, check_device, load_runtime
from outputs import Output
from saves import check_save, file_digest, load_tokenizer, save_fingerprint

# The parts of a save each runtime reads (saves.check_save).
SAVE_NEEDS = {"torch": ("config", "weights", "tokenizer"), "stock": ("config", "weights", "tokenizer"),
              "onnx": ("config", "onnx", "tokenizer"), "onnx-int8": ("config", "onnx-int8", "tokenizer")}

InputError = DataError  # a file that cannot be read as asked: the message names the file, line and what was expected


def read_texts(path: Path, text_column: str = "text") -> Iterator[str]:
    """Yield the texts of `path` one by one (see the module docstring for the formats). One text per line of
    .txt, per record of .jsonl, per line of .csv / .tsv after the header (data.delimited_records: a record never
    spans lines), so the output has exactly one row per input text."""
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".csv", ".tsv", ".jsonl"):
        raise InputError(f"{path}: expected a .txt, .csv, .tsv or .jsonl file, got {suffix or 'no extension'!r}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if suffix == ".txt":
        for number, line in read_lines(path):
            check_text_encodable(f"{path}, line {number}", line)
            yield line
    elif suffix == ".jsonl":
        for number, line in read_lines(path):
            if not line.strip():
                continue  # a blank line between records holds no text
            record = json_record(path, number, line)
            if not isinstance(record.get(text_column), str):
                raise InputError(f"{path}, line {number}: expected a string under {text_column!r}, got {line[:80]!r}")
            check_text_encodable(f"{path}, line {number}", record[text_column])
            yield record[text_column]
    else:
        records = delimited_records(path)
        number, columns = next(records, (1, []))
        check_header(path, columns, number)
        if text_column not in columns:
            raise InputError(f"{path}, line 1: expected a column {text_column!r} (--text_column), got columns {columns}")
        index = columns.index(text_column)
        for number, values in records:
            if len(values) != len(columns):
                raise InputError(f"{path}, line {number}: expected {len(columns)} fields {columns}, got "
                                 f"{len(values)}: {values!r:.120}")
            yield values[index]


def batches(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    batch = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def resolve_precision(precision: str, runtime: str, device: str | None) -> str:
    """'auto' -> 'bf16' for the PyTorch runtimes where the hardware has bf16 units (hardware.bf16_pays), else
    'fp32'; 'fp32' and 'bf16' as given."""
    if precision != "auto":
        return precision
    if runtime not in ("torch", "stock"):
        return "fp32"
    return "bf16" if bf16_pays(device or ("cuda" if torch.cuda.is_available() else "cpu")) else "fp32"


class Predictor:
    """A CMHL model in one of the runtimes (runtimes.py), its tokenizer and its consistency check, predicting lists
    of texts of any length: sorted by token count, longest first, in batches of at most `batch_size` texts and
    `max_batch_tokens` padded tokens (a text longer than that is a batch of its own), results in the given order.
    Memory is bounded by the list, the token budget and the model's input length, whatever the texts."""

    def __init__(self, model_name_or_path: str, device: str | None = None, max_length: int | None = None,
                 pad_to_multiple_of: int = 1, batch_size: int = 64, runtime: str = "torch",
                 max_batch_tokens: int = 1024, streams: int = 1, precision: str = "fp32"):
        for name, value in (("max_length", max_length), ("batch_size", batch_size),
                            ("max_batch_tokens", max_batch_tokens), ("streams", streams)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{name}: expected a whole number >= 1, got {value!r}")
        if streams > 1 and runtime == "torch":
            raise InputError(f"streams {streams}: the ONNX runtimes only (ONNX Runtime scores batches from several "
                             "threads at once); for PyTorch, run processes: accelerate launch --num_processes N predict.py")
        # Streams: batches scored at once from `streams` threads, each call on cores / streams intra-op threads.
        # A small encoder's matrices do not keep two cores busy in one call; two calls side by side do: MiniLM-L6
        # int8 on 2 cores scored ~15% more texts/s with 2 streams of 1 thread than with 1 of 2 (BENCHMARKS.md,
        # "Scoring a corpus"), the gain of 2 processes without a second copy of the model.
        threads = max(1, torch.get_num_threads() // streams) if streams > 1 else None
        check_save(model_name_or_path, SAVE_NEEDS.get(runtime, SAVE_NEEDS["torch"]))  # one whole save, or a sentence
        try:
            check_device(device)
            self.precision = resolve_precision(precision, runtime, device)
            self.runtime = load_runtime(model_name_or_path, runtime, device, threads, self.precision)
            self.tokenizer = load_tokenizer(model_name_or_path)
        except OSError as error:  # a Hub id the Hub cannot serve (offline, mistyped)
            raise InputError(f"--model_name_or_path {model_name_or_path}: not a folder here, and the Hub could not "
                             f"serve it ({str(error).splitlines()[0]})") from None
        self.pool = ThreadPoolExecutor(streams, thread_name_prefix="cmhl-stream") if streams > 1 else None
        self.config = self.runtime.config
        self.runtime_name = runtime
        # Outputs of heads that were trained (CMHLConfig.trained_heads): an untrained head's numbers are never shown.
        trained = [h for h in ("valence", "arousal") if runtime != "stock" and self.config.head_is_trained(h)]
        self.dimensions = trained + (["intensity"] if len(trained) == 2 else [])
        # The no-clear-emotion flag: a model's own `neutral` label, or a threshold chosen on validation (no_emotion.py).
        self.neutral_index = getattr(self.config, "neutral_index", None) if runtime != "stock" else None
        self.no_emotion_fields = (["no_emotion_score", "no_emotion"] if runtime != "stock" and (
            self.config.no_emotion_threshold is not None or self.neutral_index is not None) else [])
        self.fingerprint = save_fingerprint(model_name_or_path)  # what the model is, by content (resuming)
        limit = self.runtime.max_input_tokens or self.tokenizer.model_max_length
        self.max_length = min(max_length or limit, limit, self.tokenizer.model_max_length)
        # Sorted batches pad to their own longest text; rounding that up (8 suits GPU tensor cores) costs compute
        # on a CPU: on 2,000 dair-ai texts (22 tokens on average) MiniLM scored 462 texts/s unrounded, 402 at a
        # multiple of 8 and 285 at 32.
        self.pad_to_multiple_of = pad_to_multiple_of
        self.batch_size = batch_size
        # The token budget keeps memory flat at full speed. With batches of a fixed count, activations change size
        # with every batch; glibc's heap fragments over those sizes, and MiniLM's peak RSS on 20,000 texts was
        # 130 MB above that on 2,000 (900 against 772 MB). Giving every activation its own mapping fixed that but
        # cost 32% of the speed (294 against 431 texts/s: fresh zeroed pages each time). With at most 1,024 padded
        # tokens per batch, longest first, activations keep nearly one size: 746 and 771 MB at 420 texts/s (3,072
        # tokens: 807 and 979 MB). BENCHMARKS.md, "Load held". On a GPU, raise it.
        self.max_batch_tokens = max_batch_tokens
        self.label_names = self.config.label_names
        self.consistency = ConsistencyCheck(self.config) if runtime != "stock" else None  # no circumplex there

    def tokenize(self, texts: list[str]) -> dict[str, list[list[int]]]:
        """Token ids (with special tokens, truncated to `max_length`), unpadded, without ever tokenising more of a
        text than that needs: a text is cut to a character prefix that already gives more tokens than kept (a
        margin of 16, so the word at the cut is never among the kept tokens), doubling the prefix until it does
        or the text ends. The ids are those of tokenising the whole text; the cost is bounded by max_length."""
        budget = [16 * (self.max_length + 16)] * len(texts)
        while True:
            prefixes = [text[:chars] for text, chars in zip(texts, budget)]
            lengths = self.tokenizer(prefixes, add_special_tokens=False, return_length=True, verbose=False)["length"]
            short = [i for i, (text, chars, length) in enumerate(zip(texts, budget, lengths))
                     if len(text) > chars and length <= self.max_length + 16]
            if not short:
                break
            for i in short:
                budget[i] *= 2
        encoded = self.tokenizer(prefixes, truncation=True, max_length=self.max_length)
        return {name: encoded[name] for name in ("input_ids", "attention_mask", "token_type_ids") if name in encoded}

    def pad(self, features: dict[str, list[list[int]]], rows: list[int]) -> dict[str, np.ndarray]:
        """The rows `rows` of tokenised `features`, padded on the tokenizer's side to their longest, rounded up to
        `pad_to_multiple_of`: {name: (B, T) int64}."""
        longest = max(len(features["input_ids"][i]) for i in rows)
        width = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        fill = {"input_ids": self.tokenizer.pad_token_id or 0, "attention_mask": 0,
                "token_type_ids": self.tokenizer.pad_token_type_id}
        batch = {}
        for name, sequences in features.items():
            array = np.full((len(rows), width), fill[name], dtype=np.int64)  # (B, T)
            for row, i in enumerate(rows):
                ids = sequences[i]
                if self.tokenizer.padding_side == "left":
                    array[row, width - len(ids):] = ids
                else:
                    array[row, :len(ids)] = ids
            batch[name] = array
        return batch

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The texts as one padded batch, in their order: {name: (N, T) int64}."""
        return self.pad(self.tokenize(texts), list(range(len(texts))))

    def batches(self, lengths: list[int]) -> Iterator[list[int]]:
        """Indices of texts of token counts `lengths`, longest first (ties in the given order), cut into batches of
        at most `batch_size` texts whose padded size (texts x the first text's length, rounded up to
        `pad_to_multiple_of`) is at most `max_batch_tokens`; a text alone over the budget is a batch of one."""
        batch, width = [], 0
        for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
            if batch and (len(batch) == self.batch_size or (len(batch) + 1) * width > self.max_batch_tokens):
                yield batch
                batch = []
            if not batch:
                width = -(-lengths[i] // self.pad_to_multiple_of) * self.pad_to_multiple_of
            batch.append(i)
        if batch:
            yield batch

    def outputs(self, texts: list[str]) -> dict[str, np.ndarray]:
        """N texts -> the runtime's outputs in the texts' order: logits (N, L) float64, valence, arousal, intensity
        (N,) float32. The texts run in `batches`, each padded only to its own longest text."""
        features = self.tokenize(texts)
        logits = np.zeros((len(texts), len(self.label_names)))  # (N, L) float64
        valence, arousal, intensity = (np.zeros(len(texts), np.float32) for _ in range(3))  # (N,) each
        batches = list(self.batches([len(ids) for ids in features["input_ids"]]))

        def score(rows):
            return self.runtime(self.pad(features, rows))

        # With streams, up to `streams` batches run at once; results come back in the batches' order.
        for rows, out in zip(batches, self.pool.map(score, batches) if self.pool else map(score, batches)):
            logits[rows] = out["logits"]
            valence[rows], arousal[rows], intensity[rows] = out["valence"], out["arousal"], out["intensity"]
        return {"logits": logits, "valence": valence, "arousal": arousal, "intensity": intensity}

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        """N texts -> probabilities (N, L), valence, arousal, intensity (N,), consistent (N,) bool, no_emotion (N,)
        the no-clear-emotion score (modeling_cmhl.no_emotion_score) and no_emotion_flag (N,) bool or None
        (modeling_cmhl.no_emotion_flags), in the texts' order (`outputs`)."""
        out = self.outputs(texts)
        probabilities = softmax(out.pop("logits"))
        mix = getattr(self.config, "no_emotion_mix", 1.0) if self.runtime_name != "stock" else 1.0
        threshold = self.config.no_emotion_threshold if self.runtime_name != "stock" else None
        p, intensity = torch.from_numpy(probabilities), torch.from_numpy(out["intensity"])
        no_emotion = no_emotion_score(p, intensity, mix, self.neutral_index)
        flags = no_emotion_flags(p, no_emotion, threshold, self.neutral_index)
        consistent = self.consistency(probabilities, out["valence"]) if self.consistency else None
        return {"probabilities": probabilities, **out, "consistent": consistent, "no_emotion": no_emotion.numpy(),
                "no_emotion_flag": flags.numpy() if flags is not None else None}

    def rows(self, texts: list[str], first_row: int) -> Iterator[dict]:
        """One output record per text."""
        result = self(texts)
        for i, text in enumerate(texts):
            probabilities = result["probabilities"][i]
            yield {"row": first_row + i, "text": text, "label": self.label_names[int(probabilities.argmax())],
                   **{f"p_{name}": round(float(p), 6) for name, p in zip(self.label_names, probabilities)},
                   **{name: round(float(result[name][i]), 6) for name in self.dimensions},
                   "consistent": bool(result["consistent"][i]),
                   **({"no_emotion_score": round(float(result["no_emotion"][i]), 6),
                       "no_emotion": bool(result["no_emotion_flag"][i])}
                      if self.no_emotion_fields else {})}


OUTPUT_FORMATS = (".csv", ".tsv", ".jsonl")


class RowWriter:
    """Writes records as CSV / TSV / JSON lines, chosen by the extension of `path` (or of `kind`, a file name
    whose extension to use when `path` is a temporary name)."""

    def __init__(self, path: Path, fields: list[str], kind: Path | None = None):
        self.suffix = (kind or path).suffix.lower()
        if self.suffix not in OUTPUT_FORMATS:
            raise InputError(f"{kind or path}: expected an output file ending in .csv, .tsv or .jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "w", encoding="utf-8", newline="")
        if self.suffix != ".jsonl":
            # TSV: tab-separated, no quoting (as data.delimited_records reads it: a quote is an ordinary character);
            # the texts hold no tab or line break (check_input). CSV: standard quoting within a line.
            tsv = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "escapechar": None, "quotechar": None}
            self.writer = csv.DictWriter(self.handle, fieldnames=fields, lineterminator="\n",
                                         **(tsv if self.suffix == ".tsv" else {}))
            self.writer.writeheader()

    def write(self, record: dict):
        if self.suffix == ".jsonl":
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self.writer.writerow(record)

    def close(self):
        self.handle.close()


class Parts:
    """`<output_file>.parts/`: the scored windows of one run, `window-<index>.jsonl` each, written whole or not at
    all (a temporary name, then a rename), and `run.json`, what the run is (input file, model, runtime, window
    size, ...). A run finds the parts of an interrupted run of the same command and scores only the windows
    missing; parts of other work (another input, model, runtime or setting, compared by content) are refused, never
    mixed in."""

    def __init__(self, output_file: Path, run: dict):
        self.folder = output_file.with_name(output_file.name + ".parts")
        self.run = run

    def open(self, create: bool) -> int:
        """Check (and with `create`, start) the folder; returns the number of windows already scored."""
        manifest = self.folder / "run.json"
        if manifest.is_file():
            earlier = json.loads(manifest.read_text(encoding="utf-8"))
            changed = [f"{key}: {json.dumps(earlier.get(key))[:20]} there, {json.dumps(value)[:20]} now"
                       for key, value in self.run.items() if earlier.get(key) != value]
            if changed:
                raise InputError(f"{self.folder}: windows scored by other work ({'; '.join(changed)}); rerun that "
                                 "command to resume it, or delete the folder to start afresh")
        elif create:
            if self.folder.exists() and any(self.folder.iterdir()):
                raise InputError(f"{self.folder}: exists without run.json, so it is not predict.py's; move it away")
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = manifest.with_suffix(".tmp")
            temporary.write_text(json.dumps(self.run, indent=2), encoding="utf-8")
            os.replace(temporary, manifest)
        return sum(1 for _ in self.folder.glob("window-*.jsonl"))

    def path(self, index: int) -> Path:
        return self.folder / f"window-{index:07d}.jsonl"

    def write(self, index: int, records: Iterator[dict]):
        temporary = self.path(index).with_name(f"{self.path(index).stem}.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(temporary, self.path(index))

    def join(self, staging: Path, output_file: Path, fields: list[str], windows: int):
        """Write every window's rows, in order, to `staging` (outputs.Output renames it to `output_file`, whose
        extension says the format)."""
        missing = [i for i in range(windows) if not self.path(i).is_file()]
        if missing:
            raise InputError(f"{self.folder}: windows {missing[:5]} were not scored (a process stopped early?); "
                             "rerun the same command to score them")
        writer = RowWriter(staging, fields, kind=output_file)
        try:
            for index in range(windows):
                with open(self.path(index), encoding="utf-8") as handle:
                    for line in handle:
                        writer.write(json.loads(line))
        finally:
            writer.close()


def _glibc():
    """The C library when it is glibc (the functions below), else None (macOS, musl, Windows)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


GLIBC = _glibc()


def release_freed_memory():
    """Hand the heap's freed pages back to the system (glibc's malloc_trim), after each window."""
    if GLIBC is not None:
        GLIBC.malloc_trim(0)


# Characters a .csv / .tsv output cannot hold so that the project's own readers (one record a line, data.read_lines)
# read the text back as it was: line breaks, NUL (read as a binary file), and in TSV the tab (the separator).
UNWRITABLE = {".csv": ("\n", "\r", "\0"), ".tsv": ("\n", "\r", "\0", "\t"), ".jsonl": ()}


def check_input(input_file: Path, text_column: str = "text", output_suffix: str = ".jsonl") -> int:
    """Read every text once, before anything is written or loaded: a bad line, or a text the output's format cannot
    hold, stops here. Returns the count."""
    count = 0
    for count, text in enumerate(read_texts(input_file, text_column), start=1):
        bad = [c for c in UNWRITABLE[output_suffix] if c in text]
        if bad:
            raise InputError(f"{input_file}: text {count} holds {bad[0]!r}, which a {output_suffix} output cannot "
                             "hold one record a line; write the output as .jsonl (JSON escapes it)")
    return count


class Processes:
    """This process's place among those a launcher started (`accelerate launch --multi_gpu`, `torchrun`: the
    WORLD_SIZE, RANK and LOCAL_RANK variables), and a barrier between them (torch.distributed: NCCL on GPUs,
    gloo on CPUs); one process alone when there is no launcher."""

    def __init__(self):
        import torch

        self.count, self.index = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
        self.local_index = int(os.environ.get("LOCAL_RANK", 0))
        self.distributed = torch.distributed if self.count > 1 else None
        self.device = None
        if self.distributed is not None:
            on_gpu = torch.cuda.is_available()
            if on_gpu:
                self.device = f"cuda:{self.local_index}"
                torch.cuda.set_device(self.device)
            if not self.distributed.is_initialized():
                self.distributed.init_process_group("nccl" if on_gpu else "gloo")

    def wait_for_everyone(self):
        if self.distributed is not None:
            self.distributed.barrier()

    def close(self):
        if self.distributed is not None and self.distributed.is_initialized():
            self.distributed.destroy_process_group()


def claim_output(output_file, inputs: list, overwrite: bool = False) -> Output:
    """The output file, claimed before any work (outputs.Output): not the input, a known format, new unless
    `overwrite`; written whole under a lock that a second predict.py on the same output is refused by. `inputs`: the
    input file and the model (never written over, nor written into)."""
    output = Output(output_file, "file", flag="--output_file", inputs=inputs, overwrite=overwrite,
                    overwrite_flag="--overwrite_output_file", tool="another predict.py")
    if output.path.suffix.lower() not in OUTPUT_FORMATS:
        raise InputError(f"--output_file {output_file}: expected a file ending in {', '.join(OUTPUT_FORMATS)}")
    return output


def predict_file(predictor: Predictor, input_file: Path, output_file, text_column: str = "text",
                 window: int = 2048, progress: bool = True, total: int | None = None, run: dict | None = None,
                 processes: Processes | None = None, overwrite: bool = False) -> tuple[int, int]:
    """Predict every text of `input_file` into `output_file` (a path, or an `Output` claimed by the caller before
    the model loaded; module docstring: windows, parts, processes); returns the number of texts scored in this
    call, by this process and by all. `total`: the count from `check_input` when the caller already ran it.
    `run`: what identifies the run for resuming (predict.py's arguments)."""
    processes = processes or Processes()
    output = output_file if isinstance(output_file, Output) else claim_output(output_file, [input_file], overwrite)
    total = check_input(input_file, text_column, output.path.suffix.lower()) if total is None else total
    # What the windows depend on, by content: the input's bytes, the model's save, every setting of the scores.
    parts = Parts(output.path, {"input_sha256": file_digest(input_file), "texts": total, "window": window,
                                "text_column": text_column, "max_length": predictor.max_length,
                                "model": predictor.fingerprint, "runtime": predictor.runtime_name,
                                "labels": predictor.label_names, **(run or {})})
    windows = -(-total // window)
    fields = ["row", "text", "label", *(f"p_{n}" for n in predictor.label_names), *predictor.dimensions, "consistent",
              *predictor.no_emotion_fields]
    main_process = processes.index == 0
    with output if main_process else contextlib.nullcontext():  # the lock, then the checks, in process 0
        if main_process:
            parts.open(create=True)
        processes.wait_for_everyone()
        done_before = parts.open(create=False)
        missing = [i for i in range(windows) if not parts.path(i).is_file()]
        mine = [i for i in missing if i % processes.count == processes.index]
        todo = sum(min(window, total - i * window) for i in mine)
        todo_all = sum(min(window, total - i * window) for i in missing)
        scored = 0
        description = f"process {processes.index} of {processes.count}" if processes.count > 1 else None
        if main_process and done_before:
            print(f"resuming: {done_before} of {windows} windows already scored in {parts.folder}", file=sys.stderr)
        with tqdm(total=todo, unit="text", desc=description, disable=not progress or not main_process) as bar:
            wanted = set(mine)
            for index, texts in enumerate(batches(read_texts(input_file, text_column), window)):
                if index in wanted:
                    parts.write(index, predictor.rows(texts, first_row=index * window))
                    release_freed_memory()
                    scored += len(texts)
                    bar.update(len(texts))
        processes.wait_for_everyone()
        if main_process:
            parts.join(output.staging, output.path, fields, windows)
    if main_process:
        shutil.rmtree(parts.folder)  # the output is in place, whole
    processes.wait_for_everyone()
    return scored, todo_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True,
                        help="CMHL checkpoint folder or Hub id; for the ONNX runtimes, an export_onnx.py folder")
    parser.add_argument("--input_file", required=True, type=Path)
    parser.add_argument("--output_file", required=True, type=Path)
    parser.add_argument("--text_column", default="text", help="column (CSV/TSV) or key (JSONL) of the text")
    parser.add_argument("--runtime", default="torch", choices=RUNTIMES, help="runtimes.py (default: torch)")
    parser.add_argument("--precision", default="auto", choices=("auto", *PRECISIONS),
                        help="--runtime torch: bf16 autocast or float32; auto (default): bf16 where the hardware has "
                             "bf16 units (hardware.py), float32 elsewhere")
    parser.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch, at most (default 64)")
    parser.add_argument("--max_batch_tokens", type=positive_int, default=1024,
                        help="padded tokens per batch, at most: texts x length (default 1024, for CPUs; "
                             "raise it on a GPU)")
    parser.add_argument("--window", type=positive_int, default=2048,
                        help="texts sorted by length together, and the unit of resuming and of sharing between "
                             "processes (default 2048)")
    parser.add_argument("--max_length", type=positive_int, help="tokens per text (default: what the encoder takes)")
    parser.add_argument("--pad_to_multiple_of", type=positive_int, default=1,
                        help="round each batch's length up to a multiple of this (8 on GPUs; default 1: CPUs)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: the launcher's, else cuda if available)")
    parser.add_argument("--streams", type=positive_int, default=1,
                        help="ONNX runtimes: batches scored at once, each on cores / streams threads (default 1; "
                             "2 on a 2-core CPU: ~15%% more texts/s with int8, BENCHMARKS.md)")
    parser.add_argument("--overwrite_output_file", action="store_true",
                        help="replace --output_file when it exists (without it, an existing output is refused)")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    output = claim_output(args.output_file, [args.input_file, args.model_name_or_path], args.overwrite_output_file)
    total = check_input(args.input_file, args.text_column, output.path.suffix.lower())  # before a model loads
    processes = Processes()
    predictor = Predictor(args.model_name_or_path, args.device or processes.device, args.max_length,
                          args.pad_to_multiple_of, args.batch_size, args.runtime, args.max_batch_tokens,
                          args.streams, args.precision)
    start = time.perf_counter()
    count, count_all = predict_file(predictor, args.input_file, output, args.text_column, args.window,
                                    progress=not args.no_progress, total=total, processes=processes,
                                    run={"runtime": args.runtime, "precision": predictor.precision})
    seconds = time.perf_counter() - start
    processes.close()
    seconds = max(seconds, 1e-9)
    if processes.count > 1:
        print(f"process {processes.index} of {processes.count}: {count} texts in {seconds:.1f} s "
              f"({count / seconds:.1f} texts/s)", file=sys.stderr)
    if processes.index == 0:
        print(f"{count_all} texts scored in {seconds:.1f} s ({count_all / seconds:.1f} texts/s, {processes.count} "
              f"process{'es' if processes.count > 1 else ''}); {total} rows in {args.output_file}", file=sys.stderr)
    return 0


def interrupted_advice(argv=None) -> str:
    output = entry.flag_value(argv, "--output_file")
    parts = f"{output}.parts" if output else "<output>.parts"
    return (f"the windows scored so far are kept in {parts}; run the same command to resume "
            "(a run of another command refuses them and says so)")


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted=lambda: interrupted_advice(argv),
              writing=lambda: entry.flag_value(argv, "--output_file"))


if __name__ == "__main__":
    cli()
