"""Each loss term against values worked out by hand (closed forms with `math`, not torch)."""

import math

import pytest
import torch

from loss import (NO_EMOTION, cmhl_loss, contradiction_loss, emotion_loss, incompatibility_matrix, regression_loss,
                  regression_targets, valence_consistency_loss)

# Three labels a, b, c; only a and c contradict each other.
INCOMPATIBLE = incompatibility_matrix(3, [(0, 2)])
LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
LABELS = torch.tensor([0, 1])


def test_emotion_cross_entropy_by_hand():
    row0 = math.log(1 + 2 * math.exp(-2))  # -log(e^2 / (e^2 + 2))
    row1 = math.log(1 + 2 / math.e)  # -log(e / (e + 2))
    assert emotion_loss(LOGITS, LABELS).item() == pytest.approx((row0 + row1) / 2, abs=1e-6)


def test_emotion_loss_ignores_rows_and_divides_by_num_items():
    labels = torch.tensor([0, -100])
    row0 = math.log(1 + 2 * math.exp(-2))
    assert emotion_loss(LOGITS, labels).item() == pytest.approx(row0, abs=1e-6)
    assert emotion_loss(LOGITS, labels, num_items=4).item() == pytest.approx(row0 / 4, abs=1e-6)


def test_label_smoothing_by_hand():
    eps = 0.3  # target: 1 - eps + eps/3 on the gold label, eps/3 elsewhere
    log_p = [2 - math.log(math.exp(2) + 2), -math.log(math.exp(2) + 2), -math.log(math.exp(2) + 2)]
    expected = -((1 - eps + eps / 3) * log_p[0] + eps / 3 * (log_p[1] + log_p[2]))
    got = emotion_loss(LOGITS[:1], LABELS[:1], label_smoothing=eps).item()
    assert got == pytest.approx(expected, abs=1e-6)


def test_regression_targets_from_rating_label_or_none():
    table = torch.tensor([1.0, -1.0, 0.0])
    labels = torch.tensor([0, 1, NO_EMOTION])
    given = torch.tensor([float("nan"), 0.5, 0.25])
    target, weight = regression_targets(labels, table, given, label_target_weight=0.3)
    assert target.tolist() == [1.0, 0.5, 0.25] and weight.tolist() == pytest.approx([0.3, 1.0, 1.0])
    target, weight = regression_targets(labels, table, None, label_target_weight=1.0)
    assert target.tolist() == [1.0, -1.0, 0.0] and weight.tolist() == [1.0, 1.0, 0.0]  # no label, no rating: none
    target, weight = regression_targets(labels, table, given, label_target_weight=0.0)
    assert weight.tolist() == [0.0, 1.0, 1.0] and not torch.isnan(target).any()


def test_regression_losses_by_hand():
    prediction = torch.tensor([0.5, -0.5])
    target = torch.tensor([1.0, 0.5])
    weight = torch.tensor([1.0, 1.0])
    labels = torch.tensor([0, 1])
    assert regression_loss(prediction, target, weight, labels, "mse").item() == pytest.approx((0.25 + 1.0) / 2)
    # Huber, beta 1: 0.5 d^2 for |d| < 1, |d| - 0.5 otherwise
    assert regression_loss(prediction, target, weight, labels, "smooth_l1").item() == pytest.approx((0.125 + 0.5) / 2)
    # a row without a target (weight 0) adds nothing but still counts in the mean; an ignored row does not count
    assert regression_loss(prediction, target, torch.tensor([1.0, 0.0]), labels, "mse").item() == pytest.approx(0.125)
    assert regression_loss(prediction, target, weight, torch.tensor([0, -100]), "mse").item() == pytest.approx(0.25)


def test_rated_rows_count_but_give_no_emotion_terms():
    labels = torch.tensor([0, NO_EMOTION])
    row0 = math.log(1 + 2 * math.exp(-2))
    assert emotion_loss(LOGITS, labels).item() == pytest.approx(row0 / 2, abs=1e-6)  # mean over both rows
    con = contradiction_loss(LOGITS, labels, INCOMPATIBLE, "margin", margin=1.0).item()
    assert con == pytest.approx(math.log(1 + math.exp(-1)) / 2, abs=1e-6)


