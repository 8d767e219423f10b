"""Reading and checking labelled text for CMHL: local files or a Hub data set, one row per example.

Every split becomes a `datasets.Dataset` with the columns
    text (str) · label (int, index into the label names; -1 for a rated text without one) · valence_labels,
    arousal_labels (float on the heads' scales, [-1, 1] and [0, 1], NaN
    where the data give no per-example target; the model then uses the label's circumplex coordinates).

Nothing is dropped silently: a bad row stops the run with a `DataError` naming the file, the line (or
row) and the value, unless the caller asks to drop bad rows, and then every dropped row is reported.
"""

import argparse
import csv
import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np

from configuration_cmhl import DAIR_AI_LABELS

SPLITS = ("train", "validation", "test")
FILE_FORMATS = {".txt": "dair-ai text;label lines", ".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSON Lines",
                ".json": "JSON Lines", ".parquet": "Parquet"}
TARGET_RANGES = {"valence": (-1.0, 1.0), "arousal": (0.0, 1.0)}  # per-text ratings on the heads' scales


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


def check_plain_text(path: Path, head: bytes) -> None:
    """The first bytes of a file a tool reads as text: gzip, UTF-16/32 and other binary content is an error saying
    what the file is, before any line is read as garbage."""
    if head.startswith(b"\x1f\x8b"):
        raise DataError(f"{path}: is gzip-compressed; decompress it first (gunzip -k {path.name})")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:512]:
        kind = "UTF-16 or UTF-32 text" if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[1:2] == b"\x00" or \
            head[:1] == b"\x00" else "binary (it holds NUL bytes)"
        raise DataError(f"{path}: is {kind}, not UTF-8 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    for magic, kind in ((b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"), (b"PAR1", "Parquet")):
        if head.startswith(magic) and path.suffix.lower() != ".parquet":
            raise DataError(f"{path}: is {kind}, not text; give the file in a text format (.csv, .tsv, .jsonl) or "
                            "with its own extension")


def read_lines(path: Path):
    """Yield (line number, line without its ending) for every line of a UTF-8 text file, streaming.

    Lines end in \\n or \\r\\n; a file with no \\n at all but with \\r (old Mac line endings) ends lines in \\r.
    A UTF-8 byte-order mark at the start (Excel's "CSV UTF-8") is dropped. A line that is not UTF-8 stops
    with its number; every line is yielded, empty ones included, so numbers are the editor's."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        check_plain_text(path, head)
        separator = b"\r" if b"\n" not in head and b"\r" in head else b"\n"
        lone_cr, lone_lf = re.search(rb"\r(?!\n)", head), re.search(rb"(?<!\r)\n", head)
        if lone_cr and lone_lf:  # CR-only lines with an LF inside one: the lines a person sees are the CR ones
            line = head[:max(lone_cr.start(), lone_lf.start())].count(b"\n") + 1
            raise DataError(f"{path}: mixes line endings, CR alone (old Mac) and LF alone (near line {line}); a "
                            "text may hold a line break. Save it with one kind of line ending (or use .jsonl)")
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


# ---- records of any tabular file: (where, {column: value}) ----

def check_header(path: Path, columns: list[str], number: int = 1):
    """A header naming a column twice is an error (one tool would read the first, another the last)."""
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataError(f"{path}, line {number}: column(s) {repeated} named more than once in the header {columns}; "
                        "expected each column once")


def _delimited_records(path: Path, required):
    records = delimited_records(path)
    first = next(records, None)
    columns = first[1] if first else []
    check_header(path, columns, first[0] if first else 1)
    _require_columns(path, columns, required)
    for number, values in records:
        if len(values) != len(columns):
            raise DataError(f"{path}, line {number}: expected {len(columns)} fields {columns}, got {len(values)}: "
                            f"{values!r:.120}")
        yield f"{path}, line {number}", dict(zip(columns, values))


def _jsonl_records(path: Path, required):
    for number, line in read_lines(path):
        if not line.strip():
            continue  # a blank line between records holds no record
        record = json_record(path, number, line)
        _require_columns(path, record, required, f"line {number}")
        yield f"{path}, line {number}", record


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs):
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _RepeatedKey(key)
    return dict(pairs)


def json_record(path: Path, number: int, line: str) -> dict:
    """One JSON Lines record: a JSON object, or a DataError naming the line."""
    try:
        record = json.loads(line, object_pairs_hook=_unique_keys)
    except _RepeatedKey as error:
        raise DataError(f"{path}, line {number}: key {error.args[0]!r} given more than once; expected each key once: "
                        f"{line[:80]!r}") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}, line {number}: not valid JSON ({error.msg}): {line[:80]!r}") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}, line {number}: expected a JSON object, got {line[:80]!r}")
    return record


def _parquet_records(path: Path, required):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    check_header(path, table.column_names)
    _require_columns(path, table.column_names, required)
    for number, record in enumerate(table.to_pylist(), start=1):
        yield f"{path}, row {number}", record


def _require_columns(path, columns, required, where="header"):
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(f"{path}, {where}: missing column(s) {missing}; expected {list(required)}, "
                        f"found {list(columns)}")


RECORD_READERS = {".csv": _delimited_records, ".tsv": _delimited_records, ".jsonl": _jsonl_records,
                  ".json": _jsonl_records, ".parquet": _parquet_records}


def read_records(path, required) -> list[tuple[str, dict]]:
    """All records of a .csv/.tsv (with a header), .jsonl or .parquet file as (where, {column: value}),
    in order; `required` columns must be present."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix not in RECORD_READERS:
        raise DataError(f"{path}: unknown extension {path.suffix!r}; expected one of {list(RECORD_READERS)}")
    records = list(RECORD_READERS[path.suffix](path, required))
    if not records:
        raise DataError(f"{path}: the file holds no rows")
    return records


