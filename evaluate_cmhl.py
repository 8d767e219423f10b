"""Evaluate a CMHL checkpoint on another corpus whose labels map onto the model's (cross-domain evaluation).

    python evaluate_cmhl.py --model_name_or_path runs/cmhl --test_file ../shared/data/goemotions/test.tsv \
        --column_names text,label,id --label_mapping mappings/goemotions_to_dair_emotion.json \
        --output_dir runs/cmhl/goemotions

Input: any labelled file `train.py` reads (.txt `text;label`, .csv/.tsv with a header, .jsonl, .parquet), or
a header-less .csv/.tsv whose columns `--column_names` names (GoEmotions). The mapping file (JSON) says how
the corpus's labels become the model's:

    {"mapping": {"annoyance": "anger", ...},      # corpus label -> model label
     "excluded": ["neutral", ...],                # corpus labels with no counterpart
     "source_labels": ["admiration", ...],        # optional: label ids -> names, for files labelled by ids
     "separator": ",",                            # optional: multi-label cells ("3,15")
     "no_emotion": ["neutral"]}                   # optional: excluded labels that mean "no clear emotion"

A text counts when every one of its labels is mapped and they all map to one model label. Reported over
the counted texts: accuracy, macro F1, weighted F1, F1 per label, expected calibration error, contradiction
rate and valence agreement (and the contradiction rate over every text, which needs no label), with how
many texts were counted and why the others were not. With "no_emotion" labels: how well each no-emotion score
tells the texts labelled with them alone from the counted texts (AUROC; F1 at the checkpoint's threshold). Written to `--output_dir`: `cross_domain_results.json`
and the four figures of `plots.write_figures`. An unknown label stops the run naming file, line and label.
"""

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from data import (DataError, Row, check_header, delimited_records, positive_int, read_file, refuse_overwrite,
                  run_tool)
from metrics import (classification_metrics, contradiction_rate, detection_metrics, expected_calibration_error,
                     valence_agreement)
import plots
from plots import write_figures
from predict import Predictor
from saves import holds_save


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
        try:
            spec = json.loads(Path(path).read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"{path}: expected a UTF-8 JSON mapping file ({error})") from None
        if not isinstance(spec, dict):
            raise DataError(f"{path}: expected a JSON object with 'mapping' (see evaluate_cmhl.py), got "
                            f"{type(spec).__name__}")
        self.path, self.mapping = path, spec.get("mapping")
        self.excluded = set(spec.get("excluded", []))
        self.source_labels = spec.get("source_labels")
        self.separator = spec.get("separator")
        self.no_emotion = set(spec.get("no_emotion", []))
        if not isinstance(self.mapping, dict) or not self.mapping:
            raise DataError(f"{path}: expected a non-empty object under 'mapping'")
        for key, expected in (("excluded", list), ("source_labels", (list, type(None))), ("separator", (str, type(None))),
                              ("no_emotion", list)):
            if not isinstance(spec.get(key, [] if key in ("excluded", "no_emotion") else None), expected):
                raise DataError(f"{path}: '{key}' must be {'a list' if key != 'separator' else 'a string'}, got "
                                f"{spec[key]!r}")
        if not self.no_emotion <= self.excluded:
            raise DataError(f"{path}: 'no_emotion' labels {sorted(self.no_emotion - self.excluded)} must also be "
                            "'excluded' (they have no emotion label of the model)")
        wrong = sorted({v for v in self.mapping.values() if v not in model_labels})
        if wrong:
            raise DataError(f"{path}: mapping targets {wrong} are not labels of the model {model_labels}")
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


def evaluate(predictor: Predictor, rows: list[Row], mapping: LabelMapping, batch_size: int = 64) -> dict:
    """Predict every row; metrics over the counted rows. Returns (results, arrays for the figures)."""
    mapped = [mapping(row) for row in rows]
    reasons = Counter(reason for _, reason in mapped)
    outputs = {"probabilities": [], "valence": [], "arousal": [], "intensity": []}
    texts = [str(row.text) for row in rows]
    for start in range(0, len(texts), batch_size):
        result = predictor(texts[start:start + batch_size])
        for key in outputs:
            outputs[key].append(result[key])
    arrays = {key: np.concatenate(value) for key, value in outputs.items()}
    counted = np.array([index is not None for index, _ in mapped])
    labels = np.array([index for index, _ in mapped if index is not None], dtype=np.int64)
    config = predictor.config
    has_circumplex = config.circumplex_coordinates is not None
    pairs = config.incompatible_index_pairs() if has_circumplex or config.incompatible_pairs else []
    kept = {key: value[counted] for key, value in arrays.items()}
    results = {"texts": len(rows), "counted": int(counted.sum()),
               "not_counted": {reason: n for reason, n in reasons.items() if reason != "counted"}}
    if results["counted"] == 0:
        raise DataError("no text maps to exactly one model label: check the mapping file")
    predicted = kept["probabilities"].argmax(axis=1)
    results.update(classification_metrics(predicted, labels, predictor.label_names))
    results["ece"] = expected_calibration_error(kept["probabilities"], labels)[0]
    results["contradiction_rate"] = contradiction_rate(kept["probabilities"], pairs, config.contradiction_threshold)
    results["contradiction_rate_all_texts"] = contradiction_rate(arrays["probabilities"], pairs,
                                                                 config.contradiction_threshold)
    if has_circumplex:
        results["valence_agreement"] = valence_agreement(kept["valence"], predicted,
                                                         np.array(config.circumplex_targets()[0]))
    if mapping.no_emotion:
        results["no_emotion"] = no_emotion_results(predictor, rows, mapping, arrays, counted)
    return results, {**kept, "labels": labels}


