"""Labelled corpora whose labels are not the model's: how a file's rows are read (header-less tables too) and how
a mapping file turns the corpus's labels into the model's (evaluate_cmhl.py, no_emotion.py).

A mapping file (JSON, read by jsonfiles.read_object: a key given twice, an unknown key or a wrong type is an error):

    {"description": "why each decision",           # optional, for people
     "mapping": {"annoyance": "anger", ...},      # corpus label -> model label
     "excluded": ["neutral", ...],                # corpus labels with no counterpart
     "source_labels": ["admiration", ...],        # optional: label ids -> names, for files labelled by ids
     "separator": ",",                            # optional: multi-label cells ("3,15")
     "no_emotion": ["neutral"]}                   # optional: excluded labels that mean "no clear emotion"

A text counts when every one of its labels is mapped and they all map to one model label.
"""

from pathlib import Path

from data import DataError, Row, check_header, delimited_records, read_file
from jsonfiles import read_object

MAPPING_FIELDS = {"description": (str, False), "mapping": (dict, True), "excluded": (list, False),
                  "source_labels": ((list, type(None)), False), "separator": ((str, type(None)), False),
                  "no_emotion": (list, False)}


def read_rows(path: Path, column_names: list[str] | None) -> list[Row]:
    """Rows of a labelled file; with `column_names`, a header-less CSV/TSV whose columns they name."""
    if not column_names:
        return read_file(path)
    check_header(path, column_names, 0)
    if path.suffix not in (".csv", ".tsv") or "text" not in column_names or "label" not in column_names:
        raise DataError(f"{path}: --column_names is for header-less .csv/.tsv files and must name 'text' and "
                        f"'label', got {column_names}")
    rows = []
    for number, record in delimited_records(path):  # quoting as data.delimited_records: one record a line
        where = f"{path}, line {number}"
        if len(record) != len(column_names):
            raise DataError(f"{where}: expected {len(column_names)} columns {column_names}, got {len(record)}")
        values = dict(zip(column_names, record))
        rows.append(Row(where, values["text"], values["label"]))
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    return rows


class LabelMapping:
    """A corpus's labels -> the model's labels, from a mapping file (see the module docstring)."""

    def __init__(self, path: Path, model_labels: list[str]):
        spec = read_object(path, "label mapping", MAPPING_FIELDS)
        self.path, self.mapping = path, spec["mapping"]
        self.excluded = set(spec.get("excluded", []))
        self.source_labels = spec.get("source_labels")
        self.separator = spec.get("separator")
        self.no_emotion = set(spec.get("no_emotion", []))
        if not self.mapping:
            raise DataError(f"{path}: expected a non-empty object under 'mapping'")
        if not self.no_emotion <= self.excluded:
            raise DataError(f"{path}: 'no_emotion' labels {sorted(self.no_emotion - self.excluded)} must also be "
                            "'excluded' (they have no emotion label of the model)")
        wrong = sorted({v for v in self.mapping.values() if v not in model_labels})
        if wrong:
            alike = {w: [m for m in model_labels if m.strip().casefold() == str(w).strip().casefold()] for w in wrong}
            hints = "; ".join(f"{w!r} differs from the model's {a[0]!r} only by case or spaces"
                              for w, a in alike.items() if a)
            raise DataError(f"{path}: mapping targets {wrong} are not labels of the model {model_labels}"
                            + (f" ({hints})" if hints else ""))
        both = sorted(self.excluded & set(self.mapping))
        if both:
            raise DataError(f"{path}: labels {both} are both mapped and excluded")
        self.model_index = {name: i for i, name in enumerate(model_labels)}

    def source_names(self, row: Row) -> list[str]:
        """The corpus's label names of one row (ids resolved, multi-label cells split)."""
        raw = row.label
        cells = str(raw).split(self.separator) if self.separator and isinstance(raw, str) else [raw]
        names = []
        for cell in cells:
            cell = str(cell).strip()
            if self.source_labels is not None and cell.lstrip("-").isdigit():
                index = int(cell)
                if not 0 <= index < len(self.source_labels):
                    raise DataError(f"{row.where}: label id {index} outside 0..{len(self.source_labels) - 1} "
                                    f"of 'source_labels' in {self.path}")
                cell = self.source_labels[index]
            if cell not in self.mapping and cell not in self.excluded:
                raise DataError(f"{row.where}: label {cell!r} is neither mapped nor excluded in {self.path}")
            names.append(cell)
        return names

    def is_no_emotion(self, row: Row) -> bool:
        """Whether every label of the row is one of the mapping's "no_emotion" labels (GoEmotions: neutral alone)."""
        return bool(self.no_emotion) and set(self.source_names(row)) <= self.no_emotion

    def __call__(self, row: Row) -> tuple[int | None, str]:
        """(model label index, "counted") or (None, why the row is not counted)."""
        names = self.source_names(row)
        if any(name in self.excluded for name in names):
            return None, "has an excluded label"
        targets = {self.mapping[name] for name in names}
        if len(targets) > 1:
            return None, "maps to several labels"
        return self.model_index[targets.pop()], "counted"
