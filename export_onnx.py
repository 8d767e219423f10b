"""Export a CMHL checkpoint to ONNX (all heads), optionally an int8 variant, and check both against PyTorch.

    python export_onnx.py --model_name_or_path runs/cmhl --output_dir runs/cmhl-onnx --quantize \
        --check_file ../shared/data/emotion/validation.txt --check_samples 100
    python predict.py --model_name_or_path runs/cmhl-onnx --runtime onnx-int8 --input_file ... --output_file ...

Output folder: `model.onnx`, inputs `input_ids`, `attention_mask` and, where the tokenizer makes them,
`token_type_ids`, all (batch, sequence) int64 with dynamic axes; outputs `logits` (batch, labels), `valence`,
`arousal`, `intensity` (batch,), as in `CMHLOutput` (runtimes.OUTPUTS). It is plain ONNX (opset 18): any ONNX
runtime serves it. With `--quantize`, also `model_int8.onnx`: the same graph with its weights dynamically
quantised to int8 (onnxruntime's `quantize_dynamic`, per channel, on the encoder's MatMul nodes: int8
matrix products, activations quantised on the fly; the embedding table stays float32: MiniLM-L6 60 MB against
92 MB). Beside them: the tokenizer, the checkpoint's `config.json` (labels, circumplex,
consistency settings) and `onnx_check.json`: on the check texts, the largest difference from PyTorch of each
output, and for int8 the share of texts whose predicted label PyTorch agrees with.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from torch.export import Dim

import entry
from data import DataError, positive_int, read_lines
from outputs import Output, write_json
from saves import check_save, load_tokenizer, write_manifest
from metrics import softmax
from modeling_cmhl import CMHLForSequenceClassification
from runtimes import MAX_INPUT_TOKENS_KEY, ONNX_FILES, OUTPUTS, OnnxRuntime, TorchRuntime

MIN_OPSET = 18  # torch.onnx.export(dynamo=True) writes this opset and above
TOLERANCE = 1e-4  # float32 graph: largest allowed |difference| from PyTorch of probabilities and dimensional heads
INT8_MIN_AGREEMENT = 0.95  # int8 graph: least share of check texts with PyTorch's label (its F1 cost: BENCHMARKS.md)


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


class _Heads(torch.nn.Module):
    """CMHL's forward with the four `CMHLOutput` tensors as a tuple, the form the exporter traces."""

    def __init__(self, model: CMHLForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):  # (B, T) each
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return tuple(getattr(out, name) for name in OUTPUTS)


def earlier_export(folder: Path) -> str | None:
    """Why `folder` may not be replaced by a new export (None: it holds an earlier export only)."""
    held = sorted(p.name for p in folder.iterdir())
    if any(folder.glob("*.safetensors")) or (folder / "pytorch_model.bin").exists():
        return f"it holds a checkpoint ({held[:4]}); export into a folder of its own"
    if not any(name.endswith(".onnx") or name == "onnx_check.json" for name in held):
        return f"it holds no earlier export ({held[:5]}); give a new folder"
    return None


