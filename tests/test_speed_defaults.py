"""The fast defaults (issue 36): length-grouped batches keep every row once per epoch, bf16 autocast only where the
hardware has bf16 units (detection mocked both ways), and a checkpoint trained in bf16 saves float32 weights that
load and score like any other. Speeds are measured in benchmarks/training_speed.py, never timed here."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import hardware
import train
from conftest import make_tiny_checkpoint
from test_train import data_args, run_train


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """Point hardware.py at a fake /proc/cpuinfo with the given flags; returns the setter."""
    def write(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 avx2 {flags}\n\nprocessor\t: 1\nflags\t\t: fpu {flags}\n")
        monkeypatch.setattr(hardware, "CPUINFO", path)
    return write


def parse(argv):
    return train.parse_arguments([*argv, "--output_dir", "unused", "--report_to", "none"])[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU's units decide only where no GPU is used")
@pytest.mark.parametrize("flags, expected", [("avx512f avx512_bf16", True), ("amx_tile amx_bf16", True),
                                             ("avx512f avx512bw", False), ("", False)])
def test_bf16_default_follows_the_cpus_bf16_units(cpuinfo, flags, expected):
    cpuinfo(flags)
    args = parse([])
    assert args.bf16 is expected
    assert args.use_cpu is expected  # what TrainingArguments needs for bf16 on a CPU; untouched otherwise


def test_bf16_default_is_fp32_without_proc_cpuinfo(tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "CPUINFO", tmp_path / "missing")  # macOS, Windows: no flags to read
    assert hardware.cpu_has_bf16_units() is False


@pytest.mark.parametrize("argv, bf16", [(["--bf16", "false"], False), (["--bf16"], True), (["--bf16", "true"], True),
                                        (["--fp16", "true", "--use_cpu"], False)])
def test_stock_flags_still_decide(cpuinfo, argv, bf16):
    cpuinfo("avx512_bf16")
    try:
        args = parse(argv)
    except ValueError:  # fp16 on a CPU: the stock TrainingArguments' own refusal, never bf16 on top
        assert "--fp16" in argv
        return
    assert args.bf16 is bf16


def test_sampling_defaults_to_length_groups_and_random_restores_the_stock_sampler():
    assert parse([]).train_sampling_strategy == "group_by_length"
    assert parse(["--train_sampling_strategy", "random"]).train_sampling_strategy == "random"


def test_length_grouped_sampler_keeps_every_row_once_per_epoch(tmp_path):
    """The Trainer train.py builds, with its defaults: the training sampler yields each row exactly once per epoch
    (counted), and its batches carry far less padding than random ones."""
    from datasets import Dataset
    from transformers import DataCollatorWithPadding

    from conftest import make_tiny_tokenizer
    from modeling_cmhl import CMHLForSequenceClassification

    generator = np.random.default_rng(0)
    lengths = generator.integers(3, 60, size=1000)  # 1,000 rows of 3..59 tokens, a long tail like tweets
    rows = Dataset.from_dict({"input_ids": [[2] + [30] * (n - 2) + [3] for n in lengths],
                              "attention_mask": [[1] * n for n in lengths], "labels": [0] * len(lengths)})
    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    args = parse(["--per_device_train_batch_size", "8", "--bf16", "false", "--eval_strategy", "no", "--save_strategy", "no",
                  "--load_best_model_at_end", "false"])
    trainer = train.CMHLTrainer(model=CMHLForSequenceClassification.from_pretrained(checkpoint), args=args,
                                train_dataset=rows, processing_class=make_tiny_tokenizer(),
                                data_collator=DataCollatorWithPadding(make_tiny_tokenizer()))
    torch.manual_seed(1)
    for epoch in range(2):
        order = list(trainer._get_train_sampler())
        assert sorted(order) == list(range(len(rows))), f"epoch {epoch}: a row missing or repeated"

    def real_share(order):
        batches = [lengths[order[i:i + 8]] for i in range(0, len(order), 8)]
        return sum(b.sum() for b in batches) / sum(b.max() * len(b) for b in batches)

    assert real_share(order) > 0.9 > 0.7 > real_share(np.random.default_rng(1).permutation(len(rows)).tolist())


def test_a_checkpoint_trained_in_bf16_saves_float32_weights_that_load_and_score(tmp_path):
    from predict import Predictor
    from modeling_cmhl import CMHLForSequenceClassification

    source = make_tiny_checkpoint(tmp_path / "tiny")
    out = tmp_path / "bf16-run"
    run_train(["--model_name_or_path", source, *data_args(train=64, evaluation=32, test=32), "--num_train_epochs", 1,
               "--per_device_train_batch_size", 16, "--bf16", "true", "--output_dir", out, "--report_to", "none"],
              cwd=tmp_path)
    record = json.loads((out / "cmhl_run.json").read_text())
    assert record["training"]["bf16"] == "True" and record["training"]["train_sampling_strategy"] == "group_by_length"
    weights = load_file(out / "model.safetensors")
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}
    model = CMHLForSequenceClassification.from_pretrained(out).eval()
    assert next(model.parameters()).dtype == torch.float32
    texts = ["i feel happy", "i feel sad and angry", "i"]
    predictor = Predictor(str(out), precision="fp32")
    scored = predictor(texts)
    encoded = predictor.tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = model(**encoded).logits.softmax(-1).numpy()
    assert np.allclose(scored["probabilities"], expected, atol=1e-5)
    assert json.loads((out / "all_results.json").read_text())["test_macro_f1"] >= 0


def test_bf16_scoring_agrees_with_float32(tmp_path, cpuinfo):
    """predict.Predictor in bf16 autocast: the same labels as float32 on these texts, probabilities within 0.05."""
    from predict import Predictor, resolve_precision

    cpuinfo("avx512_bf16")
    assert resolve_precision("auto", "torch", "cpu") == "bf16"
    assert resolve_precision("auto", "onnx", "cpu") == "fp32"  # the graph runs as exported
    cpuinfo("avx2")
    assert resolve_precision("auto", "torch", "cpu") == "fp32"
    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    texts = ["i feel happy", "sad", "i feel angry and sad", "happy happy i feel"] * 4
    fp32 = Predictor(str(checkpoint), precision="fp32")(texts)
    bf16 = Predictor(str(checkpoint), precision="bf16")(texts)
    assert np.abs(fp32["probabilities"] - bf16["probabilities"]).max() < 0.05
    assert not np.array_equal(fp32["probabilities"], bf16["probabilities"])  # it did run in bf16


def test_bf16_scoring_of_a_trained_checkpoint_keeps_its_labels(trained_checkpoint):
    """A MiniLM checkpoint trained on real dair-ai rows, 400 dair-ai test texts: bf16 autocast gives float32's label
    to at least 99% of them (BENCHMARKS.md "Training speed" measures the whole test split)."""
    from conftest import DATA
    from predict import Predictor

    lines = (DATA / "emotion" / "test.txt").read_text(encoding="utf-8").splitlines()[:400]
    texts = [line.rsplit(";", 1)[0] for line in lines]
    fp32 = Predictor(str(trained_checkpoint), precision="fp32")(texts)["probabilities"]
    bf16 = Predictor(str(trained_checkpoint), precision="bf16")(texts)["probabilities"]
    assert (fp32.argmax(1) == bf16.argmax(1)).mean() >= 0.99
    assert np.abs(fp32 - bf16).max() < 0.05
