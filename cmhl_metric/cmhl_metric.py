"""CMHL's per-corpus and consistency metrics as a Hugging Face `evaluate` metric (a local module, loaded by path:
`evaluate.load("cmhl_metric")` from the repository root, offline; ready to push as a Hub metric).

Inputs, one row per text: `predictions` (L,) the model's label probabilities, `references` the gold label index,
`sources` the name of the corpus the text comes from. Arguments: `label_names` (L,), `incompatible_pairs` [(i, j)],
`contradiction_threshold`, `neutral_label`.

Returned, with s each corpus (in order of first appearance) and A_s the labels that occur in its gold labels:
- accuracy, macro_f1, weighted_f1 over all rows (F1 averaged over the labels that occur or are predicted);
- s_accuracy, s_macro_f1, s_weighted_f1: argmax over all L labels, F1 averaged over A_s (a prediction outside A_s
  is a miss for the gold label, never a class of its own), weighted by the gold counts for weighted F1;
- s_own_labels_accuracy / _macro_f1 / _weighted_f1, when A_s is not every label: argmax over A_s alone (dair-ai's
  six-way numbers from a model with a seventh `neutral` label: the paper's benchmark stays comparable);
- s_neutral_f1 and s_neutral_auroc (p_neutral ranking the neutral texts above the others), when s has both;
- s_contradiction_rate and contradiction_rate: the share of texts with some incompatible pair (i, j) with p_i and p_j
  both >= contradiction_threshold;
- mean_source_macro_f1: the mean over corpora of s_macro_f1, train.py's selection metric for several corpora.
"""

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

_CITATION = """@article{cmhl2026, title={Contrastive Multi-Head Learning for emotion classification},
journal={arXiv 2603.14078}, year={2026}}"""


class CMHLMetric(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__, citation=_CITATION, inputs_description=__doc__,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64")),
                                        "references": datasets.Value("int64"),
                                        "sources": datasets.Value("string")}))

    def _compute(self, predictions, references, sources, label_names, incompatible_pairs=(),
                 contradiction_threshold=0.3, neutral_label="neutral"):
        probabilities = np.asarray(predictions, dtype=np.float64)  # (N, L)
        gold, sources = np.asarray(references), np.asarray(sources)
        check_inputs(probabilities, gold, sources, label_names)
        high = probabilities >= contradiction_threshold  # (N, L)
        pairs = np.array(list(incompatible_pairs), dtype=np.int64).reshape(-1, 2)
        contradicts = (high[:, pairs[:, 0]] & high[:, pairs[:, 1]]).any(axis=1)  # (N,)
        predicted = probabilities.argmax(axis=1)
        results = {"accuracy": float(accuracy_score(gold, predicted)),
                   "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
                   "weighted_f1": float(f1_score(gold, predicted, average="weighted", zero_division=0)),
                   "contradiction_rate": float(contradicts.mean())}
        neutral = label_names.index(neutral_label) if neutral_label in label_names else None
        names = list(dict.fromkeys(sources.tolist()))
        for name in names:
            rows = sources == name
            results.update(_source_metrics(name, probabilities[rows], gold[rows], neutral))
            results[f"{name}_contradiction_rate"] = float(contradicts[rows].mean())
        results["mean_source_macro_f1"] = float(np.mean([results[f"{name}_macro_f1"] for name in names]))
        return results


# The keys a corpus's metrics use after its name (`<name>_<suffix>`), and the keys over all rows.
SOURCE_SUFFIXES = ("accuracy", "macro_f1", "weighted_f1", "own_labels_accuracy", "own_labels_macro_f1",
                   "own_labels_weighted_f1", "neutral_f1", "neutral_auroc", "contradiction_rate")
GLOBAL_KEYS = ("accuracy", "macro_f1", "weighted_f1", "contradiction_rate", "mean_source_macro_f1")
PROBABILITY_TOLERANCE = 1e-3  # a row's sum may differ from 1 by float32 rounding of softmax, not by more


def check_inputs(probabilities: np.ndarray, gold: np.ndarray, sources: np.ndarray, label_names) -> None:
    """Refuse, saying what is wrong and where, inputs that would score a wrong number as right: a shape that is not
    (N, L), probabilities that are not finite, negative, or do not sum to 1 (logits), references outside
    0..L-1 (the Hub's ignore index -100, -1), corpus names whose metric keys would overwrite another's."""
    if probabilities.ndim != 2 or probabilities.shape[1] != len(label_names):
        raise ValueError(f"cmhl_metric: expected predictions of shape (N, {len(label_names)}), got "
                         f"{probabilities.shape}")
    bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
    if len(bad):
        raise ValueError(f"cmhl_metric: predictions row {bad[0]} is not finite ({probabilities[bad[0]].tolist()}); "
                         f"{len(bad)} such row(s)")
    sums = probabilities.sum(axis=1)
    bad = np.flatnonzero((probabilities < 0).any(axis=1) | (np.abs(sums - 1) > PROBABILITY_TOLERANCE))
    if len(bad):
        raise ValueError(f"cmhl_metric: predictions row {bad[0]} is not a probability distribution (sum "
                         f"{sums[bad[0]]:.4f}, min {probabilities[bad[0]].min():.4f}); give softmax probabilities, "
                         f"not logits ({len(bad)} such row(s))")
    if not np.issubdtype(gold.dtype, np.integer):
        raise ValueError(f"cmhl_metric: references must be label indices (integers), got {gold.dtype}")
    bad = np.flatnonzero((gold < 0) | (gold >= len(label_names)))
    if len(bad):
        raise ValueError(f"cmhl_metric: reference {int(gold[bad[0]])} (row {bad[0]}) is not a label index "
                         f"0..{len(label_names) - 1}; leave unlabelled rows (-100, -1) out ({len(bad)} such row(s))")
    check_source_names(list(dict.fromkeys(sources.tolist())))


def check_source_names(names: list[str]) -> None:
    """Corpus names whose metric keys (`<name>_<suffix>`) would overwrite another's are an error naming both."""
    keys = {}
    for name in names:
        for key in [f"{name}_{suffix}" for suffix in SOURCE_SUFFIXES]:
            if key in GLOBAL_KEYS or key in keys:
                other = "the metric over all rows" if key in GLOBAL_KEYS else f"corpus {keys[key]!r}"
                raise ValueError(f"cmhl_metric: corpus name {name!r} makes the key {key!r}, which {other} uses too; "
                                 "rename the corpus")
            keys[key] = name


def _source_metrics(name: str, probabilities: np.ndarray, gold: np.ndarray, neutral: int | None) -> dict:
    """One corpus's metrics (module docstring).   probabilities: (N, L) · gold: (N,)"""
    own = np.unique(gold)  # A_s, sorted label indices
    results = {}
    scopes = [("", probabilities.argmax(axis=1))]
    if len(own) < probabilities.shape[1]:
        scopes.append(("own_labels_", own[probabilities[:, own].argmax(axis=1)]))
    for prefix, predicted in scopes:
        results[f"{name}_{prefix}accuracy"] = float(accuracy_score(gold, predicted))
        for average in ("macro", "weighted"):
            results[f"{name}_{prefix}{average}_f1"] = float(f1_score(gold, predicted, labels=own, average=average,
                                                                     zero_division=0))
    if neutral is not None and neutral in own and len(own) > 1:
        is_neutral = gold == neutral
        results[f"{name}_neutral_f1"] = float(f1_score(is_neutral, probabilities.argmax(axis=1) == neutral,
                                                       zero_division=0))
        results[f"{name}_neutral_auroc"] = float(roc_auc_score(is_neutral, probabilities[:, neutral]))
    return results
