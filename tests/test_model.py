"""The three-head model: outputs, gradients, switched-off terms, encoders, and `from_backbone`."""

import math

import pytest
import torch

from configuration_cmhl import CMHLConfig
from conftest import TINY_ENCODERS
from modeling_cmhl import CMHLForSequenceClassification


def batch(vocab=64, size=3, length=7):
    torch.manual_seed(0)
    ids = torch.randint(5, vocab, (size, length))
    mask = torch.ones_like(ids)
    mask[0, 4:] = 0  # one padded row
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("model_type", list(TINY_ENCODERS))
def test_outputs_for_every_encoder(model_type):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=TINY_ENCODERS[model_type]))
    out = model.eval()(**batch(), labels=torch.tensor([0, 1, 3]), output_hidden_states=True)
    assert out.logits.shape == (3, 6) and out.valence.shape == out.arousal.shape == out.intensity.shape == (3,)
    assert out.valence.abs().max() <= 1 and 0 <= out.arousal.min() and out.arousal.max() <= 1
    assert 0 <= out.intensity.min() and out.intensity.max() <= 1
    assert out.loss.ndim == 0 and set(out.loss_terms) == {"emotion", "valence", "arousal", "contradiction"}
    assert len(out.hidden_states) == 3  # embeddings + 2 layers


@pytest.mark.parametrize("model_type", list(TINY_ENCODERS))
def test_emotion_path_is_the_stock_classifier(model_type):
    """Same weights in the stock class: same logits, and the same parameters apart from the two extra heads."""
    from transformers import AutoModelForSequenceClassification

    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=TINY_ENCODERS[model_type])).eval()
    stock = AutoModelForSequenceClassification.from_config(model.config.encoder_config).eval()
    missing, unexpected = stock.load_state_dict(model.state_dict(), strict=False)
    assert missing == [] and sorted(unexpected) == sorted(
        f"{h}.{p}" for h in ("valence_head", "arousal_head") for p in ("weight", "bias"))
    with torch.no_grad():
        assert torch.equal(model(**batch()).logits, stock(**batch()).logits)


def test_no_labels_no_loss(tiny_encoder):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).eval()
    out = model(**batch())
    assert out.loss is None and out.loss_terms is None and out.logits.shape == (3, 6)


def test_padding_does_not_change_a_row(tiny_encoder):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).eval()
    inputs = batch()
    short = {k: v[:1, :4] for k, v in inputs.items()}
    assert torch.allclose(model(**inputs).logits[0], model(**short).logits[0], atol=1e-5)


def test_gradients_reach_every_head_and_the_encoder(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder, classifier_dropout=0.0, label_target_weight=1.0)
    model = CMHLForSequenceClassification(config)
    model(**batch(), labels=torch.tensor([0, 1, 3])).loss.backward()
    for name in ("classifier", "valence_head", "arousal_head", "bert.pooler.dense"):
        assert model.get_submodule(name).weight.grad.abs().sum() > 0, name
    assert model.bert.get_input_embeddings().weight.grad.abs().sum() > 0
    assert model.bert.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("term, head", [("valence", "valence_head"), ("arousal", "arousal_head")])
def test_zero_weight_contributes_nothing(tiny_encoder, term, head):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder, **{f"{term}_weight": 0.0}))
    out = model(**batch(), labels=torch.tensor([0, 1, 3]))
    assert term not in out.loss_terms
    out.loss.backward()
    assert getattr(model, head).weight.grad is None  # the head's output never reached the loss


def test_all_auxiliary_weights_zero_is_plain_cross_entropy(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder, valence_weight=0, arousal_weight=0, contradiction_weight=0)
    model = CMHLForSequenceClassification(config).eval()
    labels = torch.tensor([0, 1, 3])
    out = model(**batch(), labels=labels)
    assert out.loss.item() == pytest.approx(torch.nn.functional.cross_entropy(out.logits, labels).item(), abs=1e-6)


def test_per_example_targets_override_the_circumplex(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder, arousal_weight=0, contradiction_weight=0, emotion_weight=0,
                        label_target_weight=0.5)
    model = CMHLForSequenceClassification(config).eval()
    labels = torch.tensor([0, 1, 3])
    out = model(**batch(), labels=labels, valence_labels=torch.tensor([0.9, float("nan"), -0.2]))
    targets = torch.tensor([0.9, config.circumplex_targets()[0][1], -0.2])
    weights = torch.tensor([1.0, 0.5, 1.0])  # a rating counts fully, the label's point as label_target_weight says
    expected = (weights * (out.valence - targets) ** 2).mean().item()
    assert out.loss_terms["valence"].item() == pytest.approx(expected, abs=1e-6)
    assert out.loss.item() == pytest.approx(config.valence_weight * expected, abs=1e-6)


