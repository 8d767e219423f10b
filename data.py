"""Reading and checking labelled text for CMHL: local files or a Hub data set, one row per example.

Every split becomes a `datasets.Dataset` with the columns
    text (str) · label (int, index into the label names) · valence_labels, intensity_labels (float, NaN
    where the data give no per-example target; the model then uses the label's circumplex coordinates).

Nothing is dropped silently: a bad row stops the run with a `DataError` naming the file, the line (or
row) and the value, unless the caller asks to drop bad rows, and then every dropped row is reported.
"""

import argparse
import csv
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from configuration_cmhl import DAIR_AI_LABELS

SPLITS = ("train", "validation", "test")
FILE_FORMATS = {".txt": "dair-ai text;label lines", ".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSON Lines",
                ".json": "JSON Lines", ".parquet": "Parquet"}
TARGET_RANGES = {"valence": (-1.0, 1.0), "intensity": (0.0, 1.0)}


class DataError(ValueError):
    """A data problem that must stop the run before training; the message says where and what."""


@dataclass
class Row:
    """One example as read, before checking: `where` is "file, line N" (or "row N")."""

    where: str
    text: object
    label: object
    targets: dict = field(default_factory=dict)


# ---- reading text files: one place for every tool (train.py, predict.py, evaluate_cmhl.py, export_onnx.py) ----

csv.field_size_limit(sys.maxsize)  # a text may be long; the model truncates, the reader must not fail
_SNIFF_BYTES = 1 << 20


