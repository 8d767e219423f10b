"""Predict emotions, valence, intensity and a consistency flag for every text of a file, streaming.

    python predict.py --model_name_or_path runs/cmhl --input_file texts.txt --output_file predictions.csv

Input: `.txt` (one text per line; every line is a text, empty lines included, so output rows align with input
lines), `.csv` / `.tsv` with a `--text_column` (default `text`), or `.jsonl` with that key. Output (`.csv`,
`.tsv` or `.jsonl`, by extension), one row per text in input order: `row`, `text`, `label`, `p_<label>` for
every label, `valence` in [-1, 1], `intensity` in [0, 1], `consistent` (metrics.ConsistencyCheck). Texts are
read, predicted and written batch by batch, so memory stays flat however long the file (BENCHMARKS.md
measures it); a progress bar counts texts. The model is the repository's own class, so no remote code runs.
"""

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from metrics import ConsistencyCheck, softmax
from modeling_cmhl import CMHLForSequenceClassification

csv.field_size_limit(sys.maxsize)  # a text may be long; the model truncates, the reader must not fail


class InputError(ValueError):
    """A text file that cannot be read as asked; the message names the file, line and what was expected."""


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) one by one; a line that is not UTF-8 stops with its number."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(f"{path}, line {number}: expected UTF-8 text ({error.reason} at byte "
                                 f"{error.start}): {raw[:80]!r}") from None


def read_texts(path: Path, text_column: str = "text") -> Iterator[str]:
    """Yield the texts of `path` one by one (see the module docstring for the formats)."""
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".csv", ".tsv", ".jsonl"):
        raise InputError(f"{path}: expected a .txt, .csv, .tsv or .jsonl file, got {suffix or 'no extension'!r}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if suffix == ".txt":
        for _, line in _lines(path):
            yield line.rstrip("\r\n")
    elif suffix == ".jsonl":
        for number, line in _lines(path):
            if not line.strip():
                continue  # a blank line between records holds no text
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}, line {number}: expected a JSON object, got {line[:80]!r} ({error.msg})")
            if not isinstance(record, dict) or not isinstance(record.get(text_column), str):
                raise InputError(f"{path}, line {number}: expected a string under {text_column!r}, got {line[:80]!r}")
            yield record[text_column]
    else:
        reader = csv.DictReader((line for _, line in _lines(path)), delimiter="\t" if suffix == ".tsv" else ",")
        if text_column not in (reader.fieldnames or []):
            raise InputError(f"{path}, line 1: expected a column {text_column!r} (--text_column), "
                             f"got columns {reader.fieldnames}")
        for record in reader:
            if record[text_column] is None:
                raise InputError(f"{path}, line {reader.line_num}: expected a value in column {text_column!r}")
            yield record[text_column]


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
    """A CMHL checkpoint, its tokenizer and its consistency check, predicting batches of texts."""

    def __init__(self, model_name_or_path: str, device: str | None = None, max_length: int | None = None,
                 pad_to_multiple_of: int = 32):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = CMHLForSequenceClassification.from_pretrained(model_name_or_path).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        limit = self.model.max_input_tokens or self.tokenizer.model_max_length
        self.max_length = min(max_length or limit, limit, self.tokenizer.model_max_length)
        # Batches padded to a multiple of 32 tokens come in a handful of shapes, so the allocator reuses its
        # blocks instead of fragmenting over one shape per batch (memory stays flat over long files).
        self.pad_to_multiple_of = pad_to_multiple_of
        self.label_names = self.model.config.label_names
        self.consistency = ConsistencyCheck(self.model.config)

    @torch.inference_mode()
    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        """B texts -> probabilities (B, L), valence (B,), intensity (B,), consistent (B,) bool."""
        inputs = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt").to(self.device)
        out = self.model(**inputs)
        probabilities = softmax(out.logits.float().cpu().numpy().astype(np.float64))
        valence = out.valence.float().cpu().numpy()
        return {"probabilities": probabilities, "valence": valence, "intensity": out.intensity.float().cpu().numpy(),
                "consistent": self.consistency(probabilities, valence)}

    def rows(self, texts: list[str], first_row: int) -> Iterator[dict]:
        """One output record per text."""
        result = self(texts)
        for i, text in enumerate(texts):
            probabilities = result["probabilities"][i]
            yield {"row": first_row + i, "text": text, "label": self.label_names[int(probabilities.argmax())],
                   **{f"p_{name}": round(float(p), 6) for name, p in zip(self.label_names, probabilities)},
                   "valence": round(float(result["valence"][i]), 6),
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


def predict_file(predictor: Predictor, input_file: Path, output_file: Path, text_column: str = "text",
                 batch_size: int = 64, progress: bool = True) -> int:
    """Predict every text of `input_file` into `output_file`; returns the number of texts."""
    total = sum(1 for _ in read_texts(input_file, text_column))  # a cheap first pass: the bar's total
    fields = ["row", "text", "label", *(f"p_{n}" for n in predictor.label_names), "valence", "intensity", "consistent"]
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
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_length", type=int, help="tokens per text (default: what the encoder takes)")
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda if available)")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        next(read_texts(args.input_file, args.text_column), None)  # fail on a bad file before loading a model
        predictor = Predictor(args.model_name_or_path, args.device, args.max_length)
        count = predict_file(predictor, args.input_file, args.output_file, args.text_column, args.batch_size,
                             progress=not args.no_progress)
    except (InputError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{count} texts -> {args.output_file}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