def no_emotion_results(predictor: Predictor, rows: list[Row], mapping: LabelMapping, arrays: dict,
                       counted: np.ndarray) -> dict:
    """AUROC of each no-emotion score (no_emotion.method_scores) for the texts of "no_emotion" labels alone against
    the counted texts; for the checkpoint's own score, also precision, recall and F1 at its threshold."""
    from no_emotion import method_scores

    neutral = np.array([mapping.is_no_emotion(row) for row in rows])
    used = neutral | counted
    if not neutral.any():
        return {"texts": 0}
    intensity = arrays["intensity"] if "intensity" in predictor.dimensions else np.full(len(rows), np.nan)
    config = predictor.config
    scores = method_scores(arrays["probabilities"][used], intensity[used], config.no_emotion_mix)
    results = {name: detection_metrics(values, neutral[used]) for name, values in scores.items() if name != "mixed"}
    results["checkpoint"] = {"no_emotion_mix": config.no_emotion_mix,
                             **detection_metrics(scores["mixed"], neutral[used], config.no_emotion_threshold)}
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True, help="CMHL checkpoint folder or Hub id")
    parser.add_argument("--test_file", required=True, type=Path)
    parser.add_argument("--label_mapping", required=True, type=Path, help="JSON mapping file (see above)")
    parser.add_argument("--column_names", help="comma-separated column names of a header-less .csv/.tsv")
    parser.add_argument("--output_dir", required=True, type=Path)
    parser.add_argument("--max_samples", type=positive_int, help="evaluate the first N texts only")
    parser.add_argument("--max_length", type=positive_int, default=128, help="tokens per text")
    parser.add_argument("--batch_size", type=positive_int, default=64)
    parser.add_argument("--max_batch_tokens", type=positive_int, default=1024,
                        help="padded tokens per batch, at most (predict.py; raise it on a GPU)")
    parser.add_argument("--overwrite_output_dir", action="store_true",
                        help="replace the results and figures of an earlier evaluation in --output_dir")
    args = parser.parse_args(argv)
    refuse_overwrite([args.output_dir, args.output_dir / "cross_domain_results.json", *plots.figure_paths(args.output_dir)],
                     [args.test_file, args.label_mapping, args.model_name_or_path])
    if holds_save(args.output_dir, args.model_name_or_path):  # its card links the figures this would replace
        raise DataError(f"--output_dir {args.output_dir}: holds a checkpoint (the one read, or a run's); write the "
                        f"evaluation into a folder of its own (e.g. {args.output_dir / 'cross_domain'})")
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise DataError(f"--output_dir {args.output_dir}: is a file; expected a folder")
    earlier = [p.name for p in (args.output_dir / "cross_domain_results.json", *plots.figure_paths(args.output_dir))
               if p.exists()]
    if earlier and not args.overwrite_output_dir:
        raise DataError(f"--output_dir {args.output_dir}: holds an earlier evaluation ({earlier[:3]}); give a new "
                        "folder, or --overwrite_output_dir to replace it")
    rows = read_rows(args.test_file, args.column_names.split(",") if args.column_names else None)
    if args.max_samples:
        rows = rows[:args.max_samples]
    predictor = Predictor(args.model_name_or_path, max_length=args.max_length, batch_size=args.batch_size,
                          max_batch_tokens=args.max_batch_tokens)
    mapping = LabelMapping(args.label_mapping, predictor.label_names)
    results, arrays = evaluate(predictor, rows, mapping, args.batch_size)
    results.update(model=args.model_name_or_path, test_file=str(args.test_file), label_mapping=str(args.label_mapping))
    figures = write_figures(args.output_dir, arrays["probabilities"], arrays["valence"], arrays["arousal"],
                            arrays["labels"], predictor.config, args.test_file.name)
    results["figures"] = {key: path.name for key, path in figures.items()}
    (args.output_dir / "cross_domain_results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    run_tool(main)