def read_lines(path: Path):
    """Yield (line number, line without its ending) for every line of a UTF-8 text file, streaming.

    Lines end in \\n or \\r\\n; a file with no \\n at all but with \\r (old Mac line endings) ends lines in \\r.
    A UTF-8 byte-order mark at the start (Excel's "CSV UTF-8") is dropped. A line that is not UTF-8 stops
    with its number; every line is yielded, empty ones included, so numbers are the editor's."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        separator = b"\r" if b"\n" not in head and b"\r" in head else b"\n"
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        number, pending = 0, head
        while True:
            chunk = handle.read(_SNIFF_BYTES)
            pieces = (pending + chunk).split(separator)
            pending = pieces.pop()  # the unfinished last line, completed by the next chunk
            for raw in pieces:
                number += 1
                yield number, _decode(path, number, raw.removesuffix(b"\r"))
            if not chunk:
                break
        if pending:
            number += 1
            yield number, _decode(path, number, pending.removesuffix(b"\r"))


def _decode(path: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}, line {number}: not UTF-8 ({error.reason} at byte {error.start}): {raw[:80]!r}")


def delimited_records(path: Path, header: bool = True):
    """Yield (line number, fields) of a .csv / .tsv file, one record per physical line, so that a file reads
    as a person sees it in an editor: a record never spans lines and a line is never merged into another.

    TSV: quotes are ordinary characters (a tab cannot be part of a text, so nothing needs quoting).
    CSV: standard quoting ("a, b" and "" for a quote) within a line; a quote that opens and does not close
    on its line is an error naming the line (csv would otherwise swallow the following lines into one text).
    With `header`, the first record is yielded first like any other. Blank lines are skipped."""
    tsv = path.suffix.lower() == ".tsv"
    for number, line in read_lines(path):
        if not line.strip():
            continue
        if tsv:
            yield number, line.split("\t")
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as error:
            raise DataError(f"{path}, line {number}: malformed CSV ({error}): a quoted field must close on its own "
                            f"line (texts with line breaks: use .jsonl); got {line[:80]!r}") from None
        yield number, fields


def check_text_encodable(where: str, text: str):
    """A text must be encodable as UTF-8 (a lone UTF-16 surrogate from a JSON escape like \\ud83d is not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise DataError(f"{where}: the text holds {text[error.start:error.end]!r}, a lone UTF-16 surrogate that no "
                        f"encoder reads; expected Unicode text") from None


# ---- labelled-data readers: each yields Rows and raises DataError on a structural problem ----

def _read_txt(path: Path):
    """dair-ai's format: `text;label` a line. A text may itself contain ';': the label follows the last."""
    for number, line in read_lines(path):
        if ";" not in line:
            raise DataError(f"{path}, line {number}: expected 'text;label', found no ';' in {line[:80]!r}")
        text, label = line.rsplit(";", 1)
        yield Row(f"{path}, line {number}", text, label.strip())


def _read_delimited(path: Path):
    records = delimited_records(path)
    first = next(records, None)
    columns = first[1] if first else []
    _require_columns(path, columns)
    for number, values in records:
        if len(values) != len(columns):
            raise DataError(f"{path}, line {number}: expected {len(columns)} fields {columns}, got {len(values)}: "
                            f"{values!r:.120}")
        yield _row_from_record(f"{path}, line {number}", dict(zip(columns, values)))


def _read_jsonl(path: Path):
    for number, line in read_lines(path):
        if not line.strip():
            continue  # a blank line between records holds no record
        record = json_record(path, number, line)
        _require_columns(path, record, f"line {number}")
        yield _row_from_record(f"{path}, line {number}", record)


def json_record(path: Path, number: int, line: str) -> dict:
    """One JSON Lines record: a JSON object, or a DataError naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}, line {number}: not valid JSON ({error.msg}): {line[:80]!r}") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}, line {number}: expected a JSON object, got {line[:80]!r}")
    return record


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    _require_columns(path, table.column_names)
    for number, record in enumerate(table.to_pylist(), start=1):
        yield _row_from_record(f"{path}, row {number}", record)


def _require_columns(path, columns, where="header"):
    missing = [c for c in ("text", "label") if c not in columns]
    if missing:
        raise DataError(f"{path}, {where}: missing column(s) {missing}; expected 'text' and 'label', "
                        f"found {list(columns)}")


def _row_from_record(where: str, record: dict) -> Row:
    targets = {name: record[name] for name in TARGET_RANGES if record.get(name) not in (None, "")}
    return Row(where, record["text"], record["label"], targets)


READERS = {".txt": _read_txt, ".csv": _read_delimited, ".tsv": _read_delimited, ".jsonl": _read_jsonl,
           ".json": _read_jsonl, ".parquet": _read_parquet}


def read_file(path) -> list[Row]:
    """All rows of a local file, in order; the reader follows the extension (FILE_FORMATS)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix not in READERS:
        raise DataError(f"{path}: unknown extension {path.suffix!r}; expected one of {list(FILE_FORMATS)}")
    rows = list(READERS[path.suffix](path))
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    return rows


def read_hub_split(split: datasets.Dataset, name: str) -> list[Row]:
    """Rows of a Hub split; integer labels become names through its ClassLabel feature when it has one."""
    _require_columns(name, split.column_names)
    names = getattr(split.features["label"], "names", None)
    rows = []
    for number, record in enumerate(split, start=1):
        row = _row_from_record(f"{name}, row {number}", record)
        if names is not None and isinstance(row.label, int) and 0 <= row.label < len(names):
            row.label = names[row.label]
        rows.append(row)
    return rows


# ---- checking ----

def _label_kind(label) -> str:
    is_index = isinstance(label, int) or (isinstance(label, str) and label.strip().lstrip("-").isdigit())
    return "index" if is_index else "name"


def _label_index(row: Row, label_names: list[str]) -> int:
    label = row.label
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise DataError(f"{row.where}: label {label!r} is neither a name nor an index")
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        label = int(label)
    if isinstance(label, int):
        if not 0 <= label < len(label_names):
            raise DataError(f"{row.where}: label index {label} is out of range 0..{len(label_names) - 1} "
                            f"for labels {label_names}")
        return label
    if label not in label_names:
        raise DataError(f"{row.where}: unknown label {label!r}; expected one of {label_names} "
                        "(or name the labels with --class_names)")
    return label_names.index(label)


def _target(row: Row, name: str) -> float:
    value = row.targets.get(name)
    if value is None:
        return math.nan
    low, high = TARGET_RANGES[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise DataError(f"{row.where}: {name} {value!r} is not a number in [{low}, {high}]")
    return number


def check_rows(rows: list[Row], label_names: list[str], source: str, drop_invalid: bool = False):
    """Rows -> (columns dict, list of dropped-row messages). Raises DataError on the first bad row unless
    `drop_invalid`. Mixing label names and label indices in one source is an error either way."""
    first_of_kind = {}
    for row in rows:
        first_of_kind.setdefault(_label_kind(row.label), row)
    if len(first_of_kind) > 1:
        name, index = first_of_kind["name"], first_of_kind["index"]
        raise DataError(f"{source}: mixed label types, names ({name.where}: {name.label!r}) "
                        f"and indices ({index.where}: {index.label!r})")
    columns = {"text": [], "label": [], "valence_labels": [], "intensity_labels": []}
    dropped = []
    for row in rows:
        try:
            if not isinstance(row.text, str) or not row.text.strip():
                raise DataError(f"{row.where}: empty text (label {row.label!r})")
            check_text_encodable(row.where, row.text)
            label = _label_index(row, label_names)
            valence, intensity = _target(row, "valence"), _target(row, "intensity")
        except DataError as error:
            if not drop_invalid:
                raise
            dropped.append(str(error))
            continue
        columns["text"].append(row.text)
        columns["label"].append(label)
        columns["valence_labels"].append(valence)
        columns["intensity_labels"].append(intensity)
    if not columns["text"]:
        raise DataError(f"{source}: no valid rows ({len(dropped)} dropped)")
    return columns, dropped


def to_dataset(columns: dict) -> datasets.Dataset:
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64"),
                                  "valence_labels": datasets.Value("float32"),
                                  "intensity_labels": datasets.Value("float32")})
    return datasets.Dataset.from_dict(columns, features=features)