def graph_opset(path: Path) -> int:
    """The default-domain opset a saved graph declares."""
    graph = onnx.load(str(path), load_external_data=False)
    return next(entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx"))


def export(model_name_or_path: str, output_dir: Path, opset: int = 18, quantize: bool = False) -> list[Path]:
    """Write `output_dir/model.onnx` (and with `quantize`, `model_int8.onnx`), the tokenizer and the config;
    returns the graphs' paths."""
    model = CMHLForSequenceClassification.from_pretrained(model_name_or_path, dtype=torch.float32).eval()
    tokenizer = load_tokenizer(model_name_or_path)
    sample = tokenizer(["a first example text", "a second"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    batch, sequence = Dim("batch"), Dim("sequence")
    path = output_dir / ONNX_FILES["onnx"]
    # torch.export-based exporter (dynamo=True), the one torch supports; the TorchScript exporter is deprecated
    program = torch.onnx.export(_Heads(model), (), kwargs={name: sample[name] for name in names}, input_names=names,
                                output_names=list(OUTPUTS), opset_version=opset, dynamo=True,
                                dynamic_shapes={name: {0: batch, 1: sequence} for name in names})
    program.save(str(path))
    if graph_opset(path) != opset:  # the exporter may raise the opset by itself: never hand over another than asked
        raise DataError(f"--opset {opset}: the exporter wrote opset {graph_opset(path)}; give --opset "
                        f"{graph_opset(path)} (torch's exporter writes opset {MIN_OPSET} and above)")
    if model.max_input_tokens is not None:  # the graph keeps the first N tokens; predict.py truncates to N
        graph = onnx.load(str(path))
        onnx.helper.set_model_props(graph, {MAX_INPUT_TOKENS_KEY: str(model.max_input_tokens)})
        onnx.save(graph, str(path))
    paths = [path]
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        paths.append(output_dir / ONNX_FILES["onnx-int8"])
        # int8 weights per output channel, MatMul nodes only (the encoder's projections); the Gemm nodes (pooler,
        # emotion and dimensional heads: a few thousand weights) stay float32. On 400 dair-ai validation texts
        # (MiniLM-L6) this kept PyTorch's label on 98.8% of texts, against 94.5% for the defaults (per tensor,
        # every op) and 97.8% per channel on every op.
        quantize_dynamic(str(path), str(paths[-1]), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    tokenizer.save_pretrained(output_dir)
    model.config.save_pretrained(output_dir)
    return paths


def compare(output_dir: Path, model_name_or_path: str, texts: list[str], runtime: str = "onnx",
            batch_size: int = 32) -> dict:
    """The ONNX graph of `runtime` against the PyTorch checkpoint on `texts`: the largest |difference| of the
    probabilities and of each dimensional output, and the share of texts given the same label."""
    graph, reference = OnnxRuntime(str(output_dir), runtime), TorchRuntime(model_name_or_path, "cpu")
    tokenizer = load_tokenizer(model_name_or_path)
    worst = {"probabilities": 0.0, "valence": 0.0, "arousal": 0.0, "intensity": 0.0}
    agree = 0
    for start in range(0, len(texts), batch_size):
        inputs = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, return_tensors="np")
        inputs = {name: ids.astype(np.int64) for name, ids in inputs.items()}
        got, expected = graph(inputs), reference(inputs)
        p_got, p_expected = softmax(got["logits"].astype(np.float64)), softmax(expected["logits"].astype(np.float64))
        worst["probabilities"] = max(worst["probabilities"], float(np.abs(p_got - p_expected).max()))
        for name in ("valence", "arousal", "intensity"):
            worst[name] = max(worst[name], float(np.abs(got[name] - expected[name]).max()))
        agree += int((p_got.argmax(-1) == p_expected.argmax(-1)).sum())
    return {"max_diff": worst, "label_agreement": agree / len(texts)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", required=True, help="CMHL checkpoint folder or Hub id")
    parser.add_argument("--output_dir", required=True, type=Path)
    parser.add_argument("--quantize", action="store_true", help="also write model_int8.onnx (dynamic int8)")
    parser.add_argument("--check_file", type=Path, help="texts to compare ONNX and PyTorch on")
    parser.add_argument("--check_samples", type=positive_int, default=100)
    parser.add_argument("--opset", type=positive_int, default=18)
    parser.add_argument("--overwrite_output_dir", action="store_true",
                        help="replace a non-empty --output_dir that holds an earlier export (removed whole first)")
    args = parser.parse_args(argv)
    if args.opset < MIN_OPSET:
        raise DataError(f"--opset {args.opset}: torch's exporter (torch.onnx.export, dynamo=True) writes opset "
                        f"{MIN_OPSET} and above; give --opset {MIN_OPSET} or higher")
    output = Output(args.output_dir, "folder", flag="--output_dir", overwrite=args.overwrite_output_dir,
                    inputs=[args.model_name_or_path, args.check_file], replaceable=earlier_export,
                    tool="another export_onnx.py")
    check_save(args.model_name_or_path)  # one whole save: config, weights, tokenizer
    texts = read_texts(args.check_file, args.check_samples) if args.check_file else None  # before any export
    with output:  # locked now; the export is staged and renamed into place only when every check passed
        paths = export(args.model_name_or_path, output.staging, args.opset, args.quantize)
        report = {"onnx": [str(output.path / p.name) for p in paths]}
        failures = []
        if texts:
            report.update(texts=len(texts), tolerance=TOLERANCE, int8_min_agreement=INT8_MIN_AGREEMENT)
            for runtime in list(ONNX_FILES)[:len(paths)]:
                report[runtime] = compare(output.staging, args.model_name_or_path, texts, runtime)
                if runtime == "onnx" and max(report[runtime]["max_diff"].values()) > TOLERANCE:
                    failures.append(f"ONNX and PyTorch differ by up to {max(report[runtime]['max_diff'].values()):.2e} "
                                    f"> {TOLERANCE}")
                if runtime == "onnx-int8" and report[runtime]["label_agreement"] < INT8_MIN_AGREEMENT:
                    failures.append(f"int8 ONNX gives PyTorch's label on {report[runtime]['label_agreement']:.0%} of "
                                    f"the check texts < {INT8_MIN_AGREEMENT:.0%}")
            report["ok"] = not failures
        print(json.dumps(report))
        if failures:  # leaving the block with an error removes the staged export: nothing is left to serve
            raise ExportCheckFailed(f"the export failed its check and was not written ({'; '.join(failures)})")
        write_json(output.staging / "onnx_check.json", report)
        write_manifest(output.staging)  # the export's parts by content: a stale graph beside them is refused on load
    return report


class ExportCheckFailed(RuntimeError):
    """The exported graph differs from PyTorch beyond the tolerance; nothing was written."""


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted="nothing was written (an export is written whole, once checked); run "
              "the same command again", failures={ExportCheckFailed: 1},
              writing=lambda: entry.flag_value(argv, "--output_dir"))


if __name__ == "__main__":
    cli()