def test_a_word_rated_for_valence_only_trains_the_valence_head_only():
    # one row, no emotion label, valence rated 0.5, arousal not rated (NaN): a lexicon word
    logits = torch.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    valence = torch.tensor([0.1], requires_grad=True)
    arousal = torch.tensor([0.7], requires_grad=True)
    loss = cmhl_loss(logits, valence, arousal, torch.tensor([NO_EMOTION]), label_valence=torch.tensor([1.0, -1.0, 0.0]),
                     label_arousal=torch.tensor([0.5, 0.5, 0.5]), incompatible=INCOMPATIBLE,
                     valence_labels=torch.tensor([0.5]), arousal_labels=torch.tensor([float("nan")]),
                     valence_weight=0.5, arousal_weight=0.5, label_target_weight=1.0, valence_variance=0.2)
    assert loss.valence.item() == pytest.approx((0.1 - 0.5) ** 2 / 0.2)
    assert loss.arousal.item() == 0 and loss.emotion.item() == 0
    loss.total.backward()
    assert valence.grad.item() == pytest.approx(0.5 * 2 * (0.1 - 0.5) / 0.2)
    assert arousal.grad.item() == 0 and logits.grad.abs().sum() == 0


def test_valence_consistency_by_hand():
    # p = softmax(logits); implied valence sum_k p_k v_k; against the head's valence (no gradient to the head)
    logits = torch.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    valence = torch.tensor([0.5], requires_grad=True)
    table = torch.tensor([1.0, -1.0, 0.0])
    p = [math.exp(2) / (math.exp(2) + 2), 1 / (math.exp(2) + 2), 1 / (math.exp(2) + 2)]
    implied = p[0] - p[1]
    loss = valence_consistency_loss(logits, valence, table)
    assert loss.item() == pytest.approx((implied - 0.5) ** 2, abs=1e-6)
    loss.backward()
    assert valence.grad is None and logits.grad.abs().sum() > 0


def test_sign_disagreement_consistency_by_hand():
    # u = sum_k p_k v_k = p_a - p_b; K = max(0, -u h): 0 when the head agrees in sign, u |h| when it does not
    table = torch.tensor([1.0, -1.0, 0.0])
    u = (math.exp(2) - 1) / (math.exp(2) + 2)
    agreeing = valence_consistency_loss(torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([0.5]), table,
                                        form="sign_disagreement")
    assert agreeing.item() == 0  # the squared form would pull here: (u - 0.5)^2 > 0
    logits = torch.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
    valence = torch.tensor([-0.5], requires_grad=True)
    loss = valence_consistency_loss(logits, valence, table, form="sign_disagreement")
    assert loss.item() == pytest.approx(u * 0.5, abs=1e-6)
    loss.backward()
    assert valence.grad is None  # the head is the teacher
    # dK/dz_j = 0.5 du/dz_j = 0.5 p_j (v_j - u)
    p = [math.exp(2) / (math.exp(2) + 2), 1 / (math.exp(2) + 2), 1 / (math.exp(2) + 2)]
    expected = [0.5 * p[j] * (table[j].item() - u) for j in range(3)]
    assert logits.grad[0].tolist() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="sign_disagreement"):
        valence_consistency_loss(logits, valence, table, form="cosine")


def test_margin_contradiction_by_hand():
    # row 0: gold a, only c contradicts it: log(1 + exp(z_c - z_a + m)) = log(1 + e^-1)
    # row 1: gold b contradicts nothing: 0, but it still counts in the mean
    got = contradiction_loss(LOGITS, LABELS, INCOMPATIBLE, "margin", margin=1.0).item()
    assert got == pytest.approx(math.log(1 + math.exp(-1)) / 2, abs=1e-6)


def test_mass_contradiction_by_hand():
    p_c = 1 / (math.exp(2) + 2)  # softmax([2, 0, 0])[c]
    got = contradiction_loss(LOGITS[:1], LABELS[:1], INCOMPATIBLE, "mass").item()
    assert got == pytest.approx(-math.log(1 - p_c), abs=1e-6)


@pytest.mark.parametrize("mode", ["margin", "mass"])
def test_contradiction_larger_for_incompatible_prediction(mode):
    gold = torch.tensor([0])
    compatible = torch.tensor([[1.0, 1.0, -5.0]])  # split between a and b
    incompatible = torch.tensor([[1.0, -5.0, 1.0]])  # split between a and c
    low = contradiction_loss(compatible, gold, INCOMPATIBLE, mode).item()
    high = contradiction_loss(incompatible, gold, INCOMPATIBLE, mode).item()
    assert high > 10 * low
    if mode == "margin":
        assert high == pytest.approx(math.log(1 + math.e), abs=1e-6)
        assert low == pytest.approx(math.log(1 + math.exp(-5)), abs=1e-6)