def test_two_label_model_without_circumplex(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder, id2label={0: "none", 1: "stress"}, valence_weight=0,
                        arousal_weight=0, contradiction_weight=0)
    out = CMHLForSequenceClassification(config)(**batch(), labels=torch.tensor([0, 1, 1]))
    assert out.logits.shape == (3, 2) and set(out.loss_terms) == {"emotion"}


def test_edited_config_is_checked_when_the_model_is_built(tiny_encoder):
    config = CMHLConfig(encoder_config=tiny_encoder)
    config.contradiction_weight = -1.0
    with pytest.raises(ValueError, match="contradiction_weight"):
        CMHLForSequenceClassification(config)


def test_from_backbone_loads_minilm(minilm_path):
    from transformers import AutoModel

    model, info = CMHLForSequenceClassification.from_backbone(minilm_path, output_loading_info=True)
    stock = AutoModel.from_pretrained(minilm_path)
    for name, tensor in stock.state_dict().items():  # encoder and pooler, as the stock classifier loads them
        assert torch.equal(model.bert.state_dict()[name], tensor), name
    assert info["unused_checkpoint_tensors"] == []
    assert sorted(info["newly_initialized"]) == sorted(
        f"{head}.{p}" for head in ("classifier", "valence_head", "arousal_head") for p in ("weight", "bias"))
    assert model.config.encoder_config.model_type == "bert" and model.config.num_labels == 6


@pytest.mark.parametrize("model_type", list(TINY_ENCODERS))
def test_any_input_length_gets_a_prediction(model_type):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=TINY_ENCODERS[model_type])).eval()
    ids = torch.randint(5, 64, (2, 500))  # far beyond the 64-70 positions of the tiny encoders
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids))
        cut = model(input_ids=ids[:, :model.max_input_tokens], attention_mask=torch.ones_like(ids[:, :model.max_input_tokens]))
    assert torch.allclose(out.logits, cut.logits)
    # RoBERTa: positions start after pad_token_id 0; MPNet: after its fixed padding index 1
    assert model.max_input_tokens == {"roberta": 70 - 1, "mpnet": 70 - 2}.get(model_type, 64)


def test_pipeline_is_total(tiny_encoder, tiny_tokenizer):
    from transformers import pipeline

    from modeling_cmhl import register_auto_classes

    register_auto_classes()
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).eval()
    classifier = pipeline("text-classification", model=model, tokenizer=tiny_tokenizer)
    texts = ["", "   \n\t ", "i feel happy " * 8000, "😀🔥💔", "我今天很开心", "Ich bin wütend", "حزين جدا"]
    outputs = classifier(texts, top_k=None, batch_size=4)
    assert len(outputs) == len(texts)
    for scores in outputs:
        assert len(scores) == 6 and sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)


def test_a_deep_copy_is_independent(tiny_encoder):
    """The stock classifier's forward hook feeds the copy's own heads (EMA, model soups and the like copy)."""
    import copy

    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).eval()
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.valence_head.bias.add_(0.5)
        twin.classifier.bias.add_(1.0)
        original, copied = model(**batch()), twin(**batch())
    assert not torch.allclose(original.valence, copied.valence)
    assert torch.allclose(original.logits + 1.0, copied.logits, atol=1e-5)
    assert model.stock_classifier.classifier is model.classifier and twin.stock_classifier.classifier is twin.classifier


def test_a_rated_row_trains_the_dimensional_heads_only(tiny_encoder):
    """Loss masking: a row with label -1 (rated text) gives no cross-entropy or contradiction gradient; an
    emotion row without ratings gives no regression gradient when label_target_weight is 0."""
    config = CMHLConfig(encoder_config=tiny_encoder)
    model = CMHLForSequenceClassification(config).eval()
    inputs = {k: v[:1] for k, v in batch().items()}
    rated = model(**inputs, labels=torch.tensor([-1]), valence_labels=torch.tensor([0.3]),
                  arousal_labels=torch.tensor([0.8]))
    assert rated.loss_terms["emotion"].item() == 0 and rated.loss_terms["contradiction"].item() == 0
    rated.loss.backward()
    assert model.classifier.weight.grad.abs().sum() == 0  # nothing reached the emotion output layer
    assert model.valence_head.weight.grad.abs().sum() > 0 and model.arousal_head.weight.grad.abs().sum() > 0
    expected = 0.5 * (rated.valence - 0.3) ** 2 + 0.5 * (rated.arousal - 0.8) ** 2
    assert rated.loss.item() == pytest.approx(expected.item(), abs=1e-6)
    model.zero_grad()
    labelled = model(**inputs, labels=torch.tensor([1]))  # no rating, label_target_weight 0
    labelled.loss.backward()
    assert model.valence_head.weight.grad.abs().sum() == 0 and model.arousal_head.weight.grad.abs().sum() == 0
    assert model.classifier.weight.grad.abs().sum() > 0


