"""CMHLConfig: defaults, validation errors that name the field, and the dict round trip."""

import json
import math

import pytest
from transformers import AutoConfig

from configuration_cmhl import DAIR_AI_LABELS, CMHLConfig


def test_defaults_are_dair_ai_labels_with_warriner_coordinates():
    config = CMHLConfig()
    assert config.label_names == list(DAIR_AI_LABELS)
    assert config.label2id["surprise"] == 5 and config.num_labels == 6
    assert config.encoder_config.model_type == "roberta" and config.encoder_config.hidden_size == 768
    assert config.circumplex_coordinates["joy"] == [8.21, 5.55]
    valence, intensity = config.circumplex_targets()
    assert valence[0] == pytest.approx(2 * (2.40 - 1) / 8 - 1) and intensity[0] == pytest.approx((2.81 - 1) / 8)
    # opposite valence: {sadness, anger, fear} against {joy, love, surprise}
    assert len(config.incompatible_index_pairs()) == 9 and (1, 3) in config.incompatible_index_pairs()


@pytest.mark.parametrize("model_type", ["bert", "roberta", "mpnet", "deberta-v2", "modernbert"])
def test_any_encoder_config(model_type):
    config = CMHLConfig(encoder_config={"model_type": model_type, "hidden_size": 64, "num_attention_heads": 4})
    assert config.encoder_config.model_type == model_type and config.encoder_config.hidden_size == 64


def test_dict_round_trip(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder, contradiction_mode="mass", valence_weight=0.25,
                        incompatible_pairs=[["joy", "anger"]])
    again = CMHLConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.to_dict() == config.to_dict()
    assert again.encoder_config.num_hidden_layers == 2 and again.incompatible_index_pairs() == [(1, 3)]


def test_other_label_sets():
    two = CMHLConfig(id2label={0: "calm", 1: "stress"}, valence_weight=0, arousal_weight=0,
                     contradiction_weight=0)
    assert two.circumplex_coordinates is None and two.num_labels == 2
    subset = CMHLConfig(id2label={0: "joy", 1: "anger"})  # coordinates found for every label
    assert set(subset.circumplex_coordinates) == {"joy", "anger"}
    custom = CMHLConfig(id2label={0: "calm", 1: "stress"}, circumplex_coordinates={"calm": [0.3, -0.6],
                        "stress": [-0.5, 0.7]}, circumplex_scale=[-1, 1])
    assert custom.circumplex_targets() == (pytest.approx([0.3, -0.5]), pytest.approx([0.2, 0.85]))


BAD = [
    ({"valence_weight": -0.1}, "valence_weight"),
    ({"contradiction_weight": math.nan}, "contradiction_weight"),
    ({"emotion_weight": math.inf}, "emotion_weight"),
    ({"regression_loss": "l3"}, "regression_loss"),
    ({"contradiction_mode": "product"}, "contradiction_mode"),
    ({"valence_consistency_form": "cosine"}, "valence_consistency_form"),
    ({"contradiction_threshold": 0.7}, "contradiction_threshold"),
    ({"label_smoothing": 1.0}, "label_smoothing"),
    ({"classifier_dropout": 1.5}, "classifier_dropout"),
    ({"circumplex_scale": [9, 1]}, "circumplex_scale"),
    ({"id2label": {0: "calm", 1: "stress"}}, "circumplex_coordinates"),  # no coordinates for these labels
    ({"id2label": {0: "joy", 1: "joy"}}, "id2label"),
    ({"id2label": {0: "joy", 2: "anger"}}, "id2label"),
    ({"id2label": {0: "joy", 1: "anger"}, "label2id": {"joy": 1, "anger": 0}}, "label2id"),
    ({"num_labels": 3, "id2label": dict(enumerate(DAIR_AI_LABELS))}, "num_labels"),
    ({"circumplex_coordinates": {"sadness": [2.4, 2.81]}}, "missing"),
    ({"circumplex_coordinates": {**{n: [5, 5] for n in DAIR_AI_LABELS}, "disgust": [2, 5]}}, "unknown"),
    ({"circumplex_coordinates": {**{n: [5, 5] for n in DAIR_AI_LABELS}, "joy": [math.nan, 5]}}, "['joy']"),
    ({"circumplex_coordinates": {**{n: [5, 5] for n in DAIR_AI_LABELS}, "joy": [math.inf, 5]}}, "['joy']"),
    ({"circumplex_coordinates": {**{n: [5, 5] for n in DAIR_AI_LABELS}, "joy": [5]}}, "['joy']"),
    ({"incompatible_pairs": [["joy", "joyful"]]}, "incompatible_pairs"),
    ({"encoder_config": {"model_type": "no-such-encoder"}}, "no-such-encoder"),
]


@pytest.mark.parametrize("overrides, field", BAD, ids=[f for _, f in BAD])
def test_bad_values_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        CMHLConfig(**overrides)


def test_hand_edited_config_json_is_checked(tmp_path):
    CMHLConfig().save_pretrained(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data["arousal_weight"] = -1
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="arousal_weight"):
        AutoConfig.from_pretrained(tmp_path, trust_remote_code=True)
