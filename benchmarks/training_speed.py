"""Training speed on this machine: precision x batching, in one process, on the recipe's own rows.

Each setting trains a fresh CMHL model (same seed, same initial weights) for `--steps` optimizer steps of batch 32
over the recipe's training mix (dair-ai train + EmoBank train, shuffled with one seed), forward + CMHL loss +
backward + AdamW, exactly as Trainer's step does, and reports:

    s / 1k real tokens   wall seconds per 1,000 non-padding tokens (the work that counts)
    steps / s            optimizer steps per second
    real-token share     non-padding tokens / all tokens the steps processed

Settings: precision fp32 | bf16 (torch.autocast, what `--bf16` does in Trainer) x batching random (Trainer's
RandomSampler) | grouped (transformers' LengthGroupedSampler: megabatches of 50 batches sorted by length, what
`--train_sampling_strategy group_by_length` does) | grouped, padded to a multiple of 8 or 16 (`--pad_to_multiple_of`).
The first `--warmup` steps of each setting are not timed (oneDNN builds kernels for new shapes there too).
Settings take turns in blocks of `--block` steps, so that drift of the machine hits all alike.

A timing is only worth writing down on a quiet machine: the script records the load average and any other process
using the CPU before and after, and marks the result `quiet: false` otherwise. `--contend N` starts N busy-loop
processes on purpose, to measure what a busy machine does to each setting (issue 36).

    python benchmarks/training_speed.py                                  # MiniLM-L6, 2 threads, every setting
    python benchmarks/training_speed.py --contend 1 --tag busy1          # one core taken by another process
    OMP_WAIT_POLICY=passive python benchmarks/training_speed.py --contend 1 --tag busy1-passive
    python benchmarks/training_speed.py --report --markdown BENCHMARKS.md
"""

import argparse
import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from transformers import AutoTokenizer, DataCollatorWithPadding, set_seed  # noqa: E402
from transformers.trainer_pt_utils import LengthGroupedSampler  # noqa: E402

from hardware import cores_used_by_others  # noqa: E402
from data import AffectSpec, load_affect, load_splits, mix  # noqa: E402
from modeling_cmhl import CMHLForSequenceClassification  # noqa: E402
from quality import default_backbone, write_between_markers  # noqa: E402  (benchmarks/)
from outputs import write_json  # noqa: E402

OPENMP_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")  # recorded: they change the timings
SETTINGS = {  # name: (bf16 autocast, length-grouped batches, pad to a multiple of)
    "fp32 random": (False, False, None),
    "fp32 grouped": (False, True, None),
    "bf16 random": (True, False, None),
    "bf16 grouped": (True, True, None),
    "bf16 grouped pad8": (True, True, 8),
    "bf16 grouped pad16": (True, True, 16),
}


def training_rows(data_dir: Path, affect_file: Path, seed: int, tokenizer, max_length: int):
    """The recipe's training mix, tokenized: dair-ai train + EmoBank train (label -1, ratings)."""
    splits, _ = load_splits({"train": data_dir / "train.txt"}, None, None, False, print)
    affect = load_affect(affect_file, AffectSpec("text", "V", "A", (1.0, 5.0), "split"))
    rows = mix(splits["train"], affect["train"], None, seed)
    return rows.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length), batched=True,
                    remove_columns=["text"])


def batches(rows, grouped: bool, pad_to: int | None, batch_size: int, seed: int, tokenizer):
    """Endless padded batches in the order Trainer's sampler would give them."""
    collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to)
    generator = torch.Generator().manual_seed(seed)
    lengths = [len(ids) for ids in rows["input_ids"]]
    while True:
        order = (list(LengthGroupedSampler(batch_size, lengths=lengths, generator=generator)) if grouped
                 else torch.randperm(len(rows), generator=generator).tolist())
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = collate([rows[i] for i in order[start:start + batch_size]])
            batch["labels"] = batch.pop("label") if "label" in batch else batch["labels"]
            yield batch


class Setting:
    """One model, optimizer and batch stream; `step()` runs one optimizer step and returns its real tokens."""

    def __init__(self, name, backbone, rows, tokenizer, args):
        self.name = name
        bf16, grouped, pad_to = SETTINGS[name]
        set_seed(args.seed)
        self.model = CMHLForSequenceClassification.from_backbone(backbone).train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.stream = batches(rows, grouped, pad_to, args.batch_size, args.seed, tokenizer)
        self.autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
        self.seconds = self.real = self.padded = self.steps = 0

    def step(self, timed: bool):
        batch = next(self.stream)
        begin = time.perf_counter()
        with self.autocast():
            loss = self.model(**batch).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if timed:
            self.seconds += time.perf_counter() - begin
            self.real += int(batch["attention_mask"].sum())
            self.padded += batch["attention_mask"].numel()
            self.steps += 1

    def result(self) -> dict:
        return {"s_per_1k_real_tokens": round(1000 * self.seconds / self.real, 4),
                "steps_per_s": round(self.steps / self.seconds, 3), "real_token_share": round(self.real / self.padded, 4),
                "timed_steps": self.steps, "seconds": round(self.seconds, 1)}


