"""Scoring a corpus: texts per second, peak memory and accuracy cost of each way to run a CMHL checkpoint.

The corpus: N texts (default 20,000), half dair-ai/emotion train and half GoEmotions train, shuffled (seed 0),
one per line. Each path is a fresh process scoring all of them: the stock `pipeline("text-classification")`
(at its default batch size of 1, and at batch 64) and predict.py with each runtime, in one process and in two
(torchrun). Paths run in turn, the order reversed in the second round, so that drift of the machine hits every
path alike; texts/s is N over the scoring time the process reports itself (model loading excluded), peak RSS
comes from the kernel (`wait4`, the largest process for two). The accuracy cost is macro F1 on dair-ai test
with each runtime, against PyTorch's.

    python export_onnx.py --model_name_or_path runs/cmhl --output_dir runs/cmhl-onnx --quantize
    python benchmarks/throughput.py --checkpoint runs/cmhl --onnx_dir runs/cmhl-onnx --markdown BENCHMARKS.md
"""

import argparse
import csv
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from quality import write_between_markers  # noqa: E402
from outputs import write_json  # noqa: E402

SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def corpus(data_dir: Path, count: int, seed: int = 0) -> list[str]:
    """`count` texts: the first half from dair-ai/emotion train, the rest from GoEmotions train, shuffled."""
    dair = [line.rsplit(";", 1)[0] for line in (data_dir / "emotion" / "train.txt").read_text().splitlines()]
    go = [line.split("\t")[0] for line in (data_dir / "goemotions" / "train.tsv").read_text().splitlines()]
    generator = random.Random(seed)
    generator.shuffle(dair)
    generator.shuffle(go)
    texts = dair[:count // 2] + go[:count - count // 2]
    generator.shuffle(texts)
    return texts


def pipeline_worker(checkpoint: str, input_file: str, batch_size: int):
    """Child process: the stock text-classification pipeline over the file; prints its scoring seconds."""
    from transformers import pipeline

    texts = Path(input_file).read_text(encoding="utf-8").split("\n")[:-1]
    classifier = pipeline("text-classification", model=checkpoint, device="cpu")
    start = time.perf_counter()
    outputs = classifier(texts, batch_size=batch_size, truncation=True, top_k=None)
    seconds = time.perf_counter() - start
    assert len(outputs) == len(texts)
    print(json.dumps({"seconds": seconds}))


def run(command: list[str], env: dict | None = None) -> dict:
    """Run one path; its scoring seconds (from its own report) and its peak RSS (MB)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(process.pid, 0)
    stdout, stderr = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{stderr[-2000:]}")
    if "--_pipeline" in command:
        seconds = json.loads(stdout.strip().splitlines()[-1])["seconds"]
    else:  # predict.py's last line: "N texts scored in S s (...)"
        seconds = float(re.findall(r"texts scored in ([0-9.]+) s", stderr)[-1])
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def paths(args, input_file: Path, output: Path) -> dict[str, tuple[list[str], dict]]:
    """name -> (command, environment)."""
    def predict(runtime, model, extra=(), processes=1, suffix=""):
        launcher = [sys.executable] if processes == 1 else [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_port", "29531"]
        return [*launcher, str(REPO / "predict.py"), "--model_name_or_path", str(model), "--runtime", runtime,
                "--input_file", str(input_file), "--output_file", str(output / f"{runtime}-{processes}{suffix}.csv"),
                "--batch_size", str(args.batch_size), "--max_length", str(args.max_length), "--no_progress",
                "--overwrite_output_file", *extra]  # scratch files, replaced round after round

    pipeline = [sys.executable, __file__, "--_pipeline", str(args.checkpoint), str(input_file)]
    table = {
        "stock pipeline, batch 1 (its default)": (pipeline + ["1"], {}),
        f"stock pipeline, batch {args.batch_size}": (pipeline + [str(args.batch_size)], {}),
        "predict.py torch, file order (no sorting)": (predict("torch", args.checkpoint,
                                                              ["--window", str(args.batch_size), "--precision", "fp32",
                                                               "--max_batch_tokens", "1000000"]), {}),
        "predict.py torch": (predict("torch", args.checkpoint, FP32), {}),
        "predict.py torch, 1 thread": (predict("torch", args.checkpoint, FP32), {"OMP_NUM_THREADS": "1"}),
        "predict.py torch, 2 processes x 1 thread": (predict("torch", args.checkpoint, FP32, processes=2), {}),
    }
    if args.bf16:  # predict.py's default where the CPU has bf16 units (issue 36)
        table.update({
            "predict.py torch bf16": (predict("torch", args.checkpoint, BF16, suffix="-bf16"), {}),
            "predict.py torch bf16, 1 thread": (predict("torch", args.checkpoint, BF16, suffix="-bf16"),
                                                {"OMP_NUM_THREADS": "1"}),
            "predict.py torch bf16, 2 processes x 1 thread": (predict("torch", args.checkpoint, BF16, processes=2,
                                                                      suffix="-bf16"), {}),
        })
    if args.onnx_dir:
        table.update({
            "predict.py onnx": (predict("onnx", args.onnx_dir), {}),
            "predict.py onnx-int8": (predict("onnx-int8", args.onnx_dir), {}),
            "predict.py onnx-int8, 2 processes x 1 thread": (predict("onnx-int8", args.onnx_dir, processes=2), {}),
            "predict.py onnx-int8, 2 streams x 1 thread": (predict("onnx-int8", args.onnx_dir, ["--streams", "2"],
                                                                    suffix="-streams"), {}),
        })
    return table


FP32, BF16 = ["--precision", "fp32"], ["--precision", "bf16"]


def macro_f1_by_runtime(args, scratch: Path) -> tuple[dict[str, float], dict]:
    """Macro F1 on dair-ai test of each runtime (predict.py on the test texts); with bf16, also its agreement with
    float32 PyTorch: the share of texts given the same label and the largest |difference| of a probability."""
    import numpy as np
    from sklearn.metrics import f1_score

    rows = [line.rsplit(";", 1) for line in (Path(args.data_dir) / "emotion" / "test.txt").read_text().splitlines()]
    texts = scratch / "test_texts.txt"
    texts.write_text("\n".join(t for t, _ in rows) + "\n", encoding="utf-8")
    scores, probabilities = {}, {}
    runtimes = [("torch", FP32), *([("torch-bf16", BF16)] if args.bf16 else []),
                *([("onnx", []), ("onnx-int8", [])] if args.onnx_dir else [])]
    for name, extra in runtimes:
        runtime = name.split("-bf16")[0]
        output = scratch / f"test-{name}.csv"
        model = args.checkpoint if runtime == "torch" else args.onnx_dir
        subprocess.run([sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(model), "--runtime",
                        runtime, "--input_file", str(texts), "--output_file", str(output), "--no_progress", *extra],
                       check=True, cwd=REPO, capture_output=True)
        with open(output, encoding="utf-8", newline="") as handle:
            records = list(csv.DictReader(handle))
        predicted = [r["label"] for r in records]
        probabilities[name] = np.array([[float(r[f"p_{label}"]) for label in SIX] for r in records])
        scores[name] = f1_score([label for _, label in rows], predicted, average="macro")
    agreement = {}
    if "torch-bf16" in probabilities:
        fp32, bf16 = probabilities["torch"], probabilities["torch-bf16"]
        agreement = {"label_agreement": float((fp32.argmax(1) == bf16.argmax(1)).mean()),
                     "max_abs_probability_difference": float(np.abs(fp32 - bf16).max()), "texts": len(fp32)}
    return scores, agreement


def report(result: dict) -> str:
    baseline = statistics.fmean(result["paths"]["stock pipeline, batch 1 (its default)"]["texts_per_second"])
    batched = [k for k in result["paths"] if k.startswith("stock pipeline, batch") and "default" not in k][0]
    baseline_batched = statistics.fmean(result["paths"][batched]["texts_per_second"])
    lines = [f"| path | texts/s (each round) | ratio to the stock pipeline (batch 1 / batch "
             f"{batched.rsplit(' ', 1)[1]}) | macro F1 change on dair-ai test | peak RSS (MB) |", "|---|---|---|---|---|"]
    f1 = result["macro_f1"]
    for name, record in result["paths"].items():
        speed = statistics.fmean(record["texts_per_second"])
        runtime = next((r for r in ("onnx-int8", "onnx", "torch bf16", "torch") if f"predict.py {r}" in name), None)
        runtime = "torch-bf16" if runtime == "torch bf16" else runtime
        change = f"{100 * (f1[runtime] - f1['torch']):+.2f} points" if runtime in f1 else "0 (PyTorch)"
        rounds = " / ".join(f"{v:.0f}" for v in record["texts_per_second"])
        lines.append(f"| {name} | {speed:.0f} ({rounds}) | {speed / baseline:.1f}x / {speed / baseline_batched:.1f}x | "
                     f"{change} | {max(record['peak_rss_mb']):.0f} |")
    lines.append("")
    if result.get("bf16_agreement"):
        agreement = result["bf16_agreement"]
        lines.append(f"bf16 against float32 PyTorch on dair-ai test ({agreement['texts']} texts): the same label on "
                     f"{agreement['label_agreement']:.2%}, probabilities within {agreement['max_abs_probability_difference']:.4f}.")
    lines.append(f"dair-ai test macro F1: " + ", ".join(f"{k} {v:.4f}" for k, v in f1.items()) + f". {result['texts']} "
                 f"texts, batch {result['batch_size']}, max length {result['max_length']}; {result['machine']}; "
                 f"command: `{result['command']}`")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="CMHL checkpoint folder")
    parser.add_argument("--onnx_dir", help="its export_onnx.py --quantize folder (adds the ONNX paths)")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results" / "throughput.json"))
    parser.add_argument("--markdown", type=Path, help="write the table between the throughput markers of this file")
    parser.add_argument("--markdown_marker", default="throughput", help="--markdown: the markers' name")
    parser.add_argument("--bf16", action="store_true", help="add predict.py's bf16 autocast paths (--precision bf16)")
    parser.add_argument("--report", action="store_true", help="only print the table of the results file")
    parser.add_argument("--_pipeline", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._pipeline:
        return pipeline_worker(args._pipeline[0], args._pipeline[1], int(args._pipeline[2]))
    if not args.report:
        if not args.checkpoint:
            sys.exit("--checkpoint: required to measure (or --report to print the results file)")
        import torch

        with tempfile.TemporaryDirectory() as scratch:
            scratch = Path(scratch)
            input_file = scratch / "corpus.txt"
            input_file.write_text("\n".join(corpus(Path(args.data_dir), args.texts)) + "\n", encoding="utf-8")
            table = paths(args, input_file, scratch)
            measured = {name: {"texts_per_second": [], "peak_rss_mb": []} for name in table}
            for round_index in range(args.rounds):
                for name in (list(table) if round_index % 2 == 0 else list(table)[::-1]):
                    outcome = run(*table[name])
                    measured[name]["texts_per_second"].append(args.texts / outcome["seconds"])
                    measured[name]["peak_rss_mb"].append(outcome["peak_rss_mb"])
                    print(f"round {round_index + 1}, {name}: {args.texts / outcome['seconds']:.0f} texts/s, "
                          f"{outcome['peak_rss_mb']:.0f} MB", flush=True)
            macro_f1, bf16_agreement = macro_f1_by_runtime(args, scratch)
            result = {"texts": args.texts, "batch_size": args.batch_size, "max_length": args.max_length,
                      "paths": measured, "macro_f1": macro_f1, "bf16_agreement": bf16_agreement,
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
                      "command": "python benchmarks/throughput.py " + " ".join(sys.argv[1:]),
                      "date": time.strftime("%Y-%m-%d")}
        write_json(Path(args.results), result)
    table = report(json.loads(Path(args.results).read_text()))
    print(table)
    if args.markdown:
        write_between_markers(args.markdown, args.markdown_marker, table)


if __name__ == "__main__":
    main()