def test_margin_contradiction_gradient_by_hand():
    # d/dz_c log(1 + exp(z_c - z_a + m)) = sigmoid(z_c - z_a + m) = -d/dz_a; labels outside N(a) get none.
    # At p_a = 0.95 that is sigmoid(-2) = 0.119, about three times the gradient of the product p_a * p_c.
    logits = torch.tensor([[3.0, -9.0, 0.0]], requires_grad=True)
    contradiction_loss(logits, torch.tensor([0]), INCOMPATIBLE, "margin", margin=1.0).backward()
    sigmoid = 1 / (1 + math.exp(2.0))
    assert logits.grad[0].tolist() == pytest.approx([-sigmoid, 0.0, sigmoid], abs=1e-6)
    product = torch.tensor([[3.0, -9.0, 0.0]], requires_grad=True)
    probs = product.softmax(-1)
    (probs[0, 0] * probs[0, 2]).backward()
    assert logits.grad[0, 2] > 2.5 * product.grad[0, 2].abs()


def test_total_is_the_weighted_sum_and_terms_are_reported():
    valence, intensity = torch.tensor([0.5, -0.5]), torch.tensor([0.2, 0.9])
    tables = dict(label_valence=torch.tensor([1.0, -1.0, 0.0]), label_arousal=torch.tensor([0.0, 1.0, 0.5]),
                  incompatible=INCOMPATIBLE)
    result = cmhl_loss(LOGITS, valence, intensity, LABELS, **tables, emotion_weight=1.0, valence_weight=0.5,
                       arousal_weight=0.25, contradiction_weight=2.0, label_target_weight=1.0)
    ce = (math.log(1 + 2 * math.exp(-2)) + math.log(1 + 2 / math.e)) / 2
    val = (0.25 + 0.25) / 2  # targets 1, -1
    inten = (0.04 + 0.01) / 2  # targets 0, 1
    con = math.log(1 + math.exp(-1)) / 2
    assert result.total.item() == pytest.approx(ce + 0.5 * val + 0.25 * inten + 2.0 * con, abs=1e-6)
    assert {k: round(v.item(), 6) for k, v in result.terms().items()} == {
        "emotion": round(ce, 6), "valence": round(val, 6), "arousal": round(inten, 6), "contradiction": round(con, 6)}


def test_zero_weight_skips_the_term():
    # No circumplex tables at all: computing any auxiliary term would fail.
    result = cmhl_loss(LOGITS, torch.zeros(2), torch.zeros(2), LABELS, label_valence=None, label_arousal=None,
                       incompatible=None, valence_weight=0, arousal_weight=0, contradiction_weight=0)
    assert set(result.terms()) == {"emotion"}
    assert result.total.item() == pytest.approx(emotion_loss(LOGITS, LABELS).item())


def test_num_items_makes_accumulation_exact():
    """Four micro-batches of 2 rows, normalised by the 8 rows of the whole batch, sum to the loss of the
    whole batch, with a rated row, per-row ratings and every term live."""
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 3), torch.tensor([0, 1, 2, 0, 2, NO_EMOTION, 0, 2])
    valence, arousal = torch.randn(8).tanh(), torch.rand(8)
    ratings = torch.tensor([float("nan")] * 5 + [0.3, float("nan"), -0.4])
    tables = dict(label_valence=torch.tensor([1.0, -1.0, 0.0]), label_arousal=torch.tensor([0.0, 1.0, 0.5]),
                  incompatible=INCOMPATIBLE, valence_consistency_weight=0.7, label_target_weight=0.5)
    whole = cmhl_loss(logits, valence, arousal, labels, valence_labels=ratings, **tables).total
    parts = sum(cmhl_loss(logits[i:i + 2], valence[i:i + 2], arousal[i:i + 2], labels[i:i + 2],
                          valence_labels=ratings[i:i + 2], **tables, num_items=8).total for i in range(0, 8, 2))
    assert parts.item() == pytest.approx(whole.item(), abs=1e-6)


def test_regression_terms_are_divided_by_the_ratings_variance():
    labels, valence, arousal = torch.tensor([NO_EMOTION, NO_EMOTION]), torch.tensor([0.1, -0.2]), torch.tensor([0.5, 0.6])
    ratings = dict(valence_labels=torch.tensor([0.3, -0.1]), arousal_labels=torch.tensor([0.55, 0.5]))
    common = dict(label_valence=None, label_arousal=None, incompatible=None, contradiction_weight=0, emotion_weight=0,
                  valence_weight=1.0, arousal_weight=1.0, **ratings)
    plain = cmhl_loss(LOGITS, valence, arousal, labels, **common)
    scaled = cmhl_loss(LOGITS, valence, arousal, labels, **common, valence_variance=0.04, arousal_variance=0.0025)
    assert plain.valence.item() == pytest.approx((0.04 + 0.01) / 2) and plain.arousal.item() == pytest.approx(
        (0.0025 + 0.01) / 2)
    assert scaled.valence.item() == pytest.approx((0.04 + 0.01) / 2 / 0.04)
    assert scaled.arousal.item() == pytest.approx((0.0025 + 0.01) / 2 / 0.0025)