def measure(args) -> dict:
    backbone = args.backbone or default_backbone()
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    rows = training_rows(Path(args.data_dir), Path(args.affect_file), args.seed, tokenizer, 128)
    settings = [Setting(name, backbone, rows, tokenizer, args) for name in args.settings]
    load_before, (_, busy_before) = os.getloadavg()[0], cores_used_by_others(1.0)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.contend)]
    try:
        for setting in settings:
            for _ in range(args.warmup):
                setting.step(timed=False)
        for block in range(0, args.steps, args.block):  # settings take turns, block by block
            for setting in settings:
                for _ in range(min(args.block, args.steps - block)):
                    setting.step(timed=True)
    finally:
        for hog in hogs:
            hog.kill()
    load_after, (_, busy_after) = os.getloadavg()[0], cores_used_by_others(1.0)
    # Quiet: no other process used >= 5% of a core just before or after. (The load average lags by minutes, so a
    # job that just ended still shows in it: it is recorded, not judged.)
    quiet = not args.contend and not busy_before and not busy_after
    fp32 = settings[0].result()
    results = {}
    for setting in settings:
        result = setting.result()
        result["speedup_vs_first"] = round(fp32["s_per_1k_real_tokens"] / result["s_per_1k_real_tokens"], 2)
        results[setting.name] = result
    return {"tag": args.tag, "date": str(date.today()), "threads": torch.get_num_threads(), "contend": args.contend,
            "environment": {k: os.environ[k] for k in OPENMP_VARIABLES if k in os.environ}, "quiet": quiet,
            "load_average_before_after": [round(load_before, 2), round(load_after, 2)],
            "other_cpu_users_before_after": [busy_before, busy_after], "machine": platform.processor() or platform.machine(),
            "torch": torch.__version__, "batch_size": args.batch_size, "steps": args.steps, "warmup": args.warmup,
            "command": "".join(f"{k}={os.environ[k]} " for k in OPENMP_VARIABLES if k in os.environ)
            + shlex.join(["python", "benchmarks/training_speed.py", *sys.argv[1:]]), "results": results}


def table(records: list[dict]) -> str:
    lines = ["| run | setting | s / 1k real tokens | steps / s | real-token share | speed-up vs first | quiet |",
             "|---|---|---|---|---|---|---|"]
    for record in records:
        environment = record.get("environment", {})
        run = f"{record['tag']} ({record['threads']} threads, contend {record['contend']}" + "".join(
            f", {k}={v}" for k, v in environment.items()) + ")"
        for name, r in record["results"].items():
            lines.append(f"| {run} | {name} | {r['s_per_1k_real_tokens']:.3f} | {r['steps_per_s']:.2f} | "
                         f"{r['real_token_share']:.0%} | {r['speedup_vs_first']:.2f}x | {record['quiet']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", help="encoder folder or Hub id (default: MiniLM-L6 package)")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data" / "emotion"))
    parser.add_argument("--affect_file", default=str(REPO.parent / "shared" / "data" / "emobank" / "emobank.csv"))
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--steps", type=int, default=60, help="timed optimizer steps per setting")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps per setting first")
    parser.add_argument("--block", type=int, default=10, help="steps a setting runs before the next one's turn")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--contend", type=int, default=0, help="busy-loop processes to run alongside (a busy machine)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's, one per core)")
    parser.add_argument("--tag", default="quiet")
    parser.add_argument("--results_dir", default=str(REPO / "benchmarks" / "results" / "training_speed"))
    parser.add_argument("--report", action="store_true", help="only print the table of every recorded run")
    parser.add_argument("--markdown", type=Path, help="--report: also write it between the training-speed markers")
    args = parser.parse_args()
    results_dir = Path(args.results_dir)
    if not args.report:
        if args.threads:
            torch.set_num_threads(args.threads)
        record = measure(args)
        write_json(results_dir / f"{args.tag}.json", record)
    records = [json.loads(p.read_text()) for p in results_dir.glob("*.json")]
    records.sort(key=lambda r: (r["contend"], r["tag"] != "quiet", r["tag"]))  # the full quiet run, quiet, busy
    text = table(records)
    print(text)
    if args.markdown:
        write_between_markers(args.markdown, "training-speed", text)


if __name__ == "__main__":
    main()
