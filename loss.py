"""CMHL's losses as pure functions of tensors: no model, no config, no data set.

Shapes: B rows, L emotion labels. `labels` holds, per row, the gold emotion index; NO_EMOTION (-1) for a row
that has no emotion label but counts (a text rated for valence and arousal, e.g. from EmoBank: it trains the
dimensional heads only); IGNORE_INDEX (-100) for a row that does not count at all.

The loss is a mean over the rows that count of each row's own loss, the terms that apply to it:

    L = (1 / N) sum_rows [ w_e CE_i [labelled] + w_v r_v,i (v_i - t_v,i)^2 / s_v^2 + w_a r_a,i (a_i - t_a,i)^2 / s_a^2
                           + w_c C_i [labelled] + w_k K_i ]

(r: the row's regression weight, 1 for a rating, label_target_weight for a label's point, 0 for none;
s^2: the ratings' variance, so that a regression term is a z-scored squared error).

With teachers (train.py --emotion_teacher / --affect_teacher), each row also carries its teachers' emotion
distribution q (L,) and valence / arousal values, NaN where no teacher scored it, and the targets are mixed
(Clark et al. 2019, "BAM!", teacher annealing), lambda = `teacher_annealing(progress, ...)`:

    CE_i = -sum_k t_ik log softmax(z_i)_k,  t_i = lambda onehot(y_i) + (1 - lambda) q_i   (gold and teacher)
                                            t_i = onehot(y_i) / t_i = q_i                 (only one of them)
    t_v,i = lambda v_gold + (1 - lambda) v_teacher, or the one there is (arousal alike)

with N = `num_items` when given (the rows that count in the whole accumulated, multi-process batch, as
`Trainer` counts `labels != -100`), else the rows that count in this batch. So gradient accumulation and
several processes give the loss of one large batch, and a term reads as its share of the per-row loss.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
NO_EMOTION = -1


@dataclass
class CMHLLoss:
    """The weighted total and each weighted-in term (unweighted, for logging; None when switched off)."""

    total: torch.Tensor  # ()
    emotion: torch.Tensor | None = None  # ()
    valence: torch.Tensor | None = None  # ()
    arousal: torch.Tensor | None = None  # ()
    contradiction: torch.Tensor | None = None  # ()
    valence_consistency: torch.Tensor | None = None  # ()

    def terms(self) -> dict[str, torch.Tensor]:
        """The terms that were computed, by name."""
        names = ("emotion", "valence", "arousal", "contradiction", "valence_consistency")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def _reduce(per_example: torch.Tensor, labels: torch.Tensor, num_items) -> torch.Tensor:
    """sum(per_example over rows that count) / (num_items or the count of rows that count).
    per_example, labels: (B,); a row counts unless its label is IGNORE_INDEX; per_example is 0 where a term
    does not apply."""
    counts = labels != IGNORE_INDEX
    total = torch.where(counts, per_example, torch.zeros_like(per_example)).sum()
    denominator = num_items if num_items is not None else counts.sum().clamp(min=1)
    return total / denominator


def teacher_annealing(progress: float, schedule: str = "linear", gold_weight: float = 0.5) -> float:
    """lambda, the gold target's share of a row's target, at `progress` in [0, 1] of training:
    "linear": lambda = progress (BAM's teacher annealing, Clark et al. 2019); "constant": `gold_weight`;
    "off": 1 (gold only)."""
    if schedule == "linear":
        return min(max(float(progress), 0.0), 1.0)
    if schedule == "constant":
        return float(gold_weight)
    if schedule == "off":
        return 1.0
    raise ValueError(f"distillation_schedule: expected 'linear', 'constant' or 'off', got {schedule!r}")


def emotion_targets(labels, num_labels: int, teacher_probs=None, gold_weight: float = 1.0,
                    label_smoothing: float = 0.0):
    """Per-row target distribution of the emotion head and whether the row has one.
    Gold and teacher: gold_weight * onehot + (1 - gold_weight) * q; gold only: onehot; teacher only: q.
    The one-hot is label-smoothed (eps / L everywhere, 1 - eps + eps / L on gold).
    labels: (B,) · teacher_probs: (B, L), a row of NaN for "no teacher", or None  ->  (B, L), (B,) bool"""
    labelled = labels >= 0
    onehot = F.one_hot(labels.clamp(min=0), num_labels).float()  # (B, L)
    onehot = onehot * (1 - label_smoothing) + label_smoothing / num_labels
    if teacher_probs is None:
        return torch.where(labelled[:, None], onehot, torch.zeros_like(onehot)), labelled
    taught = ~torch.isnan(teacher_probs).any(dim=-1)  # (B,)
    teacher = torch.nan_to_num(teacher_probs.float())  # (B, L)
    mixed = gold_weight * onehot + (1 - gold_weight) * teacher
    target = torch.where((labelled & taught)[:, None], mixed,
                         torch.where(labelled[:, None], onehot, teacher))  # teacher-only rows: q
    has_target = (labelled | taught) & (labels != IGNORE_INDEX)
    return torch.where(has_target[:, None], target, torch.zeros_like(target)), has_target


def emotion_loss(logits, labels, label_smoothing: float = 0.0, num_items=None, teacher_probs=None,
                 gold_weight: float = 1.0) -> torch.Tensor:
    """Cross-entropy of the emotion head against `emotion_targets` (the gold label, mixed with the teachers'
    distribution where given), on the rows that have a target.   logits: (B, L) · labels: (B,)"""
    target, has_target = emotion_targets(labels, logits.shape[-1], teacher_probs, gold_weight, label_smoothing)
    per_example = -(target * logits.float().log_softmax(dim=-1)).sum(dim=-1)  # (B,)
    return _reduce(torch.where(has_target, per_example, torch.zeros_like(per_example)), labels, num_items)


def regression_targets(labels, label_values, given=None, label_target_weight: float = 1.0, teacher=None,
                       gold_weight: float = 1.0):
    """Per-row regression target and its weight: the row's own rating (`given`, weight 1) where it has one,
    mixed with the teachers' value where there is one too (gold_weight * given + (1 - gold_weight) * teacher);
    else the teachers' value (weight 1); else the gold label's circumplex value (`label_values[labels]`, weight
    `label_target_weight`); else none (weight 0, a row without label and rating).
    labels: (B,) · label_values: (L,) or None · given, teacher: (B,) with NaN for "none", or None  ->  (B,), (B,)"""
    if teacher is not None:
        taught = ~torch.isnan(teacher)
        teacher = torch.nan_to_num(teacher.float())
        if given is None:
            given = torch.where(taught, teacher, torch.full_like(teacher, float("nan")))
        else:
            rated = ~torch.isnan(given)
            mixed = gold_weight * torch.nan_to_num(given.float()) + (1 - gold_weight) * teacher
            given = torch.where(rated & taught, mixed, torch.where(rated, given.float(), torch.where(
                taught, teacher, torch.full_like(teacher, float("nan")))))
    has_given = ~torch.isnan(given) if given is not None else torch.zeros_like(labels, dtype=torch.bool)
    labelled = labels >= 0
    if label_values is not None and label_target_weight > 0:
        from_label = label_values[labels.clamp(min=0)].float()  # (B,)
        fallback = labelled & ~has_given
    else:
        from_label = torch.zeros_like(labels, dtype=torch.float32)
        fallback = torch.zeros_like(labelled)
    target = torch.where(has_given, given.float(), from_label) if given is not None else from_label
    weight = has_given.float() + label_target_weight * fallback.float()
    target = torch.where(weight > 0, target, torch.zeros_like(target))  # no NaN where the term does not apply
    return target, weight


def regression_loss(prediction, target, weight, labels, kind: str = "mse", num_items=None) -> torch.Tensor:
    """Weighted squared error ("mse") or Huber with beta 1 ("smooth_l1") of a scalar head.
    prediction, target, weight: (B,) · labels: (B,) (which rows count)"""
    prediction, target = prediction.float(), target.float()
    if kind == "mse":
        per_example = (prediction - target) ** 2
    elif kind == "smooth_l1":
        per_example = F.smooth_l1_loss(prediction, target, reduction="none", beta=1.0)
    else:
        raise ValueError(f"regression_loss: expected 'mse' or 'smooth_l1', got {kind!r}")
    return _reduce(weight * per_example, labels, num_items)


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

    Rows whose gold label contradicts nothing, and rows without a label, contribute 0 (and still count).
    logits: (B, L) · labels: (B,) · incompatible: (L, L) bool
    """
    labelled = labels >= 0
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
    applies = has_negatives[:, 0] & labelled
    return _reduce(torch.where(applies, per_example, torch.zeros_like(per_example)), labels, num_items)


def valence_consistency_loss(logits, valence, label_valence, num_items=None, labels=None,
                             form: str = "squared") -> torch.Tensor:
    """How far the valence the emotion distribution implies is from the valence head's, for every row:

        u = sum_k p_k v_k,  p = softmax(z),  v_k the label's circumplex valence;  h = sg(v_head)
        "squared":            K = (u - h)^2
        "sign_disagreement":  K = max(0, -u h)   (0 when u and h agree in sign, whatever their scales)

    sg: stop-gradient. The head, trained on rated text, is the teacher; the classifier is pulled towards
    emotions whose valence agrees with it, on labelled and on rated rows alike (issue "Valence and intensity
    that mean something", item 4).   logits: (B, L) · valence: (B,) · label_valence: (L,)"""
    implied = logits.float().softmax(dim=-1) @ label_valence.float()  # (B,)
    teacher = valence.detach().float()  # (B,)
    if form == "squared":
        per_example = (implied - teacher) ** 2
    elif form == "sign_disagreement":
        per_example = torch.relu(-implied * teacher)
    else:
        raise ValueError(f"valence_consistency_loss: expected 'squared' or 'sign_disagreement', got {form!r}")
    labels = labels if labels is not None else torch.zeros(len(valence), dtype=torch.long, device=valence.device)
    return _reduce(per_example, labels, num_items)


def cmhl_loss(
    logits,
    valence,
    arousal,
    labels,
    *,
    label_valence,
    label_arousal,
    incompatible,
    valence_labels=None,
    arousal_labels=None,
    emotion_weight: float = 1.0,
    valence_weight: float = 0.5,
    arousal_weight: float = 0.5,
    contradiction_weight: float = 0.1,
    valence_consistency_weight: float = 0.0,
    valence_consistency_form: str = "squared",
    label_target_weight: float = 1.0,
    valence_variance: float = 1.0,
    arousal_variance: float = 1.0,
    regression_kind: str = "mse",
    contradiction_mode: str = "margin",
    contradiction_margin: float = 1.0,
    label_smoothing: float = 0.0,
    teacher_probs=None,
    teacher_valence=None,
    teacher_arousal=None,
    gold_weight: float = 1.0,
    num_items=None,
) -> CMHLLoss:
    """L = w_e CE + w_v L_valence + w_a L_arousal + w_c L_contradiction + w_k L_consistency (module docstring);
    a term whose weight is 0 is not computed.

    logits: (B, L) · valence, arousal: (B,) head outputs · labels: (B,)
    label_valence, label_arousal: (L,) circumplex coordinates per label, on the heads' scales (None allowed
    when unused) · incompatible: (L, L) bool · valence_labels, arousal_labels: (B,) per-row ratings on the
    heads' scales, NaN = none · label_target_weight: weight of the label coordinate as a fallback target ·
    valence_variance, arousal_variance: each regression term is divided by it (the ratings' variance: a z-scored
    squared error) · teacher_probs: (B, L), teacher_valence, teacher_arousal: (B,) the teachers' targets, NaN
    where none · gold_weight: lambda of the gold target in the mix (`teacher_annealing`)
    """
    result = CMHLLoss(total=logits.new_zeros((), dtype=torch.float32))
    total = result.total
    if emotion_weight > 0:
        result.emotion = emotion_loss(logits, labels, label_smoothing, num_items, teacher_probs, gold_weight)
        total = total + emotion_weight * result.emotion
    for name, weight, head, table, given, teacher, variance in (
            ("valence", valence_weight, valence, label_valence, valence_labels, teacher_valence, valence_variance),
            ("arousal", arousal_weight, arousal, label_arousal, arousal_labels, teacher_arousal, arousal_variance)):
        if weight > 0:
            target, row_weight = regression_targets(labels, table, given, label_target_weight, teacher, gold_weight)
            term = regression_loss(head, target, row_weight, labels, regression_kind, num_items) / variance
            setattr(result, name, term)
            total = total + weight * term
    if contradiction_weight > 0:
        result.contradiction = contradiction_loss(
            logits, labels, incompatible, contradiction_mode, contradiction_margin, num_items
        )
        total = total + contradiction_weight * result.contradiction
    if valence_consistency_weight > 0:
        result.valence_consistency = valence_consistency_loss(logits, valence, label_valence, num_items, labels,
                                                              valence_consistency_form)
        total = total + valence_consistency_weight * result.valence_consistency
    result.total = total
    return result
