"""CMHL's losses as pure functions of tensors: no model, no config, no data set.

Shapes: B examples, L emotion labels. `labels` holds gold indices, -100 for rows to ignore.
Every term is a sum over the rows that count, divided by `num_items` when it is given (the number of
labelled rows in the whole accumulated, multi-process batch, as `Trainer` counts it) and by the
number of rows that count in this batch otherwise. So each term is a per-example mean, and gradient
accumulation over micro-batches gives the same loss as one large batch.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


@dataclass
class CMHLLoss:
    """The weighted total and each weighted-in term (unweighted, for logging; None when switched off)."""

    total: torch.Tensor  # ()
    emotion: torch.Tensor | None = None  # ()
    valence: torch.Tensor | None = None  # ()
    intensity: torch.Tensor | None = None  # ()
    contradiction: torch.Tensor | None = None  # ()

    def terms(self) -> dict[str, torch.Tensor]:
        """The terms that were computed, by name."""
        names = ("emotion", "valence", "intensity", "contradiction")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def _reduce(per_example: torch.Tensor, valid: torch.Tensor, num_items) -> torch.Tensor:
    """sum(per_example[valid]) / (num_items or count(valid)).   per_example, valid: (B,)"""
    total = torch.where(valid, per_example, torch.zeros_like(per_example)).sum()
    denominator = num_items if num_items is not None else valid.sum().clamp(min=1)
    return total / denominator


def emotion_loss(logits, labels, label_smoothing: float = 0.0, num_items=None) -> torch.Tensor:
    """Cross-entropy of the emotion head.   logits: (B, L) · labels: (B,)"""
    valid = labels != IGNORE_INDEX
    per_example = F.cross_entropy(
        logits.float(), labels.clamp(min=0), reduction="none", label_smoothing=label_smoothing
    )  # (B,)
    return _reduce(per_example, valid, num_items)


def circumplex_targets(labels, label_values, given=None) -> torch.Tensor:
    """Per-example regression targets: `given` where it is a number, else the gold label's circumplex
    value (`label_values[labels]`, e.g. its valence scaled to [-1, 1]).
    labels: (B,) · label_values: (L,) · given: (B,) with NaN for "not given", or None  ->  (B,)"""
    from_label = label_values[labels.clamp(min=0)]  # (B,)
    if given is None:
        return from_label
    given = given.to(from_label.dtype)
    return torch.where(torch.isnan(given), from_label, given)


def regression_loss(prediction, target, valid, kind: str = "mse", num_items=None) -> torch.Tensor:
    """Squared error ("mse") or Huber with beta 1 ("smooth_l1") of a scalar head.
    prediction, target: (B,) · valid: (B,) bool"""
    prediction, target = prediction.float(), target.float()
    if kind == "mse":
        per_example = (prediction - target) ** 2
    elif kind == "smooth_l1":
        per_example = F.smooth_l1_loss(prediction, target, reduction="none", beta=1.0)
    else:
        raise ValueError(f"regression_loss: expected 'mse' or 'smooth_l1', got {kind!r}")
    valid = valid & ~torch.isnan(target)
    return _reduce(per_example, valid, num_items)


def incompatibility_matrix(num_labels: int, pairs, device=None) -> torch.Tensor:
    """Symmetric (L, L) bool matrix, True where labels i and j contradict each other.
    pairs: iterable of (i, j) index pairs."""
    matrix = torch.zeros(num_labels, num_labels, dtype=torch.bool, device=device)
    for i, j in pairs:
        matrix[i, j] = matrix[j, i] = True
    return matrix


def contradiction_loss(logits, labels, incompatible, mode: str = "margin", margin: float = 1.0,
                       num_items=None) -> torch.Tensor:
    """Contrastive contradiction loss: penalise the labels that contradict the gold one.

    With N(y) the labels incompatible with the gold label y (row y of `incompatible`) and z the logits:

      "margin":  l = log(1 + sum_{j in N(y)} exp(z_j - z_y + m))
                 A contrastive softmax of the gold label against its contradicting labels only, with a
                 margin m (after SpanEmo's exp(s_p - s_q) label-correlation loss, Alhuzali & Ananiadou
                 2021). Working on logits, it keeps a gradient after the softmax is confident: a product
                 of softmax probabilities p_i p_j never exceeds 0.25 and has no such bite.
      "mass":    l = -log(1 - sum_{j in N(y)} p_j),  p = softmax(z)
                 A log barrier on the probability mass given to contradicting labels: it grows without
                 bound as that mass approaches 1.

    Rows whose gold label contradicts nothing contribute 0 (and still count in the mean).
    logits: (B, L) · labels: (B,) · incompatible: (L, L) bool
    """
    valid = labels != IGNORE_INDEX
    logits = logits.float()
    negatives = incompatible[labels.clamp(min=0)]  # (B, L): True at the labels that contradict gold
    has_negatives = negatives.any(dim=-1, keepdim=True)  # (B, 1)
    # Rows without negatives get one dummy finite entry, so that no -inf - -inf reaches the backward pass.
    negatives = negatives | ~has_negatives
    if mode == "margin":
        gold = logits.gather(1, labels.clamp(min=0)[:, None])  # (B, 1)
        gaps = (logits - gold + margin).masked_fill(~negatives, float("-inf"))  # (B, L)
        per_example = F.softplus(torch.logsumexp(gaps, dim=-1))  # (B,)
    elif mode == "mass":
        log_probs = logits.log_softmax(dim=-1)  # (B, L)
        log_mass = log_probs.masked_fill(~negatives, float("-inf")).logsumexp(dim=-1)  # (B,)
        per_example = -torch.log(-torch.expm1(log_mass.clamp(max=-1e-7)))  # -log(1 - mass), stably
    else:
        raise ValueError(f"contradiction_mode: expected 'margin' or 'mass', got {mode!r}")
    per_example = torch.where(has_negatives[:, 0], per_example, torch.zeros_like(per_example))
    return _reduce(per_example, valid, num_items)


def cmhl_loss(
    logits,
    valence,
    intensity,
    labels,
    *,
    label_valence,
    label_intensity,
    incompatible,
    valence_labels=None,
    intensity_labels=None,
    emotion_weight: float = 1.0,
    valence_weight: float = 0.5,
    intensity_weight: float = 0.5,
    contradiction_weight: float = 0.5,
    regression_kind: str = "mse",
    contradiction_mode: str = "margin",
    contradiction_margin: float = 1.0,
    label_smoothing: float = 0.0,
    num_items=None,
) -> CMHLLoss:
    """L = w_e CE + w_v L_valence + w_i L_intensity + w_c L_contradiction; a term whose weight is 0 is
    not computed.

    logits: (B, L) · valence, intensity: (B,) head outputs · labels: (B,)
    label_valence, label_intensity: (L,) circumplex targets per label (None allowed when unused)
    incompatible: (L, L) bool · valence_labels, intensity_labels: (B,) per-example targets, NaN = use the
    label's circumplex value, or None
    """
    valid = labels != IGNORE_INDEX
    total = logits.new_zeros((), dtype=torch.float32)
    result = CMHLLoss(total=total)
    if emotion_weight > 0:
        result.emotion = emotion_loss(logits, labels, label_smoothing, num_items)
        total = total + emotion_weight * result.emotion
    if valence_weight > 0:
        target = circumplex_targets(labels, label_valence, valence_labels)
        result.valence = regression_loss(valence, target, valid, regression_kind, num_items)
        total = total + valence_weight * result.valence
    if intensity_weight > 0:
        target = circumplex_targets(labels, label_intensity, intensity_labels)
        result.intensity = regression_loss(intensity, target, valid, regression_kind, num_items)
        total = total + intensity_weight * result.intensity
    if contradiction_weight > 0:
        result.contradiction = contradiction_loss(
            logits, labels, incompatible, contradiction_mode, contradiction_margin, num_items
        )
        total = total + contradiction_weight * result.contradiction
    result.total = total
    return result
