"""Numerical guard: a NaN or infinite loss stops training with the step and the term, and no checkpoint
is written from the poisoned step."""

import pytest
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding

from configuration_cmhl import CMHLConfig
from modeling_cmhl import CMHLForSequenceClassification
from train import CMHLTrainer, CMHLTrainingArguments, LABEL_NAMES, NonFiniteLossError


def test_nan_loss_stops_training_naming_step_and_term(tmp_path, tiny_encoder, tiny_tokenizer):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder))
    with torch.no_grad():
        model.arousal_head.bias.fill_(float("nan"))
    texts = ["i feel happy", "i feel sad", "angry", "i feel"] * 4
    data = Dataset.from_dict({"text": texts, "label": [1, 0, 3, 2] * 4, "valence_labels": [float("nan")] * 16,
                              "arousal_labels": [float("nan")] * 16})
    data = data.map(lambda b: tiny_tokenizer(b["text"]), batched=True, remove_columns=["text"])
    args = CMHLTrainingArguments(output_dir=str(tmp_path), learning_rate=5e-5, per_device_train_batch_size=4, num_train_epochs=1,
                                 eval_strategy="no", save_strategy="steps", save_steps=1,
                                 load_best_model_at_end=False, label_names=LABEL_NAMES, report_to="none")
    trainer = CMHLTrainer(model=model, args=args, train_dataset=data,
                          data_collator=DataCollatorWithPadding(tiny_tokenizer))
    with pytest.raises(NonFiniteLossError, match=r"training step 1: term\(s\) \['arousal'\]"):
        trainer.train()
    assert not list(tmp_path.glob("checkpoint-*"))


def test_no_pickle_is_ever_loaded_unsafely(tmp_path, tiny_encoder, tiny_tokenizer, monkeypatch):
    """Weights are written as safetensors only; on resume, the Trainer state files (optimizer, scheduler,
    RNG: PyTorch pickles) are read with `weights_only=True` only; no code of ours calls torch.load or pickle."""
    import re

    from conftest import REPO

    sources = [p for p in REPO.rglob("*.py") if "tests" not in p.parts and "runs" not in p.parts]
    for path in sources:
        text = path.read_text()
        assert not re.search(r"^\s*(import pickle|from pickle|import dill)", text, re.M), path
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, f"{path}: {call}"

    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder))
    data = Dataset.from_dict({"text": ["i feel happy", "i feel sad"] * 8, "label": [1, 0] * 8,
                              "valence_labels": [float("nan")] * 16, "arousal_labels": [float("nan")] * 16})
    data = data.map(lambda b: tiny_tokenizer(b["text"]), batched=True, remove_columns=["text"])

    def trainer(max_steps):
        args = CMHLTrainingArguments(output_dir=str(tmp_path), learning_rate=5e-5, per_device_train_batch_size=4, max_steps=max_steps,
                                     eval_strategy="no", save_strategy="steps", save_steps=2,
                                     load_best_model_at_end=False, label_names=LABEL_NAMES, report_to="none")
        return CMHLTrainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tiny_tokenizer))

    trainer(2).train()
    checkpoint = tmp_path / "checkpoint-2"
    weights = [p.name for p in checkpoint.iterdir() if p.suffix in (".safetensors", ".bin", ".pt", ".pth", ".ckpt")]
    assert "model.safetensors" in weights and not [w for w in weights if "model" in w and w != "model.safetensors"]

    calls = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append((str(args[0]), kwargs.get("weights_only")))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    trainer(4).train(resume_from_checkpoint=str(checkpoint))
    assert calls and all(safe is True for _, safe in calls), calls
    assert not any(name.endswith(("model.bin", "pytorch_model.bin")) for name, _ in calls)
