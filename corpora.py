"""Labelled corpora whose labels are not the model's: how a file's rows are read, how a mapping file turns the
corpus's labels into the model's (train.py --corpus, evaluate_cmhl.py, no_emotion.py), and how several corpora make
one training set with a validation and a test split per corpus.

A mapping file (JSON, read by jsonfiles.read_object: a key given twice, an unknown key or a wrong type is an error):

    {"description": "why each decision",           # for people: the rules below, stated for this corpus
     "corpus": "GoEmotions (Demszky et al. 2020)", # optional: name and citation, for the model card
     "license": "Apache-2.0",                     # optional: the corpus's licence, for the model card
     "reader": {"columns": ["text", "label", "id"]},  # optional: a header-less .csv/.tsv's columns, or
                                                  #   {"text_column": "Utterance", "label_column": "Emotion"};
                                                  #   a Hub copy's: "hub_text_column", "hub_label_column"
     "mapping": {"annoyance": "anger", ...},      # corpus label -> model label
     "excluded": ["neutral", ...],                # corpus labels with no counterpart
     "source_labels": ["admiration", ...],        # optional: label ids -> names, for files labelled by ids
     "separator": ",",                            # optional: multi-label cells ("3,15")
     "no_emotion": ["neutral"]}                   # optional: excluded labels that mean "no clear emotion"

The rule for every file (multi-label rows included): a text counts when every one of its labels is mapped and they
all map to one model label. A text whose labels are all "no_emotion" labels is the model's `neutral` when the model
has that label (configuration_cmhl.NEUTRAL_LABEL), and otherwise is left out of the emotion metrics and used by the
no-emotion scores. Every other text is left out and counted by reason.
"""

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np

from cmhl_metric.cmhl_metric import check_source_names
from configuration_cmhl import NEUTRAL_LABEL
from data import (SPLITS, DataError, Row, check_rows, check_text_encodable, draw, headerless_records, label_position,
                  read_file, read_records, to_dataset, with_source)
from jsonfiles import check_fields, read_object
from sources import HASH_MARK, Source, hub_rows

READER_FIELDS = {"columns": (list, False), "text_column": (str, False), "label_column": (str, False),
                 "hub_text_column": (str, False), "hub_label_column": (str, False)}
MAPPING_FIELDS = {"description": (str, False), "corpus": (str, False), "license": (str, False),
                  "reader": (dict, False), "mapping": (dict, True), "excluded": (list, False),
                  "source_labels": ((list, type(None)), False), "separator": ((str, type(None)), False),
                  "no_emotion": (list, False)}


def read_rows(path: Path, column_names: list[str] | None = None, text_column: str = "text",
              label_column: str = "label") -> list[Row]:
    """Rows of a labelled file: with `column_names`, a header-less CSV/TSV whose columns they name; with other
    `text_column` / `label_column`, a file with a header whose columns have those names (MELD: Utterance, Emotion);
    else any file data.read_file reads."""
    path = Path(path)
    if column_names:
        return _headerless_rows(path, column_names)
    if (text_column, label_column) == ("text", "label"):
        return read_file(path)
    rows = []
    for where, record in read_records(path, (text_column, label_column)):
        text = record[text_column]
        if not isinstance(text, str):
            raise DataError(f"{where}: expected the text in column {text_column!r} as a string, got {text!r:.80}")
        rows.append(Row(where, text, record[label_column]))
    return rows


def _headerless_rows(path: Path, column_names: list[str]) -> list[Row]:
    rows = [Row(where, record["text"], record["label"])
            for where, record in headerless_records(path, column_names, ("text", "label"))]
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    return rows


def read_mapping_file(path: Path) -> dict:
    """A mapping file's fields, checked (jsonfiles.read_object, MAPPING_FIELDS and READER_FIELDS)."""
    spec = read_object(path, "label mapping", MAPPING_FIELDS)
    check_fields(path, spec.get("reader", {}), READER_FIELDS, "label mapping's 'reader'")
    return spec


