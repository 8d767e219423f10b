"""No number from an untrained head: every metric of the valence and arousal heads is derived from the same list
of trained heads (CMHLConfig.trained_heads) that the card, predict.py and ONNX use."""

import numpy as np
import pytest
from transformers import EvalPrediction

from configuration_cmhl import CMHLConfig
from conftest import TINY_ENCODERS
from metrics import CMHLMetrics

HEAD_KEYS = {"intensity_spread", "valence_spread", "valence_agreement"}
RATED_KEYS = {"valence_pearson", "valence_mae", "arousal_pearson", "arousal_mae", "intensity_mean"}


def predictions(labels):
    n = len(labels)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, 6)).astype(np.float32)
    heads = [rng.uniform(-1, 1, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)]
    ratings = [rng.uniform(-1, 1, n), rng.uniform(0, 1, n)]
    return EvalPrediction(predictions=(logits, *heads), label_ids=(np.array(labels), *ratings))


@pytest.mark.parametrize("trained, kept", [
    (["emotion"], set()),
    (["emotion", "valence"], {"valence_spread", "valence_agreement", "valence_pearson", "valence_mae"}),
    (["emotion", "valence", "arousal"], HEAD_KEYS | RATED_KEYS),
])
def test_metrics_follow_the_trained_heads(trained, kept):
    config = CMHLConfig(encoder_config=dict(TINY_ENCODERS["bert"]), trained_heads=trained)
    metric = CMHLMetrics(config)
    emotion = metric(predictions([0, 1, 2, 3, 4, 5, 0, 1]))
    rated = metric(predictions([-1] * 8))
    assert set(emotion) & HEAD_KEYS == kept & HEAD_KEYS
    assert set(rated) & RATED_KEYS == kept & RATED_KEYS
    assert "macro_f1" in emotion and "valence_pearson_from_emotions" in rated  # the emotion head's own numbers stay