# ---- labelled data: Rows ----

def _read_txt(path: Path):
    """dair-ai's format: `text;label` a line. A text may itself contain ';': the label follows the last."""
    for number, line in read_lines(path):
        if ";" not in line:
            raise DataError(f"{path}, line {number}: expected 'text;label', found no ';' in {line[:80]!r}")
        text, label = line.rsplit(";", 1)
        yield Row(f"{path}, line {number}", text, label.strip())


def _row_from_record(where: str, record: dict) -> Row:
    """A record's Row; a text that is not a string (JSON null, a number) or a label that is neither a name nor an
    index is an error naming where and the value, never read as the string "None"."""
    text, label = record["text"], record["label"]
    if not isinstance(text, str):
        raise DataError(f"{where}: expected the text as a string, got {json.dumps(text)[:80]}")
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        raise DataError(f"{where}: expected the label as a name or an index, got {json.dumps(label)[:80]}")
    targets = {name: record[name] for name in TARGET_RANGES if record.get(name) not in (None, "")}
    return Row(where, record["text"], record["label"], targets)


def read_file(path) -> list[Row]:
    """All rows of a local labelled file, in order; the reader follows the extension (FILE_FORMATS)."""
    path = Path(path)
    if path.suffix == ".txt":
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        rows = list(_read_txt(path))
        if not rows:
            raise DataError(f"{path}: the file holds no rows")
        return rows
    if path.suffix not in FILE_FORMATS:
        raise DataError(f"{path}: unknown extension {path.suffix!r}; expected one of {list(FILE_FORMATS)}")
    return [_row_from_record(where, record) for where, record in read_records(path, ("text", "label"))]


def read_hub_split(split: datasets.Dataset, name: str) -> list[Row]:
    """Rows of a Hub split; integer labels become names through its ClassLabel feature when it has one."""
    _require_columns(name, split.column_names, ("text", "label"))
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
    is_index = isinstance(label, int) or (isinstance(label, str) and is_whole_number(label.strip()))
    return "index" if is_index else "name"


def is_whole_number(text: str) -> bool:
    """ASCII digits with an optional minus sign: '12', '-1'. Other digits ('²', '١') are names, never indices."""
    return re.fullmatch(r"-?[0-9]+", text) is not None


def label_position(written: str, label_names: list[str]) -> int | None:
    """The one rule for labels written as text, in every reader (data files, --class_names, a mapping's
    `source_labels`): a label that is one of the names is that name; a whole number is an index only when no name is
    itself a number (else it would be read one way here and the other way by a reader of the names). Returns the
    name's index, the number (maybe out of range: the caller says so), or None (neither)."""
    if written in label_names:
        return label_names.index(written)
    if is_whole_number(written) and not any(is_whole_number(name.strip()) for name in label_names):
        return int(written)
    return None