def read_corpus_file(source, mapping_path: Path, column_names: list[str] | None = None) -> list[Row]:
    """The rows of a corpus's file (a path or a sources.Source: a URL's cached download, a Hub split), read as its
    mapping file's "reader" says (`column_names` overrides it): needs no model, so that every line is checked before
    one loads."""
    spec = read_mapping_file(mapping_path)
    reader = spec.get("reader", {})
    if not isinstance(source, Source):
        source = Source.parse(source, str(source)) if isinstance(source, str) else Source(str(source), path=Path(source))
    if source.hub:
        rows = hub_rows(source, reader.get("hub_text_column", "text"), reader.get("hub_label_column", "label"),
                        spec.get("separator"))
    else:
        path = source.local_path()
        # the mapping's columns describe the corpus's header-less .csv/.tsv; a copy in another format has its own
        columns = column_names or (reader.get("columns") if path.suffix in (".csv", ".tsv") else None)
        rows = read_rows(path, columns, reader.get("text_column", "text"), reader.get("label_column", "label"))
    for row in rows:  # before any model loads, in every tool that reads a corpus (train, evaluate, no_emotion)
        if isinstance(row.text, str):
            check_text_encodable(row.where, row.text)
    return rows


class LabelMapping:
    """A corpus's labels -> the model's labels, from a mapping file (see the module docstring)."""

    def __init__(self, path: Path, model_labels: list[str]):
        spec = read_mapping_file(path)
        self.path, self.mapping = Path(path), spec["mapping"]
        self.corpus, self.license = spec.get("corpus"), spec.get("license")
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
        named = set(self.mapping) | self.excluded
        if self.source_labels is not None and not named <= set(self.source_labels):
            raise DataError(f"{path}: labels {sorted(named - set(self.source_labels))} are mapped or excluded but are "
                            f"not in 'source_labels', the labels the corpus has")
        self.model_index = {name: i for i, name in enumerate(model_labels)}
        self.neutral = self.model_index.get(NEUTRAL_LABEL)

    def read(self, source) -> list[Row]:
        """The rows of one of the corpus's files (a path or a sources.Source), read with the mapping's "reader"
        settings."""
        return read_corpus_file(source, self.path)

    def source_names(self, row: Row) -> list[str]:
        """The corpus's label names of one row (ids resolved, multi-label cells split)."""
        raw = row.label
        cells = str(raw).split(self.separator) if self.separator and isinstance(raw, str) else [raw]
        names = []
        for cell in cells:
            cell = str(cell).strip()
            if self.source_labels is not None and cell not in self.source_labels:
                index = label_position(cell, self.source_labels)  # data.label_position: the one rule for numbers
                if index is not None and not 0 <= index < len(self.source_labels):
                    raise DataError(f"{row.where}: label id {index} outside 0..{len(self.source_labels) - 1} "
                                    f"of 'source_labels' in {self.path}")
                cell = self.source_labels[index] if index is not None else cell
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
        if self.neutral is not None and self.no_emotion and set(names) <= self.no_emotion:
            return self.neutral, "counted"
        if any(name in self.excluded for name in names):
            return None, "has an excluded label"
        targets = {self.mapping[name] for name in names}
        if len(targets) > 1:
            return None, "maps to several labels"
        return self.model_index[targets.pop()], "counted"


# ---- several corpora: train.py --corpus ----

CORPUS_KEYS = ("name", "train", "validation", "test", "mapping", "proportion", "holdout")
DEFAULT_HOLDOUT = 0.1


