"""Where predict.py's forward passes run: PyTorch on the checkpoint, or ONNX Runtime on export_onnx.py's graph.

Every runtime maps one padded batch, numpy int64 arrays `input_ids`, `attention_mask` (and `token_type_ids`
where the tokenizer makes them), each (B, T), to the four outputs of `CMHLOutput` as numpy arrays:
`logits` (B, L), `valence` (B,) in [-1, 1], `arousal` (B,) in [0, 1], `intensity` (B,) in [0, 1].

    torch      the checkpoint in PyTorch (default; CPU or GPU), float32, or with precision "bf16" in bf16 autocast
               (hardware.py: 2.4x the texts/s on a CPU with bf16 units; its cost in agreement with float32 is
               measured in BENCHMARKS.md "Training speed")
    onnx       `model.onnx` of an export_onnx.py folder, float32, ONNX Runtime on the CPU
    stock      a stock `AutoModelForSequenceClassification` checkpoint (no CMHL heads: valence, arousal and
               intensity are NaN), for teachers (teachers.py): a plain classifier, or a 2-output regression
    onnx-int8  `model_int8.onnx` of the same folder: weights dynamically quantised to int8
               (onnxruntime.quantization.quantize_dynamic); its accuracy cost is measured in BENCHMARKS.md.
               Activations are quantised with one scale per batch tensor, so a text's outputs depend slightly
               on the texts batched with it (up to ~0.004 in a probability with batches of 8 instead of 64);
               the float32 PyTorch and ONNX runtimes give every text the same values in any batch (1e-5); in bf16
               a text's values may move by about 1e-2 with its batch (another padded length, another kernel).
"""

from pathlib import Path

import numpy as np
import torch

from configuration_cmhl import CMHLConfig
from data import DataError
from modeling_cmhl import CMHLForSequenceClassification
from hardware import autocast
from transformers import AutoModelForSequenceClassification

OUTPUTS = ("logits", "valence", "arousal", "intensity")  # the graph's output names, in this order
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}
RUNTIMES = ("torch", *ONNX_FILES)
PRECISIONS = ("fp32", "bf16")  # of the PyTorch runtimes (torch, stock); the ONNX graphs are what they were exported as
MAX_INPUT_TOKENS_KEY = "cmhl_max_input_tokens"  # ONNX metadata: the encoder's position limit (export_onnx.py)


class TorchRuntime:
    """The checkpoint in PyTorch (the repository's own class: no remote code runs)."""

    def __init__(self, model_name_or_path: str, device: str | None = None, precision: str = "fp32"):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.bf16 = precision == "bf16"
        self.model = CMHLForSequenceClassification.from_pretrained(model_name_or_path).to(self.device).eval()
        self.config = self.model.config
        self.max_input_tokens = self.model.max_input_tokens

    @torch.inference_mode()
    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with autocast(self.device, self.bf16):
            out = self.model(**{name: torch.from_numpy(ids).to(self.device) for name, ids in batch.items()})
        return {name: getattr(out, name).float().cpu().numpy() for name in OUTPUTS}


class StockRuntime:
    """A stock sequence classifier in PyTorch: its logits (B, L); valence, arousal, intensity (B,) NaN. Its config
    is the stock one (`label_names` added, in index order)."""

    def __init__(self, model_name_or_path: str, device: str | None = None, precision: str = "fp32"):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.bf16 = precision == "bf16"
        self.model = AutoModelForSequenceClassification.from_pretrained(model_name_or_path).to(self.device).eval()
        self.config = self.model.config
        self.config.label_names = [self.config.id2label[i] for i in range(self.config.num_labels)]
        self.max_input_tokens = None

    @torch.inference_mode()
    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with autocast(self.device, self.bf16):
            logits = self.model(**{name: torch.from_numpy(ids).to(self.device) for name, ids in batch.items()}).logits
        nan = np.full(len(logits), np.nan, dtype=np.float32)
        return {"logits": logits.float().cpu().numpy(), "valence": nan, "arousal": nan, "intensity": nan}


class OnnxRuntime:
    """An export_onnx.py folder (graph, CMHL config.json, tokenizer) in ONNX Runtime's CPU provider, with
    `threads` intra-op threads (default: torch's, which follows OMP_NUM_THREADS and the process launcher)."""

    def __init__(self, folder: str, runtime: str = "onnx", threads: int | None = None):
        import onnxruntime

        path = Path(folder) / ONNX_FILES[runtime]
        if not path.is_file():
            flag = " --quantize" if runtime == "onnx-int8" else ""
            raise DataError(f"{path}: no such file; --runtime {runtime} reads a folder written by "
                            f"`python export_onnx.py --model_name_or_path <checkpoint> --output_dir {folder}{flag}`")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in self.session.get_outputs()]
        if list(OUTPUTS) != outputs:
            raise DataError(f"{path}: expected the outputs {list(OUTPUTS)}, got {outputs} (an export of an older "
                            "version, emotion head only?); export it again with export_onnx.py")
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.config = CMHLConfig.from_pretrained(folder)
        limit = self.session.get_modelmeta().custom_metadata_map.get(MAX_INPUT_TOKENS_KEY)
        self.max_input_tokens = int(limit) if limit else None

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = self.session.run(list(OUTPUTS), {name: ids for name, ids in batch.items() if name in self.inputs})
        return dict(zip(OUTPUTS, values))


def check_device(device: str | None) -> None:
    """A device torch knows and this machine has, or one sentence naming it: `gpu` is no device name; `cuda` on a
    machine without CUDA, `cuda:3` with two GPUs and `mps` off a Mac are devices this machine lacks."""
    if device is None:
        return
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise DataError(f"--device {device}: expected cpu, cuda, cuda:N or mps") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DataError(f"--device {device}: this machine has no CUDA GPU (torch {torch.__version__}); use "
                            "--device cpu, or leave --device out")
        if parsed.index is not None and parsed.index >= count:
            raise DataError(f"--device {device}: this machine has {count} CUDA GPU(s), cuda:0..cuda:{count - 1}")
    elif parsed.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DataError(f"--device {device}: MPS (Apple GPUs) is not available here; use --device cpu")


def load_runtime(model_name_or_path: str, runtime: str = "torch", device: str | None = None,
                 threads: int | None = None, precision: str = "fp32"):
    """A runtime by name (see the module docstring); `device` and `precision` (PRECISIONS) apply to PyTorch only,
    `threads` (intra-op threads per call) to the ONNX runtimes only."""
    check_device(device)
    if precision not in PRECISIONS:
        raise DataError(f"precision: expected one of {PRECISIONS}, got {precision!r}")
    if runtime == "stock":
        return StockRuntime(model_name_or_path, device, precision)
    if runtime not in RUNTIMES:
        raise DataError(f"runtime: expected one of {RUNTIMES}, got {runtime!r}")
    if runtime == "torch":
        return TorchRuntime(model_name_or_path, device, precision)
    if precision != "fp32":
        raise DataError(f"--precision {precision}: the ONNX runtimes run the graph as exported (float32, or int8 "
                        "weights); bf16 is for --runtime torch")
    if device not in (None, "cpu"):
        raise DataError(f"--device {device}: the ONNX runtimes run on the CPU here; use --runtime torch on {device}")
    return OnnxRuntime(model_name_or_path, runtime, threads)
