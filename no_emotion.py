"""Teach a CMHL checkpoint to say "no clear emotion": choose its no-emotion score and threshold on a validation
file that has neutral texts, and write the calibrated checkpoint (weights unchanged) to a new folder.

    python no_emotion.py --model_name_or_path runs/cmhl --validation_file ../shared/data/goemotions/dev.tsv \
        --column_names text,label,id --label_mapping mappings/goemotions_to_dair_emotion.json \
        --output_dir runs/cmhl-calibrated

The mapping file is evaluate_cmhl.py's; its "no_emotion" labels (GoEmotions: neutral) mark the positives: texts
whose every label is one of them. The negatives are the texts that map to exactly one of the model's labels; the
rest are left out and counted. The score is modeling_cmhl.no_emotion_score, w * (1 - max p) + (1 - w) *
(1 - intensity): w is chosen on this file by AUROC over 0, 0.05, ..., 1 (ties to the larger w; only w = 1 when the
valence / arousal heads are untrained), then the threshold of best F1 for the neutral class. Written to
--output_dir: the checkpoint with `no_emotion_mix` and `no_emotion_threshold` set, its card with a section on the
flag, and `no_emotion_calibration.json` (the choice, AUROC per w, and the baselines). Never a test split: the
numbers to report come from evaluate_cmhl.py or benchmarks/no_clear_emotion.py on test, once.
"""

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import torch

import entry
from data import DataError, positive_int
from configuration_cmhl import NEUTRAL_LABEL, CMHLConfig
from corpora import LabelMapping, read_corpus_file
from metrics import best_f1_threshold, detection_metrics
from model_card import no_emotion_section
from modeling_cmhl import CMHLForSequenceClassification, no_emotion_score
from outputs import Output, write_json, write_text
from predict import Predictor
from saves import check_save, load_tokenizer, write_manifest

MIX_GRID = tuple(i / 20 for i in range(21))  # w = 0, 0.05, ..., 1
CALIBRATION_FILE = "no_emotion_calibration.json"


def detection_rows(rows, mapping: LabelMapping, source="the file") -> tuple[list[str], np.ndarray, dict]:
    """(texts, positive (N,) bool, why the other rows were left out): positives are rows of "no_emotion" labels only,
    negatives rows that map to exactly one model label."""
    texts, positive, left_out = [], [], Counter()
    for row in rows:
        if mapping.is_no_emotion(row):
            texts.append(str(row.text))
            positive.append(True)
            continue
        index, reason = mapping(row)
        if index is None:
            left_out[reason] += 1
        else:
            texts.append(str(row.text))
            positive.append(False)
    if not any(positive) or all(positive):
        raise DataError(f"{source}: calibration needs texts labelled only with {sorted(mapping.no_emotion)} (the "
                        f"'no_emotion' labels of {mapping.path}) and texts that map to one model label; the file has "
                        f"{sum(positive)} and {len(positive) - sum(positive)}")
    return texts, np.array(positive), dict(left_out)


def method_scores(probabilities: np.ndarray, intensity: np.ndarray, mix: float | None = None,
                  neutral_index: int | None = None) -> dict:
    """Every no-emotion score (N,), higher = less emotion: "max_probability" 1 - max p (Hendrycks & Gimpel 2017),
    "entropy" H(p) / log L, "intensity" 1 - intensity, for a model with a `neutral` label "neutral_probability"
    p_neutral, and with `mix` "mixed" (no_emotion_score at w = mix).   probabilities: (N, L), intensity: (N,)"""
    p = np.clip(probabilities, 1e-12, 1.0)
    scores = {"max_probability": 1 - probabilities.max(axis=1),
              "entropy": -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])}
    if neutral_index is not None:
        scores["neutral_probability"] = probabilities[:, neutral_index]
    if np.isfinite(intensity).all():
        scores["intensity"] = 1 - intensity
    if mix is not None:
        scores["mixed"] = mixed_score(probabilities, intensity, mix, neutral_index)
    return scores


def mixed_score(probabilities: np.ndarray, intensity: np.ndarray, mix: float,
                neutral_index: int | None = None) -> np.ndarray:
    """modeling_cmhl.no_emotion_score on arrays: the model's own formula, one place.   -> (N,)"""
    return no_emotion_score(torch.from_numpy(probabilities), torch.from_numpy(np.asarray(intensity)), mix,
                            neutral_index).numpy()


def choose(probabilities: np.ndarray, intensity: np.ndarray, positive: np.ndarray, heads_trained: bool,
           neutral_index: int | None = None) -> dict:
    """The mix w with the best AUROC (ties to the larger w) and the threshold of best F1 at it; with the AUROC of
    every w tried and each baseline's own numbers at its own best-F1 threshold."""
    grid = MIX_GRID if heads_trained else (1.0,)
    auroc = {w: detection_metrics(mixed_score(probabilities, intensity, w, neutral_index), positive)["auroc"]
             for w in grid}
    mix = max(grid, key=lambda w: (round(auroc[w], 6), w))
    scores = mixed_score(probabilities, intensity, mix, neutral_index)
    threshold = best_f1_threshold(scores, positive)
    baselines = {}
    for name, values in method_scores(probabilities, intensity, neutral_index=neutral_index).items():
        baselines[name] = detection_metrics(values, positive, best_f1_threshold(values, positive))
    return {"no_emotion_mix": mix, "no_emotion_threshold": threshold,
            "chosen": detection_metrics(scores, positive, threshold),
            "auroc_by_mix": {f"{w:.2f}": round(a, 4) for w, a in auroc.items()}, "methods": baselines}