@dataclass
class Corpus:
    """One labelled corpus of a multi-corpus run (train.py --corpus "name=...,train=...,mapping=...,..." or a
    recipe's mapping of the same keys): its sources (sources.Source: a path, a pinned URL, a Hub split), its mapping
    file, its share of each epoch (None: its share of the training rows) and, for a corpus without a validation
    file, the share of its training texts held out for validation by hash (`holdout_split`).

    In a recipe a source may be {"source": <public source>, "local": <path under --corpus_dir>}: the public source
    is read unless --corpus_dir is given, then the local copy (a pinned URL's sha256 is checked on the copy too)."""

    name: str
    train: Source
    mapping: Path
    validation: Source | None = None
    test: Source | None = None
    proportion: float | None = None
    holdout: float = DEFAULT_HOLDOUT
    published: str | None = None  # the training split's public source, also when a local copy is read (the card)

    @classmethod
    def parse(cls, value, corpus_dir=None) -> "Corpus":
        """'name=goemotions,train=a.tsv,validation=b.tsv,test=c.tsv,mapping=m.json,proportion=0.3' (or a recipe's
        mapping with those keys) -> Corpus."""
        published = None
        if isinstance(value, dict):
            settings, shown = dict(value), f"{value.get('name', value)}"
            train = settings.get("train")
            published = str(train["source"]) if isinstance(train, dict) and "source" in train else None
            unknown = [key for key in settings if key not in CORPUS_KEYS]
            if unknown:
                raise DataError(f"corpus {shown}: unknown key(s) {unknown}; expected some of {list(CORPUS_KEYS)}")
            settings = {key: local_choice(setting, corpus_dir, f"corpus {shown}: {key}") if key in SOURCE_KEYS
                        else str(setting).strip() for key, setting in settings.items()}
        elif isinstance(value, str):
            settings, shown = {}, repr(value)
            for part in value.split(","):
                key, sep, setting = part.partition("=")
                key = key.strip()
                if not sep or key not in CORPUS_KEYS:
                    raise DataError(f"--corpus {value!r}: expected key=value pairs separated by commas with keys "
                                    f"{list(CORPUS_KEYS)}, got {part!r} (a path holding a comma cannot be given here)")
                if key in settings:
                    raise DataError(f"--corpus {value!r}: {key} given twice")
                settings[key] = setting.strip()
        else:
            raise DataError(f"corpus: expected 'name=...,train=...' or a mapping of those keys, got {value!r:.80}")
        empty = [key for key, setting in settings.items() if setting == ""]
        if empty:
            raise DataError(f"--corpus {shown}: {empty} given empty (an unset shell variable?); give a value or leave "
                            "the key out")
        if "holdout" in settings and settings.get("validation"):
            raise DataError(f"--corpus {shown}: holdout is for a corpus without a validation file, and this one has "
                            f"validation={settings['validation']}; give one or the other")
        missing = [key for key in ("name", "train", "mapping") if not settings.get(key)]
        if settings.get("name") and not settings["name"].replace("_", "").isalnum():
            raise DataError(f"--corpus {shown}: name expected letters, digits and '_' (it names the corpus's "
                            f"metrics, eval_<name>_macro_f1), got {settings['name']!r}")
        if missing:
            raise DataError(f"--corpus {shown}: missing {missing}; name, train and mapping are required")
        numbers = {}
        for key, low, high in (("proportion", 0.0, 1.0), ("holdout", 0.0, 0.5)):
            if key in settings:
                try:
                    numbers[key] = float(settings[key])
                except ValueError:
                    numbers[key] = math.nan
                if not low < numbers[key] <= high:
                    raise DataError(f"--corpus {settings['name']}: {key} expected a number in ({low}, {high}], "
                                    f"got {settings[key]!r}")
        sources = {key: Source.parse(settings[key], f"--corpus {settings['name']} {key}")
                   for key in SOURCE_KEYS if settings.get(key)}
        return cls(name=settings["name"], mapping=Path(settings["mapping"]), **sources, **numbers,
                   published=published or str(sources["train"]))

    def sources(self) -> list[Source]:
        return [source for source in (self.train, self.validation, self.test) if source is not None]

    def files(self) -> list[Path]:
        """The local files it reads (for the output checks): local sources and the mapping file."""
        return [source.path for source in self.sources() if source.path is not None] + [self.mapping]


SOURCE_KEYS = ("train", "validation", "test")


