"""Cross-domain study: dair-ai checkpoints of the quality study evaluated on GoEmotions (Reddit) test.

Runs `evaluate_cmhl.py` on every checkpoint folder given (named `<tag>-<cell>-seed<N>`, as
benchmarks/quality.py names its runs), writes `benchmarks/results/cross_domain/<folder>.json` as each
finishes (re-runs skip finished ones), and reports mean ± standard deviation per cell.

    python benchmarks/cross_domain.py runs/quality/minilm-plain-seed4? runs/quality/minilm-cmhl-seed4?
    python benchmarks/cross_domain.py --report --markdown BENCHMARKS.md
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from quality import write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

REPORTED = ("counted", "accuracy", "macro_f1", "weighted_f1", "f1_love", "f1_surprise", "ece", "contradiction_rate",
            "contradiction_rate_all_texts", "valence_agreement")


def report(results_dir: Path) -> str:
    cells = {}
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        cells.setdefault(record["cell"], []).append(record)
    lines = ["| cell | seeds | " + " | ".join(REPORTED) + " |", "|" + "---|" * (len(REPORTED) + 2)]
    for cell, records in cells.items():
        row = [cell, ",".join(str(r["seed"]) for r in records)]
        for key in REPORTED:
            values = [r["results"][key] for r in records if key in r["results"]]
            if key == "valence_agreement" and cell == "plain":
                row.append("untrained head")
            elif key == "counted":
                row.append(str(values[0]))
            else:
                spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
                row.append(f"{statistics.fmean(values):.4f}{spread}" if values else "n/a")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", type=Path)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "goemotions" / "test.tsv"))
    parser.add_argument("--label_mapping", default=str(REPO / "mappings" / "goemotions_to_dair_emotion.json"))
    parser.add_argument("--results_dir", default=str(REPO / "benchmarks" / "results" / "cross_domain"))
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    for checkpoint in args.checkpoints if not args.report else []:
        match = re.fullmatch(r"(.+)-(\w+)-seed(\d+)", checkpoint.name)
        if not match:
            sys.exit(f"{checkpoint}: expected a folder named <tag>-<cell>-seed<N>")
        path = results_dir / f"{checkpoint.name}.json"
        if path.exists():
            print(f"skip {path.name}: done")
            continue
        output_dir = checkpoint / "goemotions"
        command = [sys.executable, str(REPO / "evaluate_cmhl.py"), "--model_name_or_path", str(checkpoint),
                   "--test_file", args.data, "--column_names", "text,label,id", "--label_mapping",
                   args.label_mapping, "--output_dir", str(output_dir)]
        subprocess.run(command, check=True, cwd=REPO)
        results = json.loads((output_dir / "cross_domain_results.json").read_text())
        write_json(path, {"cell": match[2], "seed": int(match[3]), "checkpoint": checkpoint.name,
                          "command": " ".join(command), "results": results})
    table = report(results_dir)
    print(table)
    if args.markdown:
        write_between_markers(args.markdown, "cross-domain", table)


if __name__ == "__main__":
    main()
