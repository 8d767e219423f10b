"""Do valence, arousal and intensity mean something? Scores any trained checkpoint on three questions:

1. EmoBank test (Buechel & Hahn 2017): Pearson r of predicted valence and arousal with the ratings, from the
   model's heads and, for comparison, from its emotion distribution (sum_k p_k c_k over the labels' circumplex
   coordinates c_k, what a plain classifier can say; Park et al. 2021 read VAD from label distributions too).
2. The intensity contrast set `benchmarks/data/intensity_pairs.tsv` (66 pairs written for this project, 11 per
   emotion): the same situation said mildly and strongly. Share of pairs where the strong text gets the higher
   intensity; share where the emotion does not flip (both texts predicted as the same label); share where both
   hold and both texts are predicted as the pair's emotion.
3. dair-ai/emotion test: the within-label spread of intensity (mean over gold labels of its standard deviation):
   0 when every text of a label lands on one point.

Intensity is modeling_cmhl.circumplex_intensity of (valence, arousal): from the heads, and from the emotion
distribution's implied point. A CMHL checkpoint gives both; the EmoBank-only regression anchor
(`emobank_regression.py`, 2 outputs) gives heads only; a plain classifier's heads are untrained, so only its
"from emotions" columns mean something.

    python benchmarks/dimensional.py --model runs/quality/minilm-v3-cmhl_emobank-seed42 --name minilm-v3-cmhl_emobank-seed42
    python benchmarks/dimensional.py --report --markdown BENCHMARKS.md

`--split validation` scores the same three questions on held-out data for choosing settings, never the test
data: EmoBank's dev split, a second contrast set `benchmarks/data/intensity_pairs_dev.tsv` (36 pairs, 6 per
emotion, other situations, no text shared with the test set) and dair-ai validation; results go to
benchmarks/results/dimensional_dev.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from configuration_cmhl import WARRINER_2013, WARRINER_2013_SCALE  # noqa: E402
from data import AffectSpec, load_affect, read_file  # noqa: E402
from metrics import pearson, within_label_spread  # noqa: E402
from modeling_cmhl import circumplex_intensity  # noqa: E402
from outputs import write_json  # noqa: E402

PAIRS = {"test": REPO / "benchmarks" / "data" / "intensity_pairs.tsv",
         "validation": REPO / "benchmarks" / "data" / "intensity_pairs_dev.tsv"}
DATA = REPO.parent / "shared" / "data"


class Scorer:
    """texts -> probabilities (N, L) or None, head valence and arousal (N,), for a CMHL checkpoint (or several,
    averaged: benchmarks/ensemble.py) or a stock 2-output regression model (valence, arousal)."""

    def __init__(self, paths: list[str], heads_only: bool = False):
        from transformers import AutoConfig

        configs = [AutoConfig.from_pretrained(path, trust_remote_code=False) for path in paths]
        cmhl = ["configuration_cmhl.CMHLConfig" in str((getattr(c, "auto_map", None) or {}).values()) for c in configs]
        self.is_cmhl = cmhl[0]
        if len(paths) > 1 and not all(cmhl):
            sys.exit(f"--model: an ensemble is of CMHL checkpoints only; {paths[cmhl.index(False)]} is not one")
        path = paths[0]
        if self.is_cmhl:
            from ensemble import AveragedPredictor

            self.predictor = AveragedPredictor(paths, max_length=128)  # one model is an ensemble of one
            self.label_names = self.predictor.label_names
            untrained = not self.predictor.config.head_is_trained("emotion")  # trained on rated text only
            heads_only = heads_only or untrained  # its p(emotion) is noise: never scored
            low, high = self.predictor.config.circumplex_scale
            coordinates = self.predictor.config.circumplex_coordinates
        else:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.label_names = list(WARRINER_2013)
            (low, high), coordinates = WARRINER_2013_SCALE, WARRINER_2013
        self.heads_only = heads_only
        points = np.array([coordinates[name] for name in self.label_names], dtype=np.float64)  # (L, 2)
        self.label_valence = 2 * (points[:, 0] - low) / (high - low) - 1
        self.label_arousal = (points[:, 1] - low) / (high - low)

    @torch.inference_mode()
    def __call__(self, texts: list[str]) -> dict:
        if self.is_cmhl:
            out = self.predictor(texts)
            probabilities = None if self.heads_only else out["probabilities"]
            return {"probabilities": probabilities, "valence": out["valence"], "arousal": out["arousal"]}
        parts = []
        for start in range(0, len(texts), 64):
            inputs = self.tokenizer(texts[start:start + 64], padding=True, truncation=True, max_length=128,
                                    return_tensors="pt")
            parts.append(self.model(**inputs).logits.numpy())
        outputs = np.concatenate(parts)
        return {"probabilities": None, "valence": outputs[:, 0], "arousal": outputs[:, 1]}

    def implied(self, probabilities) -> tuple[np.ndarray, np.ndarray]:
        """The (valence, arousal) the emotion distribution implies: sum_k p_k c_k."""
        return probabilities @ self.label_valence, probabilities @ self.label_arousal


def intensity(valence, arousal) -> np.ndarray:
    return circumplex_intensity(torch.as_tensor(np.asarray(valence, dtype=np.float32)),
                                torch.as_tensor(np.clip(np.asarray(arousal, dtype=np.float32), 0, 1))).numpy()


def read_pairs(path: Path) -> list[tuple[str, str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if lines[0].split("\t") != ["emotion", "mild", "strong"]:
        sys.exit(f"{path}: expected the header emotion<TAB>mild<TAB>strong")
    return [tuple(line.split("\t")) for line in lines[1:] if line.strip()]


def score(scorer: Scorer, emobank: Path, pairs: Path, emotion_test: Path, split: str = "test") -> dict:
    """The three scores on `split` of EmoBank ("test" or "validation"), the `pairs` set and `emotion_test`."""
    results = {}
    rated = load_affect(emobank, AffectSpec())[split]
    out = scorer(list(rated["text"]))
    sources = {"heads": (out["valence"], out["arousal"])}
    if out["probabilities"] is not None:
        sources["from_emotions"] = scorer.implied(out["probabilities"])
    for source, (valence, arousal) in sources.items():
        results[f"emobank_valence_r_{source}"] = pearson(valence, rated["valence_labels"])
        results[f"emobank_arousal_r_{source}"] = pearson(arousal, rated["arousal_labels"])

    table = read_pairs(pairs)
    mild, strong = scorer([m for _, m, _ in table]), scorer([s for _, _, s in table])
    expected = np.array([scorer.label_names.index(e) for e, _, _ in table])
    for source in sources:
        if source == "heads":
            low, high = intensity(mild["valence"], mild["arousal"]), intensity(strong["valence"], strong["arousal"])
        else:
            low = intensity(*scorer.implied(mild["probabilities"]))
            high = intensity(*scorer.implied(strong["probabilities"]))
        ordered = high > low
        results[f"pairs_ordered_{source}"] = float(ordered.mean())
        if out["probabilities"] is not None:
            mild_label, strong_label = mild["probabilities"].argmax(1), strong["probabilities"].argmax(1)
            kept = mild_label == strong_label
            results["pairs_emotion_kept"] = float(kept.mean())
            results[f"pairs_ordered_and_right_{source}"] = float(
                (ordered & kept & (strong_label == expected)).mean())
        results[f"pairs_ordered_{source}_per_emotion"] = {
            name: float(ordered[expected == k].mean()) for k, name in enumerate(scorer.label_names)
            if (expected == k).any()}
    results["pairs"] = len(table)

    rows = read_file(emotion_test)
    names = scorer.label_names
    labels = np.array([names.index(row.label) for row in rows])
    out = scorer([row.text for row in rows])
    results["dair_intensity_spread_heads"] = within_label_spread(intensity(out["valence"], out["arousal"]), labels)
    if out["probabilities"] is not None:
        results["dair_intensity_spread_from_emotions"] = within_label_spread(
            intensity(*scorer.implied(out["probabilities"])), labels)
    return results


COLUMNS = (("emobank_valence_r_heads", "EmoBank r V (heads)"), ("emobank_arousal_r_heads", "r A (heads)"),
           ("emobank_valence_r_from_emotions", "r V (from p(emotion))"),
           ("emobank_arousal_r_from_emotions", "r A (from p(emotion))"),
           ("pairs_ordered_heads", "pairs ordered (heads)"), ("pairs_ordered_from_emotions", "pairs ordered (from p)"),
           ("pairs_emotion_kept", "pairs: emotion kept"), ("pairs_ordered_and_right_heads", "ordered, kept and right"),
           ("dair_intensity_spread_heads", "dair spread (heads)"),
           ("dair_intensity_spread_from_emotions", "dair spread (from p)"))


def report(results_dir: Path) -> str:
    groups = {}
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if "dimensional" in record:  # one row per study (tag) and cell, over its seeds
            groups.setdefault(f"{record.get('tag')}: {record['cell']}", []).append(record)
    lines = ["| cell | seeds | " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 2)]
    for cell, records in groups.items():
        cells = []
        for key, _ in COLUMNS:
            values = [r["dimensional"][key] for r in records if key in r["dimensional"]]
            if not values:
                cells.append("n/a")
                continue
            spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.fmean(values):.3f}{spread}")
        seeds = ",".join(str(r["seed"]) for r in records)
        lines.append(f"| {cell} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", help="a trained checkpoint (CMHL, or the EmoBank regression anchor); "
                        "several CMHL checkpoints are scored as their ensemble (benchmarks/ensemble.py)")
    parser.add_argument("--name", help="result file name (default: the model folder's name; required for several)")
    parser.add_argument("--emobank", type=Path, default=DATA / "emobank" / "emobank.csv")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="validation: EmoBank dev, the dev contrast set and dair-ai validation, for choosing")
    parser.add_argument("--pairs", type=Path, help="contrast set (default: the split's own)")
    parser.add_argument("--emotion_test", type=Path, help="dair-ai file of the spread (default: the split's own)")
    parser.add_argument("--results_dir", type=Path, help="default: benchmarks/results/dimensional (_dev)")
    parser.add_argument("--heads_only", action="store_true",
                        help="score the valence and arousal heads only (implied where the checkpoint records an "
                        "untrained emotion head: emobank_regression.py --pooling mean)")
    parser.add_argument("--overwrite", action="store_true", help="replace the scores already in the result file")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", type=Path, help="--report: also write the table between its markers here")
    args = parser.parse_args(argv)
    dev = args.split == "validation"
    args.pairs = args.pairs or PAIRS[args.split]
    args.emotion_test = args.emotion_test or DATA / "emotion" / ("validation.txt" if dev else "test.txt")
    args.results_dir = args.results_dir or REPO / "benchmarks" / "results" / ("dimensional_dev" if dev else "dimensional")
    if args.report:
        table = report(args.results_dir)
        print(table)
        if args.markdown:
            from quality import write_between_markers

            write_between_markers(args.markdown, "dimensional-dev" if dev else "dimensional", table)
        return
    if len(args.model) > 1 and not args.name:
        sys.exit("--name: required when --model gives several checkpoints (an ensemble)")
    name = args.name or Path(args.model[0]).name
    path = args.results_dir / f"{name}.json"
    record = json.loads(path.read_text()) if path.exists() else {}
    if "dimensional" in record and not args.overwrite:
        sys.exit(f"{path}: holds scores already ({record.get('dimensional_command')}); give --overwrite to replace "
                 "them" + (" (the test split is read once)" if not dev else ""))
    if not record:  # a cell trained by quality.py or emobank_regression.py: its record is there; copy what identifies it
        sources = [REPO / "benchmarks" / "results" / folder / f"{name}.json" for folder in ("quality", "dimensional")]
        source = next((json.loads(p.read_text()) for p in sources if p.exists()), {})
        record = {"cell": source.get("cell", name), "seed": source.get("seed"), "tag": source.get("tag")}
        if len(args.model) > 1:
            record.update(cell=name, seed=f"ensemble of {len(args.model)}", members=args.model)
    results = score(Scorer(args.model, args.heads_only), args.emobank, args.pairs, args.emotion_test, args.split)
    record.update(dimensional=results, dimensional_command=" ".join(["python", *sys.argv]))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
