"""No clear emotion: how well does each score tell GoEmotions' neutral comments from emotional ones (issue 29)?

For each checkpoint given: GoEmotions dev and test are scored once (comments labelled `neutral` alone against
comments whose labels map to one of the six emotions, mappings/goemotions_to_dair_emotion.json), and dair-ai
validation (six-way emotional texts). Each score of no_emotion.method_scores gets its threshold on dev (best F1 for
the neutral class), and "mixed" also its w (no_emotion.choose, the rule no_emotion.py applies); then test is read
once: AUROC, and precision / recall / F1 at the dev threshold; and the share of dair-ai validation texts flagged
(emotional texts called "no clear emotion"). The six-way predictions are untouched: the flag is read beside them.
Results: `benchmarks/results/no_emotion/<checkpoint folder>.json`; `--report --markdown BENCHMARKS.md` writes
the table between the `no-emotion` markers.

    python benchmarks/no_clear_emotion.py runs/quality/noemotion-e4-lr1e-4-cmhl_emobank_lexicon-seed42
    python benchmarks/no_clear_emotion.py --report --markdown BENCHMARKS.md
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from evaluate_cmhl import LabelMapping, read_rows  # noqa: E402
from metrics import best_f1_threshold, detection_metrics  # noqa: E402
from no_emotion import choose, detection_rows, method_scores, score  # noqa: E402
from predict import Predictor  # noqa: E402
from quality import portable, write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

GOEMOTIONS = REPO.parent / "shared" / "data" / "goemotions"
DAIR_AI_VALIDATION = REPO.parent / "shared" / "data" / "emotion" / "validation.txt"
MAPPING = REPO / "mappings" / "goemotions_to_dair_emotion.json"
METHODS = ("max_probability", "entropy", "intensity", "mixed")


def split(predictor: Predictor, path: Path, mapping: LabelMapping):
    texts, positive, left_out = detection_rows(read_rows(path, ["text", "label", "id"]), mapping)
    probabilities, intensity = score(predictor, texts)
    return probabilities, intensity, positive, left_out


def study(checkpoint: Path) -> dict:
    """Dev-chosen thresholds (and w), test read once, dair-ai validation flag rates."""
    predictor = Predictor(str(checkpoint))
    mapping = LabelMapping(MAPPING, predictor.label_names)
    start = time.time()
    dev_p, dev_i, dev_pos, dev_out = split(predictor, GOEMOTIONS / "dev.tsv", mapping)
    test_p, test_i, test_pos, test_out = split(predictor, GOEMOTIONS / "test.tsv", mapping)
    dair_p, dair_i = score(predictor, [str(row.text) for row in read_rows(DAIR_AI_VALIDATION, None)])
    seconds = time.time() - start
    trained = "intensity" in predictor.dimensions
    chosen = choose(dev_p, dev_i, dev_pos, heads_trained=trained)
    mix = chosen["no_emotion_mix"]
    dev_scores = method_scores(dev_p, dev_i, mix)
    test_scores = method_scores(test_p, test_i, mix)
    dair_scores = method_scores(dair_p, dair_i, mix)
    methods = {}
    for name in METHODS:
        if name not in dev_scores:
            continue
        threshold = best_f1_threshold(dev_scores[name], dev_pos)
        methods[name] = {"dev": detection_metrics(dev_scores[name], dev_pos, threshold),
                         "test": detection_metrics(test_scores[name], test_pos, threshold),
                         "dair_ai_validation_flagged": float((dair_scores[name] >= threshold).mean())}
    return {"checkpoint": checkpoint.name, "no_emotion_mix": mix, "auroc_by_mix_dev": chosen["auroc_by_mix"],
            "dev_readout_ceiling_auroc": readout_ceiling(dev_p, dev_i, dev_pos),
            "left_out": {"dev": dev_out, "test": test_out}, "scoring_seconds": round(seconds, 1),
            "methods": methods}


def readout_ceiling(probabilities: np.ndarray, intensity: np.ndarray, positive: np.ndarray) -> float:
    """Diagnostic, dev only: the AUROC of a logistic regression over all the checkpoint's emotion outputs (the L
    log-probabilities) and its intensity, 5-fold cross-validated on dev: how far any read-out of this model's
    outputs could go. Not a method offered (it is fitted and scored on dev)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    features = [np.log(np.clip(probabilities, 1e-9, 1.0))]  # (N, L)
    if np.isfinite(intensity).all():
        features.append(intensity[:, None])  # (N, 1)
    scores = cross_val_score(LogisticRegression(max_iter=2000), np.hstack(features), positive, cv=5, scoring="roc_auc")
    return float(scores.mean())


def report(results_dir: Path) -> str:
    records = [json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))]
    lines = ["| checkpoint | score | w | dev AUROC | test AUROC | test F1 / precision / recall (dev threshold) | "
             "dair-ai validation flagged |", "|---|---|---|---|---|---|---|"]
    for record in records:
        for name, m in record["methods"].items():
            t = m["test"]
            w = f"{record['no_emotion_mix']:.2f}" if name == "mixed" else ""
            lines.append(f"| {record['checkpoint']} | {name} | {w} | {m['dev']['auroc']:.3f} | {t['auroc']:.3f} | "
                         f"{t['f1']:.3f} / {t['precision']:.3f} / {t['recall']:.3f} | "
                         f"{m['dair_ai_validation_flagged']:.1%} |")
    if records:
        t = next(iter(records[0]["methods"].values()))["test"]
        ceilings = ", ".join(f"{r['checkpoint']} {r['dev_readout_ceiling_auroc']:.3f}" for r in records
                             if "dev_readout_ceiling_auroc" in r)
        lines.append(f"\nGoEmotions test: {t['positives']} neutral-only comments against {t['negatives']} that map to "
                     f"one of the six emotions. Read-out ceiling (dev AUROC of a logistic regression over the "
                     f"log-probabilities and intensity, 5-fold cross-validated): {ceilings or 'not measured'}.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--results_dir", type=Path, default=REPO / "benchmarks" / "results" / "no_emotion")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    for checkpoint in args.checkpoints if not args.report else []:
        path = args.results_dir / f"{checkpoint.name}.json"
        if path.exists():
            print(f"skip {path.name}: done")
            continue
        record = study(checkpoint)
        record["command"] = portable([sys.executable, str(Path(__file__).resolve()), str(checkpoint.resolve())])
        write_json(path, record)
    table = report(args.results_dir)
    print(table)
    if args.markdown:
        write_between_markers(args.markdown, "no-emotion", table)


if __name__ == "__main__":
    main()
