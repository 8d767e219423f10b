"""One check of every text that trains or validates against every other source's test split
(corpora.check_test_overlap), on every path: corpora, `--train_file`, rated texts (`--affect_file`), rated words
(`--lexicon_file`). An error naming both files, or with --drop_test_overlap left out and counted."""

import pytest

from conftest import make_tiny_checkpoint
from corpora import Corpus, TextSplit, check_test_overlap, load_corpora
from data import DataError



SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def dair_file(path, rows):
    path.write_text("".join(f"{text};{label}\n" for text, label in rows))
    return path


def emobank(path, rows):
    path.write_text("id,split,V,A,D,text\n" + "".join(f"{i},{split},3.0,3.0,3.0,{text}\n"
                                                       for i, (split, text) in enumerate(rows)))
    return path


def test_the_check_by_hand():
    splits = [TextSplit("a", "train", "a.txt", ["Hello there", "fine"]), TextSplit("a", "test", "a_test.txt", ["fine"]),
              TextSplit("b", "test", "b_test.txt", ["hello   THERE"]), TextSplit("b", "train", "b.txt", ["x"])]
    with pytest.raises(DataError, match=r"a\.txt: 1 train text\(s\) of a are also in the test split of b \(b_test\.txt\)"
                                        r", e\.g\. 'Hello there'"):
        check_test_overlap(splits, False, print)
    log = []
    check_test_overlap(splits, True, log.append)
    assert splits[0].keep.tolist() == [False, True]  # its own test split ("fine") is the group's business
    assert splits[3].keep.tolist() == [True] and splits[1].keep is None
    assert log == ["a: 1 train text(s) are in b's test split; left out (--drop_test_overlap)"]


@pytest.fixture
def corpus(tmp_path):
    train = dair_file(tmp_path / "train.txt", [("i feel happy", "joy"), ("i feel sad", "sadness"),
                                                  ("so sad today", "sadness")])
    test = dair_file(tmp_path / "test.txt", [("i am so glad today", "joy"), ("grey skies", "sadness")])
    mapping = tmp_path / "two.json"
    mapping.write_text('{"mapping": {"joy": "joy", "sadness": "sadness"}}')
    return [Corpus.parse(f"name=dair_ai,train={train},validation={train.with_name('v.txt')},test={test},"
                         f"mapping={mapping}")], tmp_path


@pytest.mark.parametrize("rated, message", [
    ([TextSplit("--affect_file", "train", "emobank.csv", ["I am so glad today", "a calm sea"])],
     r"emobank\.csv: 1 train text\(s\) of --affect_file are also in the test split of corpus dair_ai"),
    ([TextSplit("--affect_file", "test", "emobank.csv", ["I feel SAD"])],
     r"train\.txt: 1 train text\(s\) of corpus dair_ai are also in the test split of --affect_file \(emobank\.csv\)"),
    ([TextSplit("--lexicon_file", "train", "vader.txt", ["grey skies"])],
     r"vader\.txt: 1 train text\(s\) of --lexicon_file are also in the test split of corpus dair_ai"),
])
def test_rated_texts_meet_the_corpora_test_splits(corpus, rated, message):
    corpora, folder = corpus
    dair_file(folder / "v.txt", [("i feel fine", "joy"), ("low", "sadness")])
    with pytest.raises(DataError, match=message):
        load_corpora(corpora, ["sadness", "joy"], False, print, others=rated)
    columns = load_corpora(corpora, ["sadness", "joy"], True, print, others=rated)
    if rated[0].split == "train":  # the rated text goes
        assert rated[0].keep.tolist().count(False) == 1 and len(columns["train"]["dair_ai"]["text"]) == 3
    else:  # the corpus's training text goes
        assert columns["train"]["dair_ai"]["text"] == ["i feel happy", "so sad today"]


def test_train_file_runs_check_rated_texts(tmp_path):
    """--train_file with --affect_file: EmoBank training texts in --test_file are an error naming both files."""
    from train import main

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    train = dair_file(tmp_path / "train.txt", [(f"i feel number {i}", SIX[i % 6]) for i in range(12)])
    validation = dair_file(tmp_path / "validation.txt", [("i feel ok", "joy"), ("i feel low", "sadness")])
    test = dair_file(tmp_path / "test.txt", [("a placid lake at dawn", "joy"), ("i feel low", "sadness")])
    rated = emobank(tmp_path / "emobank.csv", [("train", "A placid lake at dawn"), ("train", "storms"),
                                               ("dev", "rain"), ("test", "sun")])
    args = ["--model_name_or_path", tiny, "--train_file", train, "--validation_file", validation, "--test_file", test,
            "--affect_file", rated, "--max_steps", 1, "--output_dir", tmp_path / "run"]
    with pytest.raises(DataError, match=rf"{rated}: 1 train text\(s\) of --affect_file are also in the test split of "
                                        rf"--train_file \({test}\)"):
        main([str(a) for a in args])
    assert not (tmp_path / "run").exists()
