"""Export the emotion classifier of a CMHL checkpoint to ONNX, and check it against PyTorch.

    python export_onnx.py --model_name_or_path runs/cmhl --output_dir runs/cmhl-onnx \
        --check_file ../shared/data/emotion/validation.txt --check_samples 100

The checkpoint is read by the stock `AutoModelForSequenceClassification` (no custom code: a CMHL checkpoint
is laid out as the encoder's stock classifier, README "Serving"), so the graph is the stock one and any ONNX
runtime serves it. Output: `model.onnx` (inputs `input_ids`, `attention_mask` and, where the tokenizer makes
them, `token_type_ids`, all (batch, sequence) int64 with dynamic axes; output `logits` (batch, labels)),
the tokenizer and `config.json` beside it, and `onnx_check.json` with the largest probability difference
from PyTorch on the check texts. The valence and intensity heads are not exported.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch.export import Dim
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from data import DataError, positive_int, read_lines, refuse_overwrite

TOLERANCE = 1e-4  # largest allowed |p_onnx - p_torch| on the check texts


def read_texts(path: Path, limit: int) -> list[str]:
    """The first `limit` texts of a file `train.py` reads as .txt ("text;label" lines) or of plain text lines;
    an empty file or one of blank lines is an error (a check must check something)."""
    texts = []
    for _, line in read_lines(path):
        if line.strip():
            texts.append(line.rsplit(";", 1)[0] if ";" in line else line)
        if len(texts) == limit:
            break
    if not texts:
        raise DataError(f"{path}: no text to check the export on (the file is empty or blank)")
    return texts


def export(model_name_or_path: str, output_dir: Path, opset: int = 18) -> Path:
    """Write `output_dir/model.onnx` (with tokenizer and config) and return its path."""
    model = AutoModelForSequenceClassification.from_pretrained(model_name_or_path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
    output_dir.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["a first example text", "a second"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    batch, sequence = Dim("batch"), Dim("sequence")
    path = output_dir / "model.onnx"
    # torch.export-based exporter (dynamo=True), the one torch supports; the TorchScript exporter is deprecated
    program = torch.onnx.export(model, (), kwargs={name: sample[name] for name in names}, input_names=names,
                                output_names=["logits"], dynamic_shapes={name: {0: batch, 1: sequence} for name in names},
                                opset_version=opset, dynamo=True)
    program.save(str(path))
    tokenizer.save_pretrained(output_dir)
    model.config.save_pretrained(output_dir)
    return path


def compare(onnx_path: Path, model_name_or_path: str, texts: list[str], batch_size: int = 32) -> float:
    """Largest |softmax(ONNX logits) - softmax(PyTorch logits)| over `texts`."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    model = AutoModelForSequenceClassification.from_pretrained(model_name_or_path, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
    worst = 0.0
    for start in range(0, len(texts), batch_size):
        inputs = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            expected = model(**inputs).logits.softmax(-1).numpy()  # (B, L)
        logits = session.run(["logits"], {k: v.numpy() for k, v in inputs.items() if k in wanted})[0]
        got = np.exp(logits - logits.max(-1, keepdims=True))
        got /= got.sum(-1, keepdims=True)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True, help="CMHL checkpoint folder or Hub id")
    parser.add_argument("--output_dir", required=True, type=Path)
    parser.add_argument("--check_file", type=Path, help="texts to compare ONNX and PyTorch on")
    parser.add_argument("--check_samples", type=positive_int, default=100)
    parser.add_argument("--opset", type=positive_int, default=18)
    args = parser.parse_args(argv)
    refuse_overwrite([args.output_dir, args.output_dir / "model.onnx", args.output_dir / "config.json"],
                     [args.model_name_or_path, args.check_file])
    texts = read_texts(args.check_file, args.check_samples) if args.check_file else None  # before any export
    path = export(args.model_name_or_path, args.output_dir, args.opset)
    report = {"onnx": str(path)}
    if texts:
        report.update(texts=len(texts), max_prob_diff=compare(path, args.model_name_or_path, texts),
                      tolerance=TOLERANCE)
        report["ok"] = report["max_prob_diff"] <= TOLERANCE
    (args.output_dir / "onnx_check.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    if report.get("ok") is False:
        sys.exit(f"ONNX and PyTorch differ by {report['max_prob_diff']:.2e} > {TOLERANCE}")
    return report


if __name__ == "__main__":
    try:
        main()
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