def local_choice(value, corpus_dir, where: str) -> str:
    """A recipe's source: a string, or {"source": public, "local": path under corpus_dir}. With `corpus_dir` the local
    copy (carrying a URL source's sha256, so that the copy is checked), else the public source."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or set(value) - {"source", "local"} or "source" not in value:
        raise DataError(f"{where}: expected a source string or {{source: ..., local: ...}}, got {value!r:.80}")
    if corpus_dir is None or "local" not in value:
        return str(value["source"])
    public = Source.parse(value["source"], where)
    pin = f"{HASH_MARK}{public.sha256}" if public.url else ""
    return f"{Path(corpus_dir) / value['local']}{pin}"


def normalised(text: str) -> str:
    """A text as overlap checks compare it: case-folded, whitespace runs made one space."""
    return " ".join(text.casefold().split())


def holdout_split(texts: list[str], share: float) -> np.ndarray:
    """(N,) bool, True for the rows held out for validation: the first 8 bytes of sha256(normalised text) as an
    integer, modulo 10,000, below share x 10,000. Deterministic, independent of row order and seed, and a text that
    repeats falls on one side only."""
    buckets = [int.from_bytes(hashlib.sha256(normalised(t).encode()).digest()[:8], "big") % 10_000 for t in texts]
    return np.array(buckets) < round(share * 10_000)


def _mapped_rows(corpus: Corpus, mapping: LabelMapping, path: Path, label_names: list[str], limit: int | None,
                 log) -> tuple[list[Row], Counter]:
    """The rows of one file with their model label names; the left-out rows counted by reason."""
    rows = mapping.read(path)
    reasons, kept, seen = Counter(), [], set()
    for row in rows:
        seen.update(mapping.source_names(row))
        index, reason = mapping(row)
        reasons[reason] += 1
        if index is not None:
            kept.append(Row(row.where, row.text, label_names[index]))
    if not kept:
        raise DataError(f"{path}: no rows left after mapping with {mapping.path} (of {len(rows)}: {dict(reasons)}); "
                        "check the mapping file and the model's labels (--class_names)")
    # Labels by name: a mapped or excluded label the training file never has is a typo (with ids, `source_labels`
    # states the corpus's labels and LabelMapping checks against it)
    unseen = sorted((set(mapping.mapping) | mapping.excluded) - seen) if mapping.source_labels is None else []
    if path == corpus.train and unseen:
        raise DataError(f"{mapping.path}: names label(s) {unseen} that {path} never has (a typo, or the mapping of "
                        "another corpus?); map or exclude only the corpus's own labels")
    if limit is not None:
        kept = kept[:limit]
    dropped = {reason: n for reason, n in reasons.items() if reason != "counted"}
    log(f"corpus {corpus.name}: {path}: {reasons['counted']} of {len(rows)} rows map to one label"
        + (f"; left out: {dropped}" if dropped else "") + (f"; first {limit} kept" if limit is not None else ""))
    return kept, reasons


def load_corpora(corpora: list[Corpus], label_names: list[str], drop_test_overlap: bool, log=print,
                 limits: dict | None = None, others: list | None = None) -> dict:
    """Read, map and check every corpus. Returns {split: {corpus name: columns}} for train / validation / test,
    validation either the corpus's file or `holdout_split` of its training rows. A training or validation text that is
    also in another corpus's test split (or `others`' test split: rated texts) is an error naming both files, unless
    `drop_test_overlap`, which drops it (counted in the log); `others` (TextSplit) are checked in the same pass, their
    `keep` set. Every model label needs training rows in some corpus."""
    limits = limits or {}
    names = [corpus.name for corpus in corpora]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"--corpus: names {repeated} given more than once; each corpus needs its own name")
    read = {}
    for corpus in corpora:  # one file read twice would train on its test rows, or on its rows twice
        for role, source in (("train", corpus.train), ("validation", corpus.validation), ("test", corpus.test)):
            if source is None:
                continue
            key = str(Path(os.path.realpath(source.path))) if source.path is not None else source.spec.split("#")[0]
            if key in read:
                raise DataError(f"--corpus: {source} is given as {read[key]} and as corpus {corpus.name!r}'s {role}; "
                                "each file is one split of one corpus")
            read[key] = f"corpus {corpus.name!r}'s {role}"
    try:  # before any row is read: `mean_source`, or `x` beside `x_own_labels`, would overwrite metrics
        check_source_names(names)
    except ValueError as error:
        raise DataError(f"--corpus: {str(error).removeprefix('cmhl_metric: ')}") from None
    given = [corpus.proportion is not None for corpus in corpora]
    if any(given) and not all(given):
        raise DataError("--corpus: give a proportion for every corpus or for none (then each corpus's share is its "
                        "share of the training rows)")
    if all(given) and abs(sum(corpus.proportion for corpus in corpora) - 1) > 1e-6:
        raise DataError(f"--corpus: the proportions {[c.proportion for c in corpora]} must add up to 1")
    rows = {split: {} for split in SPLITS}
    for corpus in corpora:
        mapping = LabelMapping(corpus.mapping, label_names)
        train, _ = _mapped_rows(corpus, mapping, corpus.train, label_names, limits.get("train"), log)
        if corpus.validation is not None:
            rows["validation"][corpus.name], _ = _mapped_rows(corpus, mapping, corpus.validation, label_names,
                                                              limits.get("validation"), log)
        else:
            held = holdout_split([str(row.text) for row in train], corpus.holdout)
            rows["validation"][corpus.name] = [row for row, out in zip(train, held) if out]
            train = [row for row, out in zip(train, held) if not out]
            log(f"corpus {corpus.name}: no validation file; {int(held.sum())} training rows held out by hash "
                f"(share {corpus.holdout}, corpora.holdout_split)")
            if not rows["validation"][corpus.name] or not train:
                raise DataError(f"{corpus.train}: the hash split (holdout {corpus.holdout}) leaves no "
                                f"{'validation' if train else 'training'} rows; give a validation file")
        rows["train"][corpus.name] = train
        if corpus.test is not None:
            rows["test"][corpus.name], _ = _mapped_rows(corpus, mapping, corpus.test, label_names,
                                                        limits.get("test"), log)
    _check_test_overlap(corpora, rows, drop_test_overlap, log, others or [])
    columns = {split: {name: check_rows(split_rows, label_names, f"corpus {name} ({split})")[0]
                       for name, split_rows in by_name.items()} for split, by_name in rows.items()}
    trained = set().union(*(set(c["label"]) for c in columns["train"].values()))
    absent = [name for i, name in enumerate(label_names) if i not in trained]
    if absent:
        raise DataError(f"--corpus: no training row of label(s) {absent} in any corpus; every label needs training "
                        "data (map a corpus's labels onto it, or leave it out of --class_names)")
    return columns


@dataclass
class TextSplit:
    """One split of one source of texts, for `check_test_overlap`: `group` is the corpus or file set it belongs to (a
    group's own splits are its business: MELD's official ones share lines), `source` names it in messages. After
    `check_test_overlap`, `keep` is the (N,) mask of the texts that stay (training and validation splits)."""

    group: str
    split: str
    source: str
    texts: list
    keep: np.ndarray | None = None


def check_test_overlap(splits: list[TextSplit], drop: bool, log) -> None:
    """The one check of every text that trains or validates (corpora, `--train_file`, rated texts, words) against
    every other group's test split (texts compared normalised): an error naming both files, or with `drop` (--drop_
    test_overlap) the text is left out and counted. Sets each training and validation split's `keep`."""
    tests = [s for s in splits if s.split == "test"]
    test_texts = [{normalised(str(t)) for t in s.texts} for s in tests]
    for split in splits:
        if split.split == "test":
            continue
        keep = np.ones(len(split.texts), dtype=bool)
        for test, texts in zip(tests, test_texts):
            if test.group == split.group:
                continue
            shared = np.array([normalised(str(t)) in texts for t in split.texts], dtype=bool) & keep
            if not shared.any():
                continue
            example = split.texts[int(np.flatnonzero(shared)[0])]
            if not drop:
                raise DataError(f"{split.source}: {int(shared.sum())} {split.split} text(s) of {split.group} are also "
                                f"in the test split of {test.group} ({test.source}), e.g. {str(example)!r:.60}; a test "
                                "split must be unseen: give --drop_test_overlap to leave them out of training and "
                                "validation (counted in the log)")
            keep &= ~shared
            log(f"{split.group}: {int(shared.sum())} {split.split} text(s) are in {test.group}'s test split; left out "
                "(--drop_test_overlap)")
        split.keep = keep


