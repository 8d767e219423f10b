"""Mental-health transfer: does starting from a CMHL emotion checkpoint help stress detection (Dreaddit)?

Cells, with the same budget (epochs, batch, learning rate, length) and the same validation slice:
  from_cmhl    train.py from a CMHL emotion checkpoint (its encoder; the two-label head starts afresh)
  from_plain   train.py from the plain backbone
  (--extra NAME=PATH adds more starting points, e.g. a plain dair-ai checkpoint)
Both fine-tune with every CMHL weight at 0 (no circumplex for stress / none), so the starting encoder is the
only difference. Validation: a seeded `--validation_fraction` of Dreaddit's train split (the test split is
read once, at the end of each run). Results: `benchmarks/results/transfer/<cell>-seed<N>.json`, written as
each run finishes; re-runs skip finished cells. `--report --markdown BENCHMARKS.md` writes the table.

    python benchmarks/transfer.py --cmhl_checkpoint runs/quality/minilm-cmhl-seed42
"""

import argparse
import csv
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from quality import default_backbone, write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

REPORTED = ("test_accuracy", "test_f1_stress", "test_recall_stress", "test_macro_f1", "eval_f1_stress")


def split_train(source: Path, out_dir: Path, fraction: float, seed: int) -> tuple[Path, Path]:
    """Dreaddit's train CSV -> train / validation CSVs (rows shuffled with `seed`, header kept)."""
    with open(source, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    random.Random(seed).shuffle(rows)
    cut = round(len(rows) * fraction)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, part in (("train", rows[cut:]), ("validation", rows[:cut])):
        path = out_dir / f"{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(part)
        paths.append(path)
    return paths[0], paths[1]


def run_cell(name: str, start: str, seed: int, files: tuple[Path, Path], args) -> dict:
    output_dir = Path(args.runs_dir) / f"{name}-seed{seed}"
    command = [sys.executable, REPO / "train.py", "--model_name_or_path", start,
               "--train_file", files[0], "--validation_file", files[1],
               "--test_file", Path(args.data_dir) / "dreaddit_test_text_label.csv",
               "--class_names", "none,stress", "--valence_weight", 0, "--arousal_weight", 0,
               "--contradiction_weight", 0, "--output_dir", output_dir, "--seed", seed,
               "--num_train_epochs", args.epochs, "--per_device_train_batch_size", args.batch_size,
               "--learning_rate", args.learning_rate, "--max_seq_length", args.max_seq_length,
               "--metric_for_best_model", "f1_stress", "--save_total_limit", 1, "--logging_steps", 20,
               "--report_to", "none"]
    command = [str(c) for c in command]
    started = time.time()
    subprocess.run(command, check=True, cwd=REPO)
    results = json.loads((output_dir / "all_results.json").read_text())
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    return {"cell": name, "start": str(start), "seed": seed, "wall_seconds": round(time.time() - started, 1),
            "command": " ".join(command), "results": results}


def report(results_dir: Path) -> str:
    cells = {}
    for path in sorted(results_dir.glob("*.json")):
        result = json.loads(path.read_text())
        cells.setdefault(result["cell"], []).append(result)
    lines = ["| start | seeds | " + " | ".join(REPORTED) + " |", "|---" * (len(REPORTED) + 2) + "|"]
    for cell, runs in cells.items():
        row = [cell, ",".join(str(r["seed"]) for r in runs)]
        for key in REPORTED:
            values = [r["results"][key] for r in runs if key in r["results"]]
            spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
            row.append(f"{statistics.mean(values):.4f}{spread}" if values else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cmhl_checkpoint", help="CMHL emotion checkpoint (cell from_cmhl)")
    parser.add_argument("--backbone", help="plain encoder (cell from_plain; default: MiniLM-L6 package)")
    parser.add_argument("--extra", nargs="*", default=[], help="more starting points, NAME=PATH")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data" / "dreaddit"))
    parser.add_argument("--results_dir", default=str(REPO / "benchmarks" / "results" / "transfer"))
    parser.add_argument("--runs_dir", default=str(REPO / "runs" / "transfer"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--validation_fraction", type=float, default=0.1)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--max_seq_length", type=int, default=256)
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", help="write the table into this file between transfer markers")
    args = parser.parse_args()
    results_dir = Path(args.results_dir)
    if not args.report:
        starts = {"from_plain": args.backbone or default_backbone()}
        if args.cmhl_checkpoint:
            starts["from_cmhl"] = args.cmhl_checkpoint
        starts.update(item.split("=", 1) for item in args.extra)
        results_dir.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            files = split_train(Path(args.data_dir) / "dreaddit_train_text_label.csv",
                                Path(args.runs_dir) / f"data-seed{seed}", args.validation_fraction, seed)
            for name, start in starts.items():
                path = results_dir / f"{name}-seed{seed}.json"
                if path.exists():
                    print(f"skip {path.name}: done")
                    continue
                write_json(path, run_cell(name, start, seed, files, args))
    table = report(results_dir)
    print(table)
    if args.markdown:
        write_between_markers(Path(args.markdown), "transfer", table)


if __name__ == "__main__":
    main()
