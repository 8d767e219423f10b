"""The epoch is checked on the rows that will train (corpora.epoch_mix): its size is the one asked, a corpus with a
share gets rows, and every label has rows in the epoch drawn."""

import datasets
import pytest

from corpora import Corpus, epoch_counts, epoch_mix
from data import DataError


def corpus(name, proportion):
    return Corpus.parse(f"name={name},train={name}.txt,mapping=m.json,proportion={proportion}")


def rows(labels):
    return datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(len(labels))], "label": labels})


@pytest.mark.parametrize("shares, size, expected", [
    ({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, 64, {"a": 22, "b": 21, "c": 21}),  # rounding each gave 63
    ({"a": 0.35, "b": 0.45, "c": 0.2}, 45000, {"a": 15750, "b": 20250, "c": 9000}),  # the recipe: exact
    ({"a": 0.999, "b": 0.001}, 100, {"a": 100, "b": 0}),
])
def test_epoch_counts_add_up_to_the_size(shares, size, expected):
    assert epoch_counts(shares, size) == expected


def test_the_epoch_has_the_size_asked():
    train = {"a": rows([0] * 10), "b": rows([1] * 10), "c": rows([0, 1] * 5)}
    epoch = epoch_mix(train, [corpus(n, 1 / 3) for n in "abc"], 64, 42, log=lambda m: None, label_names=["x", "y"])
    assert len(epoch) == 64


def test_a_corpus_rounded_to_no_row_is_an_error():
    train = {"a": rows([0] * 10), "b": rows([1] * 10)}
    with pytest.raises(DataError, match=r"corpus \['b'\] would get no row of the epoch"):
        epoch_mix(train, [corpus("a", 0.999), corpus("b", 0.001)], 100, 42, log=lambda m: None)


def test_a_label_absent_from_the_drawn_epoch_is_an_error():
    # 'neutral' (index 2) lives in corpus b only; b's share of 20 rows draws 2 of its rows, neither neutral.
    train = {"a": rows([0, 1] * 50), "b": rows([0] * 99 + [2])}
    with pytest.raises(DataError, match=r"the epoch drawn has no row of label\(s\) \['neutral'\]"):
        epoch_mix(train, [corpus("a", 0.9), corpus("b", 0.1)], 20, 42, log=lambda m: None,
                  label_names=["sadness", "joy", "neutral"])


@pytest.mark.parametrize("value, message", [
    ("name=a,train=a.txt,validation=,mapping=m.json", r"\['validation'\] given empty"),
    ("name=a,train=a.txt,validation=v.txt,holdout=0.2,mapping=m.json", r"holdout is for a corpus without a validation"),
])
def test_a_setting_that_would_be_ignored_is_an_error(value, message):
    with pytest.raises(DataError, match=message):
        Corpus.parse(value)


def test_one_file_given_as_two_corpora_is_an_error(tmp_path):
    from corpora import load_corpora

    corpora = [Corpus.parse(f"name=a,train={tmp_path / 'x.txt'},mapping=m.json"),
               Corpus.parse(f"name=b,train={tmp_path / '.' / 'x.txt'},mapping=m.json")]
    with pytest.raises(DataError, match=r"x\.txt is given as corpus 'a'\'s train and as corpus 'b'\'s train"):
        load_corpora(corpora, ["joy"], False, log=lambda m: None)
    own = [Corpus.parse(f"name=a,train={tmp_path / 'x.txt'},test={tmp_path / 'x.txt'},mapping=m.json")]
    with pytest.raises(DataError, match=r"x\.txt is given as corpus 'a'\'s train and as corpus 'a'\'s test"):
        load_corpora(own, ["joy"], False, log=lambda m: None)
