"""The accuracy cost of int8 ONNX Runtime, over several checkpoints: one checkpoint's cost is mostly which ~2% of
texts flip label, so the mean over checkpoints is the figure to read.

For each checkpoint: export it (`export_onnx.py --quantize`, into `<runs_dir>/<name>`, unless already there), score
dair-ai validation and test with PyTorch and with the int8 graph (`predict.py` defaults), and record macro F1 of
each, the change, and the share of texts whose label agrees.

    python benchmarks/int8_cost.py --checkpoints runs/quality/minilm-v4-plain-seed42 runs/quality/... \
        --markdown BENCHMARKS.md
    python benchmarks/int8_cost.py --checkpoints runs/quality/minilm-v5mean-cmhl_emobank-seed4{2,3,4} \
        --results benchmarks/results/int8_cost_minilm-v5mean.json --markdown BENCHMARKS.md --markdown_marker int8-cost-v5mean
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from quality import write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

SPLITS = ("validation", "test")


def labels(model: Path, runtime: str, texts: Path, output: Path) -> list[str]:
    """predict.py's label for every line of `texts`."""
    subprocess.run([sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(model), "--runtime",
                    runtime, "--input_file", str(texts), "--output_file", str(output), "--no_progress"],
                   check=True, cwd=REPO, capture_output=True)
    with open(output, encoding="utf-8", newline="") as handle:
        return [row["label"] for row in csv.DictReader(handle)]


def cost(checkpoint: Path, onnx_dir: Path, data_dir: Path, scratch: Path) -> dict:
    from sklearn.metrics import f1_score

    if not (onnx_dir / "model_int8.onnx").is_file():
        subprocess.run([sys.executable, str(REPO / "export_onnx.py"), "--model_name_or_path", str(checkpoint),
                        "--output_dir", str(onnx_dir), "--quantize"], check=True, cwd=REPO, capture_output=True)
    result = {}
    for split in SPLITS:
        rows = [line.rsplit(";", 1) for line in (data_dir / f"{split}.txt").read_text().splitlines()]
        texts = scratch / f"{split}.txt"
        texts.write_text("\n".join(t for t, _ in rows) + "\n", encoding="utf-8")
        gold = [label for _, label in rows]
        torch_labels = labels(checkpoint, "torch", texts, scratch / f"{split}-torch.csv")
        int8_labels = labels(onnx_dir, "onnx-int8", texts, scratch / f"{split}-int8.csv")
        f1_torch, f1_int8 = (f1_score(gold, predicted, average="macro") for predicted in (torch_labels, int8_labels))
        result[split] = {"macro_f1_torch": f1_torch, "macro_f1_int8": f1_int8, "change_points": 100 * (f1_int8 - f1_torch),
                         "label_agreement": statistics.fmean(a == b for a, b in zip(torch_labels, int8_labels))}
    return result


def report(record: dict) -> str:
    lines = ["| checkpoint | validation: macro F1 change (points) | label agreement | test: macro F1 change (points) "
             "| label agreement |", "|---|---|---|---|---|"]
    for name, result in record["checkpoints"].items():
        lines.append(f"| {name} | " + " | ".join(f"{result[s]['change_points']:+.2f} | {result[s]['label_agreement']:.4f}"
                                             for s in SPLITS) + " |")
    means = {s: [r[s]["change_points"] for r in record["checkpoints"].values()] for s in SPLITS}
    lines.append("| **mean ± sd** | " + " | ".join(
        f"**{statistics.fmean(means[s]):+.2f} ± {statistics.stdev(means[s]):.2f}** | " if len(means[s]) > 1 else
        f"**{statistics.fmean(means[s]):+.2f}** | " for s in SPLITS) + " |")
    lines.append("")
    lines.append(f"Command: `{record['command']}` ({record['date']})")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", type=Path, required=True)
    parser.add_argument("--runs_dir", type=Path, default=REPO / "runs" / "onnx", help="where the exports go")
    parser.add_argument("--data_dir", type=Path, default=REPO.parent / "shared" / "data" / "emotion")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results" / "int8_cost.json")
    parser.add_argument("--markdown", type=Path, help="write the table between the int8-cost markers of this file")
    parser.add_argument("--markdown_marker", default="int8-cost", help="--markdown: the markers' name")
    args = parser.parse_args()
    if args.results.exists():  # another set of checkpoints is a new study, with its own file
        sys.exit(f"--results {args.results} holds a finished study ({', '.join(json.loads(args.results.read_text())['checkpoints'])}); "
                 "give another --results file")
    record = {"checkpoints": {}, "command": " ".join(["python", *sys.argv]), "date": time.strftime("%Y-%m-%d")}
    with tempfile.TemporaryDirectory() as scratch:
        for checkpoint in args.checkpoints:
            record["checkpoints"][checkpoint.name] = cost(checkpoint, args.runs_dir / checkpoint.name, args.data_dir,
                                                          Path(scratch))
            print(checkpoint.name, json.dumps(record["checkpoints"][checkpoint.name]), flush=True)
    write_json(args.results, record)
    table = report(record)
    print(table)
    if args.markdown:
        write_between_markers(args.markdown, args.markdown_marker, table)


if __name__ == "__main__":
    main()