def missing_labels(dataset: datasets.Dataset, label_names: list[str]) -> list[str]:
    """Label names that never occur in the split."""
    counts = Counter(dataset["label"])
    return [name for i, name in enumerate(label_names) if counts[i] == 0]


def load_splits(files: dict, dataset_name: str | None, label_names: list[str] | None, drop_invalid: bool,
                log=print, require_train: bool = True, limits: dict | None = None) -> tuple[dict, list[str]]:
    """Read, check and convert every split.

    files: split -> local path or None; when no file is given at all, `dataset_name` is loaded from the Hub.
    label_names: the model's labels; None takes the Hub split's ClassLabel names, else dair-ai's six.
    Returns ({split: Dataset}, label_names). A label that never occurs is an error in train and a
    warning in validation / test, checked on what is kept: `limits` (split -> N or None) keeps the first N
    checked rows of a split. `require_train=False` (evaluating a trained checkpoint) accepts local files
    without a training file.
    """
    if any(files.values()):
        if require_train and not files.get("train"):
            raise DataError("--train_file is required when local files are given")
        raw = {split: read_file(path) for split, path in files.items() if path}
        sources = {split: str(files[split]) for split in raw}
    else:
        hub = datasets.load_dataset(dataset_name)
        raw = {split: read_hub_split(hub[split], f"{dataset_name}[{split}]") for split in SPLITS if split in hub}
        sources = {split: f"{dataset_name}[{split}]" for split in raw}
        names = getattr(hub["train"].features["label"], "names", None)
        label_names = label_names or names
    label_names = list(label_names or DAIR_AI_LABELS)
    splits = {}
    for split, rows in raw.items():
        columns, dropped = check_rows(rows, label_names, sources[split], drop_invalid)
        if dropped:
            log(f"{sources[split]}: dropped {len(dropped)} invalid row(s) of {len(rows)}, as asked; first: {dropped[0]}")
        limit = (limits or {}).get(split)
        if limit is not None:
            columns = {name: values[:limit] for name, values in columns.items()}
        splits[split] = to_dataset(columns)
        absent = missing_labels(splits[split], label_names)
        if absent and split == "train":
            raise DataError(f"{sources[split]}: no example of label(s) {absent}; every label needs training data")
        if absent:
            log(f"warning: {sources[split]}: no example of label(s) {absent}; their F1 is undefined there")
    return splits, label_names


def refuse_overwrite(outputs, inputs):
    """Stop before a tool writes over something it reads: an output (file or folder) that is one of the
    inputs, compared as files (the same inode, however the path is spelled: `./x`, `a/../x`, a link), not as
    strings. outputs, inputs: paths; None entries and paths that do not exist (a Hub id) are skipped."""
    inputs = [Path(p) for p in inputs if p is not None and Path(p).exists()]
    for output in (Path(p) for p in outputs if p is not None):
        for source in inputs:
            if output.exists() and os.path.samefile(output, source):
                raise DataError(f"{output}: this output is also an input ({source}); refusing to write over it. "
                                "Choose another output path")


def positive_int(value: str) -> int:
    """argparse type of a count or a size: a whole number >= 1 (argparse names the option and exits 2)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number