def _check_test_overlap(corpora: list[Corpus], rows: dict, drop: bool, log, others: list[TextSplit]) -> None:
    """`check_test_overlap` over the corpora's rows and `others` (rated texts, words); the corpora's rows left out go."""
    by_name = {corpus.name: corpus for corpus in corpora}
    splits = []
    for split, by_corpus in rows.items():
        for name, split_rows in by_corpus.items():
            corpus = by_name[name]
            source = corpus.test if split == "test" else corpus.validation if split == "validation" and \
                corpus.validation is not None else corpus.train
            splits.append(TextSplit(f"corpus {name}", split, str(source), [row.text for row in split_rows]))
    check_test_overlap(splits + list(others), drop, log)
    for split in splits:
        if split.keep is not None:
            name = split.group.removeprefix("corpus ")
            rows[split.split][name] = [row for row, kept in zip(rows[split.split][name], split.keep) if kept]


def epoch_counts(shares: dict[str, float], size: int) -> dict[str, int]:
    """Rows of each corpus in an epoch of `size`: floor(share x size) each, the rows left over one each to the largest
    remainders (ties in corpus order), so that the counts add up to `size` exactly (largest remainder)."""
    exact = {name: share * size for name, share in shares.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    left = size - sum(counts.values())
    for name in sorted(exact, key=lambda n: -(exact[n] - counts[n]))[:max(left, 0)]:
        counts[name] += 1
    return counts


def epoch_mix(train: dict[str, datasets.Dataset], corpora: list[Corpus], epoch_size: int | None, seed: int,
              log=print, label_names: list[str] | None = None) -> datasets.Dataset:
    """One epoch's training rows: `epoch_counts` rows of each corpus (data.draw: without replacement while a corpus
    has enough, seeded), concatenated; Trainer's sampler shuffles them. The draw is made once per run, and every
    epoch repeats it. Without proportions each corpus keeps its share of the training rows; without `epoch_size`
    the epoch is every training row of every corpus. Checked on the rows drawn, the ones that train: a corpus
    given a share gets at least one row, and every one of `label_names` has rows."""
    total = sum(len(dataset) for dataset in train.values())
    size = epoch_size or total
    shares = {c.name: c.proportion if c.proportion is not None else len(train[c.name]) / total for c in corpora}
    counts = epoch_counts(shares, size)
    if epoch_size is None and all(c.proportion is None for c in corpora):
        counts = {name: len(dataset) for name, dataset in train.items()}  # every row once, exactly
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        raise DataError(f"--epoch_size {size}: corpus {empty} would get no row of the epoch (share "
                        f"{[shares[n] for n in empty]}); raise --epoch_size or the corpus's proportion, or leave it out")
    generator = np.random.default_rng(seed)
    parts = [draw(train[name], count, generator) for name, count in counts.items()]
    log("training epoch: " + ", ".join(f"{name} {count} rows ({count / max(len(train[name]), 1):.2f}x its "
                                       f"{len(train[name])})" for name, count in counts.items()))
    epoch = datasets.concatenate_datasets(parts)
    if label_names is not None:
        drawn = set(epoch["labels"]) if "labels" in epoch.column_names else set(epoch["label"])
        absent = [name for i, name in enumerate(label_names) if i not in drawn]
        if absent:
            raise DataError(f"--epoch_size {size}: the epoch drawn has no row of label(s) {absent} (the corpora that "
                            "have them get too few rows); raise --epoch_size or their proportions")
    return epoch


def corpus_datasets(columns: dict) -> dict:
    """{split: {name: columns}} -> {split: one Dataset of the corpora in order, each row's corpus index (in the order
    of the names) in `source_ids`}; training rows stay per corpus ({name: Dataset}) for `epoch_mix`."""
    result = {}
    for split, by_name in columns.items():
        parts = {name: with_source(to_dataset(c), index) for index, (name, c) in enumerate(by_name.items())}
        result[split] = parts if split == "train" else datasets.concatenate_datasets(list(parts.values())) if parts \
            else None
    return {split: value for split, value in result.items() if value is not None}
