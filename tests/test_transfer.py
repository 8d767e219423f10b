"""The transfer set (train.py --transfer_file, data.load_transfer): unlabelled texts read in every format, each
mistake one sentence naming the file and line, texts checked against every test split, refused without a teacher;
a short run where the teachers alone label them (their rows reach the student with teacher targets, no gold)."""

import math

import pytest

from conftest import DATA, make_tiny_checkpoint
from data import DataError, load_transfer

SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]
XED = DATA / "xed" / "en-annotated.tsv"


def test_every_format_reads_the_same_texts(tmp_path):
    texts = ["a quiet night", 'he said "no", twice', "ok"]
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "t.csv").write_text("id,text\n1,a quiet night\n2,\"he said \"\"no\"\", twice\"\n3,ok\n")
    (tmp_path / "t.jsonl").write_text("".join(f'{{"text": "{t}"}}\n'.replace('"no"', '\\"no\\"') for t in texts))
    (tmp_path / "t.tsv").write_text("".join(f"{t}\t1, 4\n" for t in texts))
    for name, columns in (("t.txt", None), ("t.csv", None), ("t.jsonl", None), ("t.tsv", ["text", "labels"])):
        dataset = load_transfer(tmp_path / name, "text", columns)
        assert list(dataset["text"]) == texts, name
        assert list(dataset["label"]) == [-1, -1, -1]  # no emotion label: the teachers' targets alone
        assert all(math.isnan(v) for v in list(dataset["valence_labels"]) + list(dataset["arousal_labels"]))
    assert list(load_transfer(tmp_path / "t.txt", limit=2)["text"]) == texts[:2]


def test_xeds_english_lines_as_published():
    """XED's en-annotated.tsv (CRLF, no header, `sentence<TAB>labels`): 17,528 lines, the labels not read."""
    dataset = load_transfer(XED, "text", ["text", "labels"])
    assert len(dataset) == 17528
    assert dataset["text"][1] == "!" and dataset["text"][2].startswith("... And I don't think we need to discuss")


@pytest.mark.parametrize("name, content, columns, message", [
    ("blank.txt", "one\n\nthree\n", None, r"blank\.txt, line 2: expected a text in 'text', got \"\""),
    ("no_column.csv", "id,sentence\n1,hi\n", None, r"no_column\.csv, header: missing column\(s\) \['text'\]"),
    ("short.tsv", "hi\t1\nthere\n", ["text", "labels"],
     r"short\.tsv, line 2: expected 2 columns \['text', 'labels'\], got 1"),
    ("names.jsonl", '{"text": "hi"}\n', ["text"],
     r"names\.jsonl: --transfer_columns are for header-less \.csv/\.tsv files"),
    ("wrong_name.tsv", "hi\t1\n", ["sentence", "labels"], r"must name 'text', got \['sentence', 'labels'\]"),
    ("null.jsonl", '{"text": "hi"}\n{"text": null}\n', None,
     r"null\.jsonl, line 2: expected a text in 'text', got null"),
    ("empty.txt", "", None, r"empty\.txt: the file holds no rows"),
])
def test_each_mistake_names_the_file_and_line(tmp_path, name, content, columns, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        load_transfer(tmp_path / name, "text", columns)
    with pytest.raises(DataError, match=r"nowhere\.txt: no such file \(--transfer_file\)"):
        load_transfer(tmp_path / "nowhere.txt")


def _files(tmp_path):
    def dair(path, rows):
        path.write_text("".join(f"{text};{label}\n" for text, label in rows))
        return path

    train = dair(tmp_path / "train.txt", [(f"i feel number {i}", SIX[i % 6]) for i in range(12)])
    validation = dair(tmp_path / "validation.txt", [("i feel ok", "joy"), ("i feel low", "sadness")])
    test = dair(tmp_path / "test.txt", [("a placid lake at dawn", "joy"), ("i feel grey", "sadness")])
    return train, validation, test


def test_train_refuses_a_transfer_set_without_teachers_and_one_holding_test_texts(tmp_path):
    from train import main

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    train, validation, test = _files(tmp_path)
    transfer = tmp_path / "lines.txt"
    transfer.write_text("the ship sails\nA placid lake at DAWN\n")
    args = ["--model_name_or_path", tiny, "--train_file", train, "--validation_file", validation, "--test_file", test,
            "--transfer_file", transfer, "--max_steps", 1, "--output_dir", tmp_path / "run"]
    with pytest.raises(DataError, match=r"--transfer_file .*lines\.txt: unlabelled texts train only on teachers' "
                                        r"targets; give --emotion_teacher and/or --affect_teacher"):
        main([str(a) for a in args])
    args += ["--emotion_teacher", tiny]
    with pytest.raises(DataError, match=rf"{transfer}: 1 train text\(s\) of --transfer_file are also in the test split "
                                        rf"of --train_file \({test}\)"):
        main([str(a) for a in args])
    assert not (tmp_path / "run").exists()


def test_the_teachers_alone_label_the_transfer_rows(tmp_path, monkeypatch):
    """A one-step run on a tiny model: the training set holds the transfer rows once, each with its teacher's
    distribution and no gold label; a test text among them goes with --drop_test_overlap, counted."""
    import train as train_module

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    train, validation, test = _files(tmp_path)
    transfer = tmp_path / "lines.txt"
    transfer.write_text("the ship sails\nA placid lake at DAWN\nrain again\n")
    seen = {}
    original = train_module.add_teacher_columns

    def spy(*args, **kwargs):
        seen["train"] = original(*args, **kwargs)
        return seen["train"]

    monkeypatch.setattr(train_module, "add_teacher_columns", spy)
    args = ["--model_name_or_path", tiny, "--train_file", train, "--validation_file", validation, "--test_file", test,
            "--transfer_file", transfer, "--emotion_teacher", tiny, "--drop_test_overlap", "--max_steps", 1,
            "--save_strategy", "no", "--eval_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none",
            "--output_dir", tmp_path / "run"]
    train_module.main([str(a) for a in args])
    rows = seen["train"].to_dict()
    unlabelled = [i for i, label in enumerate(rows["label"]) if label == -1]
    assert [rows["text"][i] for i in unlabelled] == ["the ship sails", "rain again"]  # the test text left out
    assert len(rows["text"]) == 12 + 2
    assert all(abs(sum(probs) - 1) < 1e-5 for probs in rows["teacher_probs"])  # every row taught
    card = (tmp_path / "run" / "README.md").read_text()
    assert "on the unlabelled texts of `lines.txt` (a transfer set) from the teachers alone" in card
