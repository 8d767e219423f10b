"""Evaluation metrics of CMHL: classification quality (scikit-learn, offline) and emotional consistency.

Definitions (also in README.md):
- contradiction rate: the share of texts for which two incompatible emotions (config.incompatible_index_pairs)
  both get probability >= config.contradiction_threshold;
- valence agreement: the share of texts whose valence head has the same sign as the circumplex valence
  of the predicted emotion (texts whose predicted emotion has neutral valence are left out).
"""

from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_curve, recall_score, roc_auc_score


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, L) logits -> (N, L) probabilities."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def classification_metrics(predicted: np.ndarray, labels: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro F1 and weighted F1 (over the labels that occur or are predicted), and F1 and recall
    per label (left out for a label that neither occurs nor is predicted: it has none).
    predicted, labels: (N,)"""
    seen = sorted(set(labels.tolist()) | set(predicted.tolist()))
    per_class = f1_score(labels, predicted, labels=seen, average=None, zero_division=0)
    recall = recall_score(labels, predicted, labels=seen, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predicted, average="weighted", zero_division=0)),
        **{f"f1_{label_names[i]}": float(score) for i, score in zip(seen, per_class)},
        **{f"recall_{label_names[i]}": float(score) for i, score in zip(seen, recall)},
    }


def best_f1_threshold(scores: np.ndarray, positive: np.ndarray) -> float:
    """The score threshold (flag when score >= it) with the highest F1 of the positive class; ties go to the
    higher threshold (fewer flags).   scores, positive: (N,)"""
    precision, recall, thresholds = precision_recall_curve(positive, scores)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)  # one per threshold
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)[-1]
    return float(thresholds[best])


def detection_metrics(scores: np.ndarray, positive: np.ndarray, threshold: float | None = None) -> dict:
    """How well `scores` rank the positive rows above the others: AUROC; with a threshold, also precision,
    recall and F1 of flagging score >= threshold, and the share flagged.   scores, positive: (N,)"""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        raise ValueError(f"detection_metrics: expected positive and negative rows, got {int(positive.sum())} "
                         f"positive of {len(positive)}")
    result = {"auroc": float(roc_auc_score(positive, scores)), "positives": int(positive.sum()),
              "negatives": int((~positive).sum())}
    if threshold is not None:
        flagged = np.asarray(scores) >= threshold
        true = int((flagged & positive).sum())
        precision = true / max(int(flagged.sum()), 1)
        recall = true / int(positive.sum())
        result.update(threshold=float(threshold), precision=precision, recall=recall,
                      f1=2 * precision * recall / max(precision + recall, 1e-12), flagged=float(flagged.mean()))
    return result


def contradictions(probabilities: np.ndarray, incompatible_pairs, threshold: float) -> np.ndarray:
    """(N,) bool: some incompatible pair (i, j) has p_i >= threshold and p_j >= threshold.
    probabilities: (N, L)"""
    if not incompatible_pairs:
        return np.zeros(len(probabilities), dtype=bool)
    high = probabilities >= threshold  # (N, L)
    first, second = np.array(incompatible_pairs).T
    return (high[:, first] & high[:, second]).any(axis=1)


def contradiction_rate(probabilities: np.ndarray, incompatible_pairs, threshold: float) -> float:
    """Share of rows with a contradiction (see `contradictions`).   probabilities: (N, L)"""
    return float(contradictions(probabilities, incompatible_pairs, threshold).mean())


def valence_disagrees(valence: np.ndarray, predicted: np.ndarray, label_valence: np.ndarray) -> np.ndarray:
    """(N,) bool: the valence head's sign is opposite to the circumplex valence of the predicted label
    (never for a label of neutral valence).   valence, predicted: (N,) · label_valence: (L,)"""
    expected = np.sign(label_valence[predicted])  # (N,)
    return (expected != 0) & (np.sign(valence) != expected)


def valence_agreement(valence: np.ndarray, predicted: np.ndarray, label_valence: np.ndarray) -> float:
    """Share of rows where sign(valence head) == sign(circumplex valence of the predicted label), over
    rows whose predicted label is not neutral.   valence, predicted: (N,) · label_valence: (L,)"""
    counted = label_valence[predicted] != 0
    if not counted.any():
        return float("nan")
    return float(1.0 - valence_disagrees(valence, predicted, label_valence)[counted].mean())


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> tuple[float, list]:
    """ECE of the top prediction: sum_b |B_b|/N * |accuracy(B_b) - confidence(B_b)| over `bins` equal-width
    confidence bins (Guo et al. 2017, "On Calibration of Modern Neural Networks", 15 bins). Also returns
    the bins as (low, high, count, accuracy, confidence) for the reliability diagram.
    probabilities: (N, L) · labels: (N,)"""
    confidence = probabilities.max(axis=1)  # (N,)
    correct = probabilities.argmax(axis=1) == labels  # (N,)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)  # (N,) bin index
    ece, table = 0.0, []
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        if count:
            accuracy, mean_confidence = float(correct[members].mean()), float(confidence[members].mean())
            ece += count / len(labels) * abs(accuracy - mean_confidence)
            table.append((float(edges[b]), float(edges[b + 1]), count, accuracy, mean_confidence))
    return float(ece), table


class ConsistencyCheck:
    """Per-text consistency flag of a model's outputs: consistent when no two incompatible emotions both
    get probability >= config.contradiction_threshold and the valence head does not contradict the
    predicted emotion's circumplex valence (README, "Metrics")."""

    def __init__(self, config):
        has_circumplex = config.circumplex_coordinates is not None
        self.pairs = config.incompatible_index_pairs() if has_circumplex or config.incompatible_pairs else []
        self.threshold = config.contradiction_threshold
        trained = config.head_is_trained("valence") if hasattr(config, "head_is_trained") else True
        # an untrained valence head says nothing: only the emotion pairs are checked then
        self.label_valence = np.array(config.circumplex_targets()[0]) if has_circumplex and trained else None

    def __call__(self, probabilities: np.ndarray, valence: np.ndarray) -> np.ndarray:
        """(N, L), (N,) -> (N,) bool, True where consistent."""
        flags = ~contradictions(probabilities, self.pairs, self.threshold)
        if self.label_valence is not None:
            flags &= ~valence_disagrees(valence, probabilities.argmax(axis=1), self.label_valence)
        return flags


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (N,) arrays; NaN when either is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def within_label_spread(values: np.ndarray, labels: np.ndarray) -> float:
    """Mean over labels of the standard deviation of `values` among the texts of that label: 0 when every
    text of a label gets the same value (heads that only know the label).   values, labels: (N,)"""
    spreads = [values[labels == k].std() for k in np.unique(labels) if (labels == k).sum() > 1]
    return float(np.mean(spreads)) if spreads else float("nan")


