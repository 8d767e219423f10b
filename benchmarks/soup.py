"""Weight averaging across seeds ("model soup", Wortsman et al. 2022, ICML): is one checkpoint whose weights are
the element-wise mean of several runs of one setting (same encoder, same labels, different seeds) better than the
runs it is made of? It would cost nothing at inference, so it is worth a look before anything dearer.
Validation only: every ingredient and every soup of two or more of them is scored on dair-ai validation; test is
never read here.

    python benchmarks/soup.py --name recipe-e4-lr1e-4-plain \
        --checkpoints runs/quality/recipe-e4-lr1e-4-plain-seed42 runs/quality/recipe-e4-lr1e-4-plain-seed43 \
                      runs/quality/recipe-e4-lr1e-4-plain-seed44
    python benchmarks/soup.py --report --markdown BENCHMARKS.md

Writes `benchmarks/results/soup/<name>.json` (never over a finished one). The soups themselves are not kept.
"""

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from data import read_file  # noqa: E402
from metrics import classification_metrics  # noqa: E402
from predict import Predictor  # noqa: E402
from quality import write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

METRICS = ("macro_f1", "weighted_f1", "accuracy", "f1_love", "f1_surprise")


def average_state_dicts(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of N state dicts with the same names and shapes, computed in float32 and returned in each
    tensor's own dtype: soup[k] = (1 / N) sum_i states[i][k]."""
    names = set(states[0])
    for state in states[1:]:
        if set(state) != names:
            raise ValueError(f"the checkpoints' weights differ by name: {sorted(names ^ set(state))[:5]}")
    soup = {}
    for name, first in states[0].items():
        shapes = {tuple(state[name].shape) for state in states}
        if len(shapes) > 1:
            raise ValueError(f"{name}: shapes differ across checkpoints {sorted(shapes)}")
        soup[name] = (sum(state[name].float() for state in states) / len(states)).to(first.dtype)
    return soup


def check_compatible(paths: list[Path]):
    """Only runs of one model are averaged: the same labels in the same order and the same encoder type."""
    configs = {path: json.loads((path / "config.json").read_text()) for path in paths}
    first = paths[0]
    for path, config in configs.items():
        for key in ("id2label", "model_type"):
            if config.get(key) != configs[first].get(key):
                raise ValueError(f"{path}/config.json: {key} {config.get(key)!r} differs from {first}'s "
                                 f"{configs[first].get(key)!r}: only runs of one model are averaged")
        encoder, first_encoder = config.get("encoder_config", {}), configs[first].get("encoder_config", {})
        if encoder.get("model_type") != first_encoder.get("model_type"):
            raise ValueError(f"{path}/config.json: encoder {encoder.get('model_type')!r} differs from {first}'s")


def write_soup(paths: list[Path], output: Path) -> Path:
    """A checkpoint folder: the first ingredient's config and tokenizer, the mean of all ingredients' weights."""
    shutil.copytree(paths[0], output, ignore=shutil.ignore_patterns("test", "checkpoint-*", "*.png", "*.bin"))
    soup = average_state_dicts([load_file(str(path / "model.safetensors")) for path in paths])
    save_file(soup, str(output / "model.safetensors"), metadata={"format": "pt"})
    return output


def score(checkpoint: Path, texts: list[str], labels: list[str]) -> dict:
    predictor = Predictor(str(checkpoint))
    probabilities = np.concatenate([predictor(texts[i:i + 64])["probabilities"] for i in range(0, len(texts), 64)])
    index = {name: i for i, name in enumerate(predictor.label_names)}
    metrics = classification_metrics(probabilities.argmax(axis=1), np.array([index[y] for y in labels]),
                                      predictor.label_names)
    return {key: round(metrics[key], 4) for key in METRICS if key in metrics}  # a label never seen has no F1


def run(args) -> dict:
    record_path = args.results_dir / f"{args.name}.json"
    if record_path.exists():
        sys.exit(f"{record_path} exists: give another --name")
    paths = [Path(p) for p in args.checkpoints]
    check_compatible(paths)
    rows = read_file(args.validation_file)
    texts, labels = [str(row.text) for row in rows], [row.label for row in rows]
    record = {"name": args.name, "command": " ".join(["python", *sys.argv]), "validation_file": str(args.validation_file),
              "ingredients": {path.name: score(path, texts, labels) for path in paths}, "soups": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for size in range(2, len(paths) + 1):
            for members in itertools.combinations(paths, size):
                soup = write_soup(list(members), Path(scratch) / f"soup{len(record['soups'])}")
                names = [path.name for path in members]
                record["soups"][" + ".join(names)] = {
                    "members": names, "soup": score(soup, texts, labels),
                    "members_mean": {key: round(statistics.mean(record["ingredients"][n][key] for n in names), 4)
                                     for key in METRICS if all(key in record["ingredients"][n] for n in names)}}
                shutil.rmtree(soup)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_json(record_path, record)
    return record


def report(records: list[dict]) -> str:
    """One row per soup: its validation scores and their change against the mean of its members, in points."""
    lines = ["| setting | soup of | macro F1 (change) | weighted F1 (change) | love F1 | surprise F1 |",
             "|---|---|---|---|---|---|"]
    for record in records:
        for soup in record["soups"].values():
            seeds = ", ".join(name.rsplit("-", 1)[-1] for name in soup["members"])
            scores, mean = soup["soup"], soup["members_mean"]

            def cell(key, change=False):
                if key not in scores:
                    return "n/a"
                return f"{scores[key]:.4f} ({100 * (scores[key] - mean[key]):+.2f})" if change else f"{scores[key]:.4f}"

            lines.append(f"| {record['name']} | {seeds} | {cell('macro_f1', True)} | {cell('weighted_f1', True)} | "
                         f"{cell('f1_love')} | {cell('f1_surprise')} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", help="the record's name, e.g. the runs' setting")
    parser.add_argument("--checkpoints", nargs="+", help="checkpoint folders of one setting, two or more")
    parser.add_argument("--validation_file", type=Path,
                        default=REPO.parent / "shared" / "data" / "emotion" / "validation.txt")
    parser.add_argument("--results_dir", type=Path, default=REPO / "benchmarks" / "results" / "soup")
    parser.add_argument("--report", action="store_true", help="print (or --markdown) the table of every record")
    parser.add_argument("--markdown", type=Path, help="with --report: write the table between soup markers")
    args = parser.parse_args(argv)
    if args.report:
        table = report([json.loads(p.read_text()) for p in sorted(args.results_dir.glob("*.json"))])
        if args.markdown:
            write_between_markers(args.markdown, "soup", table)
        print(table)
        return
    if not args.name or not args.checkpoints or len(args.checkpoints) < 2:
        parser.error("--name and two or more --checkpoints are needed (or --report)")
    run(args)
    print(report([json.loads((args.results_dir / f"{args.name}.json").read_text())]))


if __name__ == "__main__":
    main()
