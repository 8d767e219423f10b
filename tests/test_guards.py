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
        model.intensity_head.bias.fill_(float("nan"))
    texts = ["i feel happy", "i feel sad", "angry", "i feel"] * 4
    data = Dataset.from_dict({"text": texts, "label": [1, 0, 3, 2] * 4, "valence_labels": [float("nan")] * 16,
                              "intensity_labels": [float("nan")] * 16})
    data = data.map(lambda b: tiny_tokenizer(b["text"]), batched=True, remove_columns=["text"])
    args = CMHLTrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=4, num_train_epochs=1,
                                 eval_strategy="no", save_strategy="steps", save_steps=1,
                                 load_best_model_at_end=False, label_names=LABEL_NAMES, report_to="none")
    trainer = CMHLTrainer(model=model, args=args, train_dataset=data,
                          data_collator=DataCollatorWithPadding(tiny_tokenizer))
    with pytest.raises(NonFiniteLossError, match=r"training step 1: term\(s\) \['intensity'\]"):
        trainer.train()
    assert not list(tmp_path.glob("checkpoint-*"))
