"""Predict emotions, valence, arousal, intensity and a consistency flag for every text of a file, streaming.

    python predict.py --model_name_or_path runs/cmhl --input_file texts.txt --output_file predictions.csv

Input: `.txt` (one text per line; every line is a text, empty lines included, so output rows align with input
lines), `.csv` / `.tsv` with a `--text_column` (default `text`), or `.jsonl` with that key. Output (`.csv`,
`.tsv` or `.jsonl`, by extension), one row per text in input order: `row`, `text`, `label`, `p_<label>` for
every label, `valence` in [-1, 1], `arousal` in [0, 1], `intensity` in [0, 1], `consistent` (metrics.ConsistencyCheck). Texts are
read, predicted and written batch by batch, so memory stays flat however long the file (BENCHMARKS.md
measures it); a progress bar counts texts. The model is the repository's own class, so no remote code runs.
"""

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from data import (DataError, check_text_encodable, delimited_records, json_record, positive_int, read_lines,
                  refuse_overwrite)
from metrics import ConsistencyCheck, softmax
from modeling_cmhl import CMHLForSequenceClassification

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
        _, columns = next(records, (1, []))
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


class Predictor:
    """A CMHL checkpoint, its tokenizer and its consistency check, predicting lists of texts of any length in
    batches of `batch_size`: memory is bounded by the batch and the model's input length, whatever the call."""

    def __init__(self, model_name_or_path: str, device: str | None = None, max_length: int | None = None,
                 pad_to_multiple_of: int = 32, batch_size: int = 64):
        for name, value in (("max_length", max_length), ("batch_size", batch_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{name}: expected a whole number >= 1, got {value!r}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = CMHLForSequenceClassification.from_pretrained(model_name_or_path).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        limit = self.model.max_input_tokens or self.tokenizer.model_max_length
        self.max_length = min(max_length or limit, limit, self.tokenizer.model_max_length)
        # Batches padded to a multiple of 32 tokens come in a handful of shapes, so the allocator reuses its
        # blocks instead of fragmenting over one shape per batch (memory stays flat over long files).
        self.pad_to_multiple_of = pad_to_multiple_of
        self.batch_size = batch_size
        self.label_names = self.model.config.label_names
        self.consistency = ConsistencyCheck(self.model.config)

    def encode(self, texts: list[str]) -> dict:
        """Tokenise, truncated to `max_length` tokens, without ever tokenising more of a text than that needs:
        a text is cut to a character prefix that already gives more tokens than kept (a margin of 16, so the
        word at the cut is never among the kept tokens), doubling the prefix until it does or the text ends.
        The ids are those of tokenising the whole text; the cost is bounded by max_length, not the text."""
        budget = [16 * (self.max_length + 16)] * len(texts)
        while True:
            prefixes = [text[:chars] for text, chars in zip(texts, budget)]
            lengths = self.tokenizer(prefixes, add_special_tokens=False, return_length=True)["length"]
            short = [i for i, (text, chars, length) in enumerate(zip(texts, budget, lengths))
                     if len(text) > chars and length <= self.max_length + 16]
            if not short:
                break
            for i in short:
                budget[i] *= 2
        return self.tokenizer(prefixes, padding=True, truncation=True, max_length=self.max_length,
                              pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt").to(self.device)

    @torch.inference_mode()
    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        """N texts -> probabilities (N, L), valence, arousal, intensity (N,), consistent (N,) bool; run in batches
        of `batch_size`."""
        parts = []
        for start in range(0, len(texts), self.batch_size):
            out = self.model(**self.encode(texts[start:start + self.batch_size]))
            parts.append((out.logits.float().cpu().numpy().astype(np.float64), out.valence.float().cpu().numpy(),
                          out.arousal.float().cpu().numpy(), out.intensity.float().cpu().numpy()))
        if not parts:
            parts = [(np.zeros((0, len(self.label_names))), *(np.zeros(0, np.float32),) * 3)]
        logits, valence, arousal, intensity = (np.concatenate(column) for column in zip(*parts))
        probabilities = softmax(logits)
        return {"probabilities": probabilities, "valence": valence, "arousal": arousal, "intensity": intensity,
                "consistent": self.consistency(probabilities, valence)}

    def rows(self, texts: list[str], first_row: int) -> Iterator[dict]:
        """One output record per text."""
        result = self(texts)
        for i, text in enumerate(texts):
            probabilities = result["probabilities"][i]
            yield {"row": first_row + i, "text": text, "label": self.label_names[int(probabilities.argmax())],
                   **{f"p_{name}": round(float(p), 6) for name, p in zip(self.label_names, probabilities)},
                   "valence": round(float(result["valence"][i]), 6),
                   "arousal": round(float(result["arousal"][i]), 6),
                   "intensity": round(float(result["intensity"][i]), 6),
                   "consistent": bool(result["consistent"][i])}


class RowWriter:
    """Writes records as CSV / TSV / JSON lines, chosen by the output file's extension."""

    def __init__(self, path: Path, fields: list[str]):
        self.suffix = path.suffix.lower()
        if self.suffix not in (".csv", ".tsv", ".jsonl"):
            raise InputError(f"{path}: expected an output file ending in .csv, .tsv or .jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "w", encoding="utf-8", newline="")
        if self.suffix != ".jsonl":
            self.writer = csv.DictWriter(self.handle, fieldnames=fields, delimiter="\t" if self.suffix == ".tsv" else ",")
            self.writer.writeheader()

    def write(self, record: dict):
        if self.suffix == ".jsonl":
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            self.writer.writerow(record)

    def close(self):
        self.handle.close()


def check_input(input_file: Path, text_column: str = "text") -> int:
    """Read every text once, before anything is written or loaded: a bad line stops here. Returns the count."""
    return sum(1 for _ in read_texts(input_file, text_column))


def predict_file(predictor: Predictor, input_file: Path, output_file: Path, text_column: str = "text",
                 batch_size: int = 64, progress: bool = True, total: int | None = None) -> int:
    """Predict every text of `input_file` into `output_file`; returns the number of texts. `total`: the count
    from `check_input` when the caller already ran it (else it runs here: every line checked, the bar sized)."""
    refuse_overwrite([output_file], [input_file])
    total = check_input(input_file, text_column) if total is None else total
    fields = ["row", "text", "label", *(f"p_{n}" for n in predictor.label_names), "valence", "arousal", "intensity",
              "consistent"]
    writer = RowWriter(output_file, fields)
    done = 0
    try:
        with tqdm(total=total, unit="text", disable=not progress) as bar:
            for batch in batches(read_texts(input_file, text_column), batch_size):
                for record in predictor.rows(batch, first_row=done):
                    writer.write(record)
                done += len(batch)
                bar.update(len(batch))
    finally:
        writer.close()
    return done


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True, help="CMHL checkpoint folder or Hub id")
    parser.add_argument("--input_file", required=True, type=Path)
    parser.add_argument("--output_file", required=True, type=Path)
    parser.add_argument("--text_column", default="text", help="column (CSV/TSV) or key (JSONL) of the text")
    parser.add_argument("--batch_size", type=positive_int, default=64)
    parser.add_argument("--max_length", type=positive_int, help="tokens per text (default: what the encoder takes)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda if available)")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        refuse_overwrite([args.output_file], [args.input_file])
        total = check_input(args.input_file, args.text_column)  # a bad line stops before a model loads
        predictor = Predictor(args.model_name_or_path, args.device, args.max_length, batch_size=args.batch_size)
        start = time.perf_counter()
        count = predict_file(predictor, args.input_file, args.output_file, args.text_column, args.batch_size,
                             progress=not args.no_progress, total=total)
        seconds = time.perf_counter() - start
    except (InputError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{count} texts -> {args.output_file} in {seconds:.1f} s ({count / max(seconds, 1e-9):.1f} texts/s)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
