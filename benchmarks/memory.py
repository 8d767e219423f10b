"""Load held: peak resident memory of `predict.py` on 2,000 and on 20,000 or more texts (target: < 50 MB apart).

Each run is a fresh process (`predict.py` on a file of N real dair-ai texts, repeated to reach N); its peak
resident set size comes from the kernel (`wait4` rusage, ru_maxrss). Runs alternate between the sizes.

    python benchmarks/memory.py --checkpoint runs/cmhl --markdown BENCHMARKS.md
"""

import argparse
import itertools
import os
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

LIMIT_MB = 50


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one child process."""
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}")
    return usage.ru_maxrss / 1024, time.time() - started  # Linux reports kilobytes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="CMHL checkpoint folder (export_onnx.py's, for ONNX)")
    parser.add_argument("--runtime", default="torch", help="predict.py --runtime")
    parser.add_argument("--texts", default=str(REPO.parent / "shared" / "data" / "emotion" / "train.txt"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--results", help="default: benchmarks/results/memory[-<runtime>].json")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    source = [line.rsplit(";", 1)[0] for line in Path(args.texts).read_text(encoding="utf-8").splitlines()]
    runs = {size: [] for size in args.sizes}
    with tempfile.TemporaryDirectory() as scratch:
        inputs = {}
        for size in args.sizes:
            inputs[size] = Path(scratch) / f"texts-{size}.txt"
            inputs[size].write_text("\n".join(itertools.islice(itertools.cycle(source), size)) + "\n", encoding="utf-8")
        for _, size in itertools.product(range(args.repeats), args.sizes):
            command = [sys.executable, str(REPO / "predict.py"), "--model_name_or_path", args.checkpoint,
                       "--input_file", str(inputs[size]), "--output_file", str(Path(scratch) / "out.csv"),
                       "--batch_size", str(args.batch_size), "--max_length", "128", "--no_progress",
                       "--runtime", args.runtime]
            rss, seconds = peak_rss_mb(command)
            runs[size].append({"peak_rss_mb": round(rss, 1), "seconds": round(seconds, 1)})
            print(f"{size} texts: peak RSS {rss:.1f} MB in {seconds:.0f} s")
    small, large = min(args.sizes), max(args.sizes)
    difference = statistics.fmean(r["peak_rss_mb"] for r in runs[large]) - statistics.fmean(
        r["peak_rss_mb"] for r in runs[small])
    record = {"runtime": args.runtime, "runs": runs, "difference_mb": round(difference, 1), "limit_mb": LIMIT_MB,
              "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d")}
    results = args.results or REPO / "benchmarks" / "results" / (
        "memory.json" if args.runtime == "torch" else f"memory-{args.runtime}.json")
    write_json(Path(results), record)
    lines = [f"| texts ({args.runtime}) | peak RSS (MB), each run | seconds, each run |", "|---|---|---|"]
    for size in args.sizes:
        lines.append(f"| {size:,} | {', '.join(str(r['peak_rss_mb']) for r in runs[size])} | "
                     f"{', '.join(str(r['seconds']) for r in runs[size])} |")
    verdict = "within" if abs(difference) < LIMIT_MB else "OVER"
    lines.append(f"| {large:,} - {small:,} | **{difference:+.1f} MB** ({verdict} the {LIMIT_MB} MB target) | |")
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        write_between_markers(args.markdown, "memory" if args.runtime == "torch" else f"memory-{args.runtime}", table)


if __name__ == "__main__":
    main()