def _label_index(row: Row, label_names: list[str]) -> int:
    """A row's label as an index into `label_names` (`label_position`'s rule: with --class_names 1,0 the label "1"
    is the name "1", index 0); a name that matches one of the names but for case or spaces is an error that says so."""
    label = row.label
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise DataError(f"{row.where}: label {label!r} is neither a name nor an index")
    written = label.strip() if isinstance(label, str) else str(label)
    index = label_position(written, label_names)
    if index is not None and written not in label_names and not 0 <= index < len(label_names):
        raise DataError(f"{row.where}: label index {index} is out of range 0..{len(label_names) - 1} "
                        f"for labels {label_names}")
    if index is not None:
        return index
    if is_whole_number(written):
        raise DataError(f"{row.where}: label {written!r} is not one of the names {label_names}, and with names that "
                        "are numbers it is not read as an index; give each row's label as one of the names")
    alike = [name for name in label_names if name.strip().casefold() == written.casefold()]
    hint = f"; {alike[0]!r} differs from it only by case or spaces" if alike else ""
    raise DataError(f"{row.where}: unknown label {label!r}; expected one of {label_names}{hint} (or name the labels "
                    "with --class_names)")


def _target(row: Row, name: str) -> float:
    value = row.targets.get(name)
    if value is None:
        return math.nan
    low, high = TARGET_RANGES[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:  # true is not 1.0
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
    columns = {"text": [], "label": [], "valence_labels": [], "arousal_labels": []}
    dropped = []
    for row in rows:
        try:
            if not isinstance(row.text, str) or not row.text.strip():
                raise DataError(f"{row.where}: empty text (label {row.label!r})")
            check_text_encodable(row.where, row.text)
            label = _label_index(row, label_names)
            valence, arousal = _target(row, "valence"), _target(row, "arousal")
        except DataError as error:
            if not drop_invalid:
                raise
            dropped.append(str(error))
            continue
        columns["text"].append(row.text)
        columns["label"].append(label)
        columns["valence_labels"].append(valence)
        columns["arousal_labels"].append(arousal)
    if not columns["text"]:
        raise DataError(f"{source}: no valid rows ({len(dropped)} dropped)")
    return columns, dropped


def to_dataset(columns: dict) -> datasets.Dataset:
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64"),
                                  "valence_labels": datasets.Value("float32"),
                                  "arousal_labels": datasets.Value("float32")})
    return datasets.Dataset.from_dict(columns, features=features)


def with_source(dataset: datasets.Dataset, index: int) -> datasets.Dataset:
    """The dataset with a column `source_ids` = `index` (which corpus each row comes from; -1 for rated rows): it
    reaches compute_metrics beside the labels, whatever order the evaluation sampler takes (train.py)."""
    return dataset.add_column("source_ids", np.full(len(dataset), index, dtype=np.int64))


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
        kept = f" in the first {limit} rows kept (--max_{split}_samples)" if limit is not None else ""
        if absent and split == "train":
            raise DataError(f"{sources[split]}: no example of label(s) {absent}{kept}; every label needs training data")
        if absent:
            log(f"warning: {sources[split]}: no example of label(s) {absent}; their F1 is undefined there")
    return splits, label_names