METRIC_MODULE = Path(__file__).resolve().parent / "cmhl_metric"  # the `evaluate` module, loaded by path (offline)


def load_cmhl_metric():
    """The repository's `evaluate` metric (cmhl_metric/cmhl_metric.py), kept in memory (no cache files, so that
    several processes never share one)."""
    import evaluate

    return evaluate.load(str(METRIC_MODULE), keep_in_memory=True)


def source_metrics(metric, probabilities: np.ndarray, labels: np.ndarray, sources: list[str], config) -> dict:
    """The evaluate module's metrics of texts from one or several corpora: `sources` (N,) each text's corpus name.
    probabilities: (N, L) · labels: (N,)"""
    has_circumplex = config.circumplex_coordinates is not None
    pairs = config.incompatible_index_pairs() if has_circumplex or config.incompatible_pairs else []
    return metric.compute(predictions=probabilities, references=labels, sources=sources,
                          label_names=config.label_names, incompatible_pairs=pairs,
                          contradiction_threshold=config.contradiction_threshold)


class CMHLMetrics:
    """`compute_metrics` for `Trainer`: takes predictions (logits, valence, arousal, intensity) and label_ids
    (labels, valence_labels, arousal_labels), as `label_names` orders them. An evaluation set of emotion-labelled
    texts gets classification and consistency metrics; a set of rated texts (every label -1, e.g. EmoBank dev)
    gets the Pearson r and MAE of the valence and arousal heads against the ratings, and the same r for the
    valence / arousal the emotion distribution implies (sum_k p_k c_k over the labels' circumplex coordinates
    c_k: what a classifier without dimensional heads can say). With `source_names` (train.py --corpus: label_ids
    also carry each row's corpus index, `source_ids`), each corpus's metrics and their mean (cmhl_metric:
    `mean_source_macro_f1`, the selection metric)."""

    def __init__(self, config, source_names: list[str] | None = None):
        self.config, self.source_names = config, source_names
        self.metric = load_cmhl_metric()
        self.label_names = config.label_names
        has_circumplex = config.circumplex_coordinates is not None
        tables = config.circumplex_targets() if has_circumplex else None
        self.label_valence, self.label_arousal = (np.array(t) for t in tables) if tables else (None, None)

    def __call__(self, eval_prediction) -> dict:
        logits, valence, arousal, intensity = eval_prediction.predictions[:4]
        labels, valence_labels, arousal_labels = eval_prediction.label_ids[:3]
        probabilities = softmax(logits.astype(np.float64))
        if (labels < 0).all():
            return self.rated(probabilities, valence, arousal, intensity, valence_labels, arousal_labels)
        predicted = probabilities.argmax(axis=-1)
        metrics = classification_metrics(predicted, labels, self.label_names)
        if self.source_names:
            sources = np.array(self.source_names)[eval_prediction.label_ids[3].astype(np.int64)].tolist()
        else:
            sources = ["all"] * len(labels)
        by_source = source_metrics(self.metric, probabilities, labels, sources, self.config)
        if not self.source_names:  # one evaluation set: the overall numbers only
            by_source = {k: v for k, v in by_source.items() if k in ("accuracy", "macro_f1", "weighted_f1",
                                                                      "contradiction_rate")}
        metrics.update(by_source)
        metrics["ece"] = expected_calibration_error(probabilities, labels)[0]
        trained = self.trained()
        if {"valence", "arousal"} <= trained:  # intensity is read from both heads
            metrics["intensity_spread"] = within_label_spread(intensity, labels)
        if "valence" in trained:
            metrics["valence_spread"] = within_label_spread(valence, labels)
            if self.label_valence is not None:
                metrics["valence_agreement"] = valence_agreement(valence, predicted, self.label_valence)
        return metrics

    def trained(self) -> set[str]:
        """The dimensional heads this model trained (CMHLConfig.head_is_trained, read at each evaluation: train.py
        sets trained_heads once the training rows are known): no number is reported from an untrained head."""
        return {head for head in ("valence", "arousal") if self.config.head_is_trained(head)}

    def rated(self, probabilities, valence, arousal, intensity, valence_labels, arousal_labels) -> dict:
        metrics = {}
        trained = self.trained()
        for name, prediction, rating, table in (("valence", valence, valence_labels, self.label_valence),
                                                ("arousal", arousal, arousal_labels, self.label_arousal)):
            if name in trained:
                metrics[f"{name}_pearson"] = pearson(prediction, rating)
                metrics[f"{name}_mae"] = float(np.abs(prediction - rating).mean())
            if table is not None:  # the emotion head's reading of the ratings: no dimensional head involved
                metrics[f"{name}_pearson_from_emotions"] = pearson(probabilities @ table, rating)
        if {"valence", "arousal"} <= trained:
            metrics["intensity_mean"] = float(np.mean(intensity))
        return metrics