def score(predictor: Predictor, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, L), intensity (N,)) of the texts; intensity NaN when the heads are untrained."""
    result = predictor(texts)
    intensity = result["intensity"] if "intensity" in predictor.dimensions else np.full(len(texts), np.nan, np.float32)
    return result["probabilities"], intensity


def earlier_calibration(folder: Path) -> str | None:
    """Why `folder` may not be replaced by a new calibration (None: it holds an earlier calibrated checkpoint)."""
    if not (folder / CALIBRATION_FILE).is_file():
        return f"it holds no earlier calibration ({CALIBRATION_FILE}); give a new folder"
    return None


def write_calibrated(model_name_or_path: str, staging: Path, calibration: dict) -> Path:
    """The checkpoint with the chosen fields, saved whole (code, config, weights, tokenizer, manifest), its card
    (and figures) copied with its no-emotion section replaced by this calibration's, and the calibration record,
    written into `staging` (outputs.Output renames it into place when whole)."""
    model = CMHLForSequenceClassification.from_pretrained(model_name_or_path, dtype=torch.float32)
    model.config.no_emotion_mix = calibration["no_emotion_mix"]
    model.config.no_emotion_threshold = calibration["no_emotion_threshold"]
    model.config.check()
    model.save_pretrained(staging)
    load_tokenizer(model_name_or_path).save_pretrained(staging)
    source = Path(model_name_or_path)
    if source.is_dir():
        for figure in source.glob("*.png"):
            shutil.copyfile(figure, staging / figure.name)
        card = source / "README.md"
        text = card.read_text(encoding="utf-8") if card.is_file() else f"# {source.name}\n"
        write_text(staging / "README.md", replace_section(text, no_emotion_section(model.config, calibration)))
    write_json(staging / CALIBRATION_FILE, calibration)
    write_manifest(staging)
    return staging


def replace_section(card: str, section: str) -> str:
    """The card with `section` (a markdown section starting with its '## ' heading) in place of a section of the same
    heading, or appended: a re-calibrated checkpoint's card states one threshold, the new one."""
    heading = section.lstrip().splitlines()[0]
    if heading in card:
        before, after = card.split(heading, 1)
        rest = after.split("\n## ", 1)
        card = before.rstrip() + ("\n\n## " + rest[1] if len(rest) > 1 else "")
    return card.rstrip() + "\n\n" + section


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True, help="CMHL checkpoint folder or Hub id")
    parser.add_argument("--validation_file", required=True, type=Path, help="labelled texts, neutral ones among them")
    parser.add_argument("--label_mapping", required=True, type=Path, help="evaluate_cmhl.py's mapping, with 'no_emotion'")
    parser.add_argument("--column_names", help="comma-separated column names of a header-less .csv/.tsv")
    parser.add_argument("--output_dir", required=True, type=Path, help="new folder for the calibrated checkpoint")
    parser.add_argument("--max_samples", type=positive_int, help="use the first N texts of the file only")
    parser.add_argument("--batch_size", type=positive_int, default=64)
    parser.add_argument("--overwrite_output_dir", action="store_true",
                        help="replace an earlier calibration in --output_dir")
    args = parser.parse_args(argv)
    output = Output(args.output_dir, "folder", flag="--output_dir", overwrite=args.overwrite_output_dir,
                    inputs=[args.validation_file, args.label_mapping, args.model_name_or_path],
                    replaceable=earlier_calibration, tool="another no_emotion.py")
    check_save(args.model_name_or_path)
    labels = CMHLConfig.from_pretrained(args.model_name_or_path).label_names
    if NEUTRAL_LABEL in labels:
        raise DataError(f"--model_name_or_path {args.model_name_or_path}: the model has its own {NEUTRAL_LABEL!r} label "
                        f"({labels}); its no-emotion flag is {NEUTRAL_LABEL!r} on top, with no calibration (README, "
                        "'No clear emotion'). no_emotion.py calibrates models without that label")
    with output:  # locked now; the calibrated checkpoint is staged whole and renamed into place at the end
        mapping = LabelMapping(args.label_mapping, labels)
        if not mapping.no_emotion:
            raise DataError(f"{args.label_mapping}: names no 'no_emotion' labels (e.g. \"no_emotion\": [\"neutral\"]); "
                            "the validation file needs texts marked as having no emotion")
        # the mapping's reader settings, as evaluate_cmhl.py and train.py read the file; every line before the model
        rows = read_corpus_file(args.validation_file, args.label_mapping,
                                args.column_names.split(",") if args.column_names else None)
        rows = rows[:args.max_samples] if args.max_samples else rows
        texts, positive, left_out = detection_rows(rows, mapping, args.validation_file)
        predictor = Predictor(args.model_name_or_path, batch_size=args.batch_size)
        probabilities, intensity = score(predictor, texts)
        calibration = choose(probabilities, intensity, positive, heads_trained="intensity" in predictor.dimensions,
                             neutral_index=predictor.config.neutral_index)
        calibration.update(model=args.model_name_or_path, validation_file=str(args.validation_file),
                           label_mapping=str(args.label_mapping), left_out=left_out)
        write_calibrated(args.model_name_or_path, output.staging, calibration)
    print(json.dumps({k: calibration[k] for k in ("no_emotion_mix", "no_emotion_threshold", "chosen")}, indent=2))
    return calibration


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted="nothing was written (the calibrated checkpoint is written whole at the "
              "end); run the same command again", writing=lambda: entry.flag_value(argv, "--output_dir"))


if __name__ == "__main__":
    cli()