def positive_int(value: str) -> int:
    """argparse type of a count or a size: a whole number >= 1 (argparse names the option and exits 2)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number


# ---- rated text (valence, arousal): the second training source of the dimensional heads ----

AFFECT_SPLITS = {"train": "train", "dev": "validation", "validation": "validation", "valid": "validation",
                 "test": "test"}


@dataclass
class AffectSpec:
    """How to read a corpus of texts rated for valence and arousal (EmoBank: `id,split,V,A,D,text`, 1-5)."""

    text_column: str = "text"
    valence_column: str = "V"
    arousal_column: str = "A"
    scale: tuple[float, float] = (1.0, 5.0)  # low, high of the rating scale; its midpoint is neutral
    split_column: str | None = "split"  # values train / dev (or validation) / test; None: every row trains


def _rating(where: str, record: dict, column: str, scale) -> float:
    value, (low, high) = record[column], scale
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or not low <= number <= high:
        raise DataError(f"{where}: {column} {value!r} is not a number on the stated scale [{low}, {high}]")
    return number


def load_affect(path, spec: AffectSpec, limits: dict | None = None) -> dict:
    """Read and check a rated corpus; return {split: Dataset} with label -1 (no emotion) and the ratings on the
    heads' scales: valence 2 (V - low) / (high - low) - 1 in [-1, 1], arousal (A - low) / (high - low) in [0, 1].
    A missing column, an empty text, a rating that is not a number on the scale or an unknown split value
    stops with the file, line and value. `limits` (split -> N) keeps the first N rows of a split."""
    low, high = spec.scale
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise DataError(f"affect scale: expected low < high, got {list(spec.scale)}")
    required = [spec.text_column, spec.valence_column, spec.arousal_column] + ([spec.split_column] if spec.split_column else [])
    columns = {}
    for where, record in read_records(path, required):
        text = record[spec.text_column]
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: empty text")
        check_text_encodable(where, text)
        split = "train"
        if spec.split_column:
            split = AFFECT_SPLITS.get(str(record[spec.split_column]).strip().lower())
            if split is None:
                raise DataError(f"{where}: {spec.split_column} {record[spec.split_column]!r} is not one of "
                                f"{sorted(AFFECT_SPLITS)}")
        valence = _rating(where, record, spec.valence_column, spec.scale)
        arousal = _rating(where, record, spec.arousal_column, spec.scale)
        split_columns = columns.setdefault(split, {"text": [], "label": [], "valence_labels": [], "arousal_labels": []})
        split_columns["text"].append(text)
        split_columns["label"].append(-1)
        split_columns["valence_labels"].append(2.0 * (valence - low) / (high - low) - 1.0)
        split_columns["arousal_labels"].append((arousal - low) / (high - low))
    if "train" not in columns:
        raise DataError(f"{path}: no training rows (split column {spec.split_column!r} has no 'train')")
    for split, limit in (limits or {}).items():
        if limit is not None and split in columns:
            columns[split] = {name: values[:limit] for name, values in columns[split].items()}
    return {split: to_dataset(split_columns) for split, split_columns in columns.items()}


LEXICON_WORD = re.compile(r"[A-Za-z]+(?:[ '-][A-Za-z]+)*")  # "sad", "heart-broken", "can't stand", "fed up"


@dataclass(frozen=True)
class LexiconSpec:
    """How to read words rated for valence (VADER's vader_lexicon.txt: `token<TAB>mean<TAB>sd<TAB>ratings`, no
    header, means on -4..4; Hutto & Gilbert 2014, MIT licence) and how each word becomes a training text."""

    scale: tuple[float, float] = (-4.0, 4.0)  # low, high of the ratings; the midpoint is neutral
    template: str = "{}"  # the training text: the word put in for {}


def _lexicon_records(path: Path):
    """(where, word, rating) of a lexicon: a .txt is VADER's tab-separated `token<TAB>mean<TAB>...` without a
    header; any other format (read_records) has columns word and valence."""
    if path.suffix != ".txt":
        for where, record in read_records(path, ("word", "valence")):
            yield where, record["word"], record["valence"]
        return
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    for number, line in read_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{path}, line {number}: expected 'token<TAB>mean rating<TAB>...' (VADER's "
                            f"vader_lexicon.txt), got {line[:80]!r}")
        yield f"{path}, line {number}", fields[0], fields[1]


def load_lexicon(path, spec: LexiconSpec) -> tuple[datasets.Dataset, str]:
    """Words rated for valence as valence-only training rows, and a one-line report of what was read: text
    `spec.template` with the word, label -1, valence 2 (r - low) / (high - low) - 1 on the head's scale, arousal
    NaN (not rated, so the arousal head does not learn from the row). Entries that are not words (VADER's
    emoticons ':)', '<3', 'w00t') are skipped and named in the report; a word rated twice (VADER has 'fav' and 'lol'
    twice) trains once per rating, like any repeated text, and is named too. A rating off the scale or an empty
    word stops with the file, line and value."""
    path = Path(path)
    low, high = spec.scale
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise DataError(f"lexicon scale: expected low < high, got {list(spec.scale)}")
    if spec.template.count("{}") != 1:
        raise DataError(f"lexicon template: expected one '{{}}' where the word goes, got {spec.template!r}")
    columns = {"text": [], "label": [], "valence_labels": [], "arousal_labels": []}
    skipped = []
    for where, word, rating in _lexicon_records(path):
        word = word.strip() if isinstance(word, str) else word
        if not isinstance(word, str) or not word:
            raise DataError(f"{where}: empty word")
        valence = _rating(where, {"valence": rating}, "valence", spec.scale)
        if not LEXICON_WORD.fullmatch(word):
            skipped.append(word)
            continue
        columns["text"].append(spec.template.replace("{}", word))
        columns["label"].append(-1)
        columns["valence_labels"].append(2.0 * (valence - low) / (high - low) - 1.0)
        columns["arousal_labels"].append(math.nan)
    if not columns["text"]:
        raise DataError(f"{path}: no words to train on ({len(skipped)} entries are not words, e.g. {skipped[:3]})")
    repeated = sorted(word for word, count in Counter(t.lower() for t in columns["text"]).items() if count > 1)
    report = (f"{path}: {len(columns['text'])} rated words as valence-only training rows; {len(skipped)} entries "
              f"are not words and are skipped (e.g. {skipped[:5]}); {len(repeated)} texts are rated more than once "
              f"and train once per rating ({repeated[:5]})")
    return to_dataset(columns), report


def headerless_records(path: Path, column_names: list[str], required, flag: str = "column names"):
    """(where, {column: value}) of every record of a header-less .csv/.tsv whose columns `column_names` name, in
    order (a corpus's mapping reader, --transfer_columns); `required` must be among them, every line has them all."""
    check_header(path, column_names, 0)
    if path.suffix.lower() not in (".csv", ".tsv") or any(c not in column_names for c in required):
        raise DataError(f"{path}: {flag} are for header-less .csv/.tsv files and must name "
                        f"{' and '.join(repr(c) for c in required)}, got {column_names} for a {path.suffix} file")
    for number, fields in delimited_records(path):  # one record a line
        if len(fields) != len(column_names):
            raise DataError(f"{path}, line {number}: expected {len(column_names)} columns {column_names}, got "
                            f"{len(fields)}")
        yield f"{path}, line {number}", dict(zip(column_names, fields))


def _transfer_records(path: Path, text_column: str, column_names: list[str] | None):
    """(where, text) of every record of an unlabelled file (see `load_transfer`)."""
    if column_names:
        for where, record in headerless_records(path, column_names, [text_column], "--transfer_columns"):
            yield where, record[text_column]
    elif path.suffix.lower() == ".txt":
        for number, line in read_lines(path):
            yield f"{path}, line {number}", line
    else:
        for where, record in read_records(path, [text_column]):
            yield where, record[text_column]


def load_transfer(path, text_column: str = "text", column_names: list[str] | None = None,
                  limit: int | None = None) -> datasets.Dataset:
    """Unlabelled texts for the teachers to score (train.py --transfer_file; Hinton et al. 2015's "transfer set"):
    a .txt of one text a line, a .csv/.tsv with a header, .jsonl or .parquet with `text_column`, or a header-less
    .csv/.tsv whose columns `column_names` name (XED's en-annotated.tsv: text, labels; its labels are not read).
    Rows: label -1 (no emotion label), no ratings: every target comes from the teachers. An empty or non-string
    text stops with its file and line (a blank .txt line included: never skipped silently). `limit`: the first N."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (--transfer_file)")
    texts = []
    for where, text in _transfer_records(path, text_column, column_names):
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: expected a text in {text_column!r}, got {json.dumps(text)[:80]} "
                            "(--transfer_file: one non-empty text a row)")
        check_text_encodable(where, text)
        texts.append(text)
        if limit is not None and len(texts) == limit:
            break
    if not texts:
        raise DataError(f"{path}: the file holds no rows (--transfer_file)")
    return to_dataset({"text": texts, "label": [-1] * len(texts), "valence_labels": [math.nan] * len(texts),
                       "arousal_labels": [math.nan] * len(texts)})


def draw(dataset: datasets.Dataset, count: int, generator: np.random.Generator) -> datasets.Dataset:
    """`count` rows of `dataset`: without replacement while there are enough (a seeded permutation), then whole
    further permutations, so every row appears floor(count / N) or ceil(count / N) times."""
    order = np.concatenate([generator.permutation(len(dataset)) for _ in range(count // len(dataset) + 1)])
    return dataset.select(order[:count].tolist())


def mix(emotion: datasets.Dataset, affect: datasets.Dataset, proportion: float | None, seed: int) -> datasets.Dataset:
    """One training set of emotion rows and rated rows, shuffled by Trainer's sampler. `proportion`: the share of
    rated rows in the mix; the rated rows are drawn without replacement while there are enough and with
    replacement beyond (seeded, `draw`), the emotion rows all kept. None: every rated row once."""
    if proportion is not None:
        if not 0 < proportion < 1:
            raise DataError(f"--affect_proportion: expected a share in (0, 1), got {proportion}")
        affect = draw(affect, round(proportion / (1 - proportion) * len(emotion)), np.random.default_rng(seed))
    return datasets.concatenate_datasets([emotion, affect])
