"""A seed ensemble scored as one model (issue 27: the teachers' ensembles, the bar further out for a student).

Several CMHL checkpoints of one label set (labels matched by name) average their probabilities, valence and
arousal; intensity is read from the averaged point (modeling_cmhl.circumplex_intensity), the way one model reads
its own. On dair-ai/emotion: accuracy, macro and weighted F1, F1 per label and the contradiction rate (metrics.py,
the first member's incompatible pairs and threshold). The EmoBank r and the contrast pairs of the same ensemble
come from `benchmarks/dimensional.py --model A B C`, which uses `AveragedPredictor` below.

    python benchmarks/ensemble.py --name plain-e4-lr1e-4 --models runs/quality/recipe-e4-lr1e-4-plain-seed4{2,3,4}
    python benchmarks/ensemble.py --name plain-e4-lr1e-4 --models ... --split test   # once chosen, read once

Results: `benchmarks/results/ensemble/<name>.json`, one block per split; a split already there is never scored
again (the test split is read once), and the members must be the ones recorded (by content).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import entry  # noqa: E402
from data import DataError, read_file  # noqa: E402
from metrics import classification_metrics, contradiction_rate  # noqa: E402
from modeling_cmhl import circumplex_intensity  # noqa: E402
from predict import Predictor  # noqa: E402
from saves import save_fingerprint  # noqa: E402
from outputs import write_json  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "emotion"


class AveragedPredictor:
    """Checkpoints of one label set as one predictor, with Predictor's interface (`config`, `label_names`,
    `dimensions`, `__call__`): probabilities (N, L) averaged in the first member's label order, valence and arousal
    (N,) averaged, intensity from the averaged (valence, arousal)."""

    def __init__(self, paths: list[str], **predictor_options):
        if not paths:
            raise DataError("an ensemble needs at least one checkpoint")
        self.members = [Predictor(path, **predictor_options) for path in paths]
        first = self.members[0]
        self.config, self.label_names, self.dimensions = first.config, first.label_names, first.dimensions
        self.orders = []  # per member: its column of each of the first member's labels
        for path, member in zip(paths, self.members):
            if sorted(member.label_names) != sorted(self.label_names):
                raise DataError(f"{path}: labels {member.label_names} are not {paths[0]}'s {self.label_names} "
                                "(matched by name, in any order)")
            if member.dimensions != self.dimensions:
                raise DataError(f"{path}: trained heads {member.dimensions} are not {paths[0]}'s {self.dimensions}")
            self.orders.append([member.label_names.index(name) for name in self.label_names])

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        outs = [member(texts) for member in self.members]
        probabilities = np.mean([out["probabilities"][:, order] for out, order in zip(outs, self.orders)], axis=0)
        valence = np.mean([out["valence"] for out in outs], axis=0).astype(np.float32)  # (N,)
        arousal = np.mean([out["arousal"] for out in outs], axis=0).astype(np.float32)  # (N,)
        intensity = circumplex_intensity(torch.from_numpy(valence), torch.from_numpy(np.clip(arousal, 0, 1))).numpy()
        return {"probabilities": probabilities, "valence": valence, "arousal": arousal, "intensity": intensity}


def emotion_metrics(predictor, path: Path) -> dict:
    """Classification metrics and the contradiction rate of `predictor` on a dair-ai file (text;label)."""
    if not predictor.config.head_is_trained("emotion"):
        raise DataError("the models' emotion heads were never trained (config.json trained_heads): an affect-only "
                        "ensemble is scored by benchmarks/dimensional.py --heads_only")
    rows = read_file(path)
    names = predictor.label_names
    unknown = sorted({str(row.label) for row in rows} - set(names))
    if unknown:
        raise DataError(f"{path}: labels {unknown} are not the models' {names}")
    labels = np.array([names.index(row.label) for row in rows])
    probabilities = predictor([row.text for row in rows])["probabilities"]  # (N, L)
    config = predictor.config
    results = classification_metrics(probabilities.argmax(axis=1), labels, names)
    results["contradiction_rate"] = contradiction_rate(probabilities, config.incompatible_index_pairs(),
                                                       config.contradiction_threshold)
    return {**results, "texts": len(rows), "file": str(path)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True, help="the members: CMHL checkpoints of one label set")
    parser.add_argument("--name", required=True, help="result file name")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--emotion_file", type=Path, help="default: dair-ai's file of the split")
    parser.add_argument("--results_dir", type=Path, default=REPO / "benchmarks" / "results" / "ensemble")
    args = parser.parse_args(argv)
    path = args.results_dir / f"{args.name}.json"
    members = {model: save_fingerprint(model) for model in args.models}
    record = json.loads(path.read_text()) if path.exists() else {"name": args.name, "members": members}
    if record["members"] != members:
        raise DataError(f"{path}: records the ensemble {sorted(record['members'])}, by content; these models are "
                        "another one: give another --name")
    if args.split in record:
        raise DataError(f"{path}: the {args.split} split was scored already ({record[args.split]['file']}); it is "
                        "read once")
    predictor = AveragedPredictor(args.models, max_length=128)
    record[args.split] = emotion_metrics(predictor, args.emotion_file or DATA / f"{args.split}.txt")
    record.setdefault("commands", []).append(" ".join(["python", "benchmarks/ensemble.py", *(argv or sys.argv[1:])]))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    print(json.dumps(record[args.split], indent=2))
    return record


if __name__ == "__main__":
    entry.run(main)
