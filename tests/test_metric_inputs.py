"""The metric module takes nothing on trust (cmhl_metric.check_inputs): each bad input is a sentence, never a
number; train.py refuses colliding corpus names before reading a row."""

import numpy as np
import pytest

from corpora import Corpus, load_corpora
from data import DataError
from metrics import load_cmhl_metric

LABELS = ["sadness", "joy", "neutral"]
GOOD = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]


@pytest.fixture(scope="module")
def metric():
    return load_cmhl_metric()


def compute(metric, predictions=GOOD, references=(0, 1, 2), sources=("a", "a", "a")):
    return metric.compute(predictions=predictions, references=list(references), sources=list(sources),
                          label_names=LABELS)


def test_good_inputs_score(metric):
    assert compute(metric)["accuracy"] == 1.0


@pytest.mark.parametrize("predictions, references, sources, message", [
    ([[np.nan] * 3] * 3, (0, 1, 2), "aaa", r"predictions row 0 is not finite .* 3 such row"),
    ([[0.7, 0.2, 0.1], [0.1, np.inf, 0.1], GOOD[2]], (0, 1, 2), "aaa", r"predictions row 1 is not finite"),
    ([[2.0, -1.0, 0.5], GOOD[1], GOOD[2]], (0, 1, 2), "aaa", r"row 0 is not a probability distribution .*not logits"),
    ([[0.5, 0.2, 0.1], GOOD[1], GOOD[2]], (0, 1, 2), "aaa", r"row 0 is not a probability distribution \(sum 0\.8000"),
    (GOOD, (0, 1, -100), "aaa", r"reference -100 \(row 2\) is not a label index 0\.\.2"),
    (GOOD, (-1, 1, 2), "aaa", r"reference -1 \(row 0\) is not a label index"),
    (GOOD, (0, 1, 3), "aaa", r"reference 3 \(row 2\)"),
    ([row[:2] for row in GOOD], (0, 1, 1), "aaa", r"expected predictions of shape \(N, 3\)"),
    (GOOD, (0, 1, 2), ("mean_source", "a", "a"), r"'mean_source' makes the key 'mean_source_macro_f1'"),
    (GOOD, (0, 1, 2), ("x", "x_own_labels", "x"), r"'x_own_labels' makes the key 'x_own_labels_accuracy', which "
                                                   r"corpus 'x' uses too"),
])
def test_bad_inputs_are_refused(metric, predictions, references, sources, message):
    with pytest.raises(ValueError, match=message):
        compute(metric, predictions, references, sources)


@pytest.mark.parametrize("names", [("mean_source", "dair_ai"), ("meld", "meld_own_labels")])
def test_train_refuses_colliding_corpus_names_before_reading(names, tmp_path):
    corpora = [Corpus.parse(f"name={name},train={tmp_path / name}.txt,mapping=m.json") for name in names]
    with pytest.raises(DataError, match=r"--corpus: corpus name .* makes the key"):
        load_corpora(corpora, LABELS, False, log=lambda message: None)
