"""What a model costs to serve: predict.py's texts per second for each checkpoint, on the same texts, this CPU.

The texts: N (default 4,000) from dair-ai train and GoEmotions train, shuffled (seed 0; throughput.corpus), one a
line. Each checkpoint is scored by `predict.py` in a fresh process at its default precision (bf16 autocast where the
CPU has bf16 units: hardware.bf16_pays), batch 64, max length 128; checkpoints take turns, the order reversed in the
second round, so that drift hits each alike; texts/s is N over the scoring time predict.py reports (model loading
excluded). Results go to --results with the machine's name (hardware.cpu_name).

    python benchmarks/serving_cost.py --checkpoint minilm=runs/base/minilm-cmhl-corpora-seed42 \\
        --checkpoint mpnet=runs/base/mpnet-cmhl-corpora-lr5e-5-seed42
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from hardware import cpu_name  # noqa: E402
from outputs import write_json  # noqa: E402
from throughput import corpus, run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", required=True, help="name=folder, one per model")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--results", default=str(REPO / "benchmarks" / "results" / "base_size" / "serving.json"))
    args = parser.parse_args(argv)
    models = dict(item.split("=", 1) for item in args.checkpoint)
    speeds = {name: [] for name in models}
    with tempfile.TemporaryDirectory() as scratch:
        texts = Path(scratch) / "texts.txt"
        texts.write_text("\n".join(corpus(Path(args.data_dir), args.texts)) + "\n", encoding="utf-8")
        for round_index in range(args.rounds):
            order = list(models) if round_index % 2 == 0 else list(reversed(models))
            for name in order:
                command = [sys.executable, str(REPO / "predict.py"), "--model_name_or_path", models[name],
                           "--input_file", str(texts), "--output_file", str(Path(scratch) / f"{name}.csv"),
                           "--batch_size", "64", "--max_length", "128", "--no_progress", "--overwrite_output_file"]
                seconds = run(command)["seconds"]
                speeds[name].append(args.texts / seconds)
                print(f"{name}: {args.texts / seconds:.0f} texts/s", flush=True)
    result = {"texts": args.texts, "machine": cpu_name(), "checkpoints": models,
              "texts_per_second": {name: {"mean": statistics.fmean(v), "rounds": v} for name, v in speeds.items()},
              "command": "python benchmarks/serving_cost.py " + " ".join(f"--checkpoint {c}" for c in args.checkpoint)}
    write_json(args.results, result)
    print(result)


if __name__ == "__main__":
    main()
