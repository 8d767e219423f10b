"""Evaluate a CMHL checkpoint on another corpus whose labels map onto the model's (cross-domain evaluation).

    python evaluate_cmhl.py --model_name_or_path runs/cmhl --test_file ../shared/data/goemotions/test.tsv \
        --column_names text,label,id --label_mapping mappings/goemotions_to_dair_emotion.json \
        --output_dir runs/cmhl/goemotions

Input: any labelled file `train.py` reads (.txt `text;label`, .csv/.tsv with a header, .jsonl, .parquet), or
a header-less .csv/.tsv whose columns `--column_names` names (GoEmotions), or as the mapping file's "reader" says
(corpora.py: GoEmotions' columns, MELD's Utterance and Emotion). The mapping file (JSON) says how
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

import entry
from corpora import LabelMapping, read_corpus_file
from data import DataError, Row, positive_int
from metrics import (classification_metrics, contradiction_rate, detection_metrics, expected_calibration_error,
                     load_cmhl_metric, source_metrics, valence_agreement)
from outputs import Output, write_json
from plots import write_figures
from predict import Predictor


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
    # cmhl_metric (the evaluate module): the same overall numbers, and "corpus_own_labels_*", the argmax over the
    # labels this corpus has (six-way on a corpus without `neutral`), "corpus_neutral_auroc" for a neutral class
    results.update(source_metrics(load_cmhl_metric(), kept["probabilities"], labels, ["corpus"] * len(labels), config))
    results["ece"] = expected_calibration_error(kept["probabilities"], labels)[0]
    results["contradiction_rate_all_texts"] = contradiction_rate(arrays["probabilities"], pairs,
                                                                 config.contradiction_threshold)
    if has_circumplex and config.head_is_trained("valence"):  # an untrained head's sign says nothing
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
    scores = method_scores(arrays["probabilities"][used], intensity[used], config.no_emotion_mix, config.neutral_index)
    results = {name: detection_metrics(values, neutral[used]) for name, values in scores.items() if name != "mixed"}
    results["checkpoint"] = {"no_emotion_mix": config.no_emotion_mix,
                             **detection_metrics(scores["mixed"], neutral[used], config.no_emotion_threshold)}
    return results


RESULTS_FILE = "cross_domain_results.json"


def earlier_evaluation(folder: Path) -> str | None:
    """Why `folder` may not be replaced by a new evaluation (None: it holds only an earlier one)."""
    if not (folder / RESULTS_FILE).is_file():
        return f"it holds no earlier evaluation ({RESULTS_FILE}); give a new folder"
    if any(folder.glob("*.safetensors")) or any(folder.glob("*.onnx")):
        return "it holds a model; write the evaluation into a folder of its own"
    return None


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
    output = Output(args.output_dir, "folder", flag="--output_dir", overwrite=args.overwrite_output_dir,
                    inputs=[args.test_file, args.label_mapping, args.model_name_or_path],
                    replaceable=earlier_evaluation, tool="another evaluate_cmhl.py")
    with output:  # locked now; the results go into a staging folder, renamed into place at the end
        # every line read and checked before a model loads: as the mapping's "reader" says, or --column_names
        rows = read_corpus_file(args.test_file, args.label_mapping,
                                args.column_names.split(",") if args.column_names else None)
        if args.max_samples:
            rows = rows[:args.max_samples]
        predictor = Predictor(args.model_name_or_path, max_length=args.max_length, batch_size=args.batch_size,
                              max_batch_tokens=args.max_batch_tokens)
        mapping = LabelMapping(args.label_mapping, predictor.label_names)
        results, arrays = evaluate(predictor, rows, mapping, args.batch_size)
        results.update(model=args.model_name_or_path, test_file=str(args.test_file),
                       label_mapping=str(args.label_mapping))
        figures = write_figures(output.staging, arrays["probabilities"], arrays["valence"], arrays["arousal"],
                                arrays["labels"], predictor.config, args.test_file.name)
        results["figures"] = {key: path.name for key, path in figures.items()}
        write_json(output.staging / RESULTS_FILE, results)
    print(json.dumps(results, indent=2))
    return results


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted="nothing was written (the results are written whole at the end); run the "
              "same command again", writing=lambda: entry.flag_value(argv, "--output_dir"))


if __name__ == "__main__":
    cli()