def test_intensity_is_the_distance_from_the_neutral_centre(tiny_encoder):
    from modeling_cmhl import circumplex_intensity

    valence, arousal = torch.tensor([0.0, -0.9, 0.3, 1.0, 0.0]), torch.tensor([0.5, 0.2, 0.55, 1.0, 0.0])
    expected = [0.0, math.sqrt(0.81 + 0.36) / math.sqrt(2), math.sqrt(0.09 + 0.01) / math.sqrt(2), 1.0, 1 / math.sqrt(2)]
    assert circumplex_intensity(valence, arousal).tolist() == pytest.approx(expected, abs=1e-5)
    assert circumplex_intensity(valence, arousal, "arousal").tolist() == pytest.approx(arousal.tolist())
    # "devastated" (very unpleasant, calm) is more intense than "a bit annoyed" (mildly unpleasant, neutral arousal)
    assert expected[1] > expected[2]
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).eval()
    out = model(**batch())
    assert torch.allclose(out.intensity, circumplex_intensity(out.valence, out.arousal))


@pytest.mark.parametrize("model_type", list(TINY_ENCODERS))
def test_mean_token_features_skip_padding(model_type):
    """dimensional_features "mean_tokens": the heads read the mean of the last hidden states over the text's
    tokens, computed by hand here; a padded row gives what it gives alone."""
    torch.manual_seed(0)
    config = CMHLConfig(encoder_config=TINY_ENCODERS[model_type], dimensional_features="mean_tokens")
    model = CMHLForSequenceClassification(config).eval()
    inputs = batch()
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
        states = out.hidden_states[-1]  # (B, T, H)
        mask = inputs["attention_mask"][:, :, None].float()
        pooled = (states * mask).sum(1) / mask.sum(1)  # (B, H)
        assert torch.allclose(out.valence, torch.tanh(model.valence_head(pooled)).squeeze(-1), atol=1e-6)
        assert torch.allclose(out.arousal, torch.sigmoid(model.arousal_head(pooled)).squeeze(-1), atol=1e-6)
        short = model(**{k: v[:1, :4] for k, v in inputs.items()})
    assert short.valence[0] == pytest.approx(out.valence[0].item(), abs=1e-5)


@pytest.mark.parametrize("model_type", list(TINY_ENCODERS))
def test_emotion_head_features_are_what_the_emotion_head_reads(model_type):
    """dimensional_features "emotion_head": the valence and arousal heads read the vector that enters the
    emotion head's last linear layer (captured here by a hook of the test's own), not the mean of the tokens."""
    torch.manual_seed(0)
    config = CMHLConfig(encoder_config=TINY_ENCODERS[model_type], dimensional_features="emotion_head")
    model = CMHLForSequenceClassification(config).eval()
    seen = []
    model.get_submodule(model.emotion_output_layer).register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.no_grad():
        out = model(**batch())
    features = seen[-1]  # (B, F)
    assert features.shape[-1] == model.valence_head.in_features
    assert torch.allclose(out.valence, torch.tanh(model.valence_head(features)).squeeze(-1), atol=1e-6)
    assert torch.allclose(out.arousal, torch.sigmoid(model.arousal_head(features)).squeeze(-1), atol=1e-6)
    assert CMHLConfig(encoder_config=TINY_ENCODERS[model_type]).dimensional_features == "mean_tokens"


def test_a_config_from_before_dimensional_features_reads_as_emotion_head(tiny_encoder, tmp_path):
    import json

    CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder, dimensional_features="mean_tokens")
                                  ).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config.pop("dimensional_features") == "mean_tokens"
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert CMHLConfig.from_pretrained(tmp_path).dimensional_features == "emotion_head"
    with pytest.raises(ValueError, match=r"dimensional_features: expected one of \('emotion_head', 'mean_tokens'\)"):
        CMHLConfig(encoder_config=tiny_encoder, dimensional_features="cls")
