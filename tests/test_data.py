"""Reading and checking data: every bad row stops the run with file, line and value; nothing is dropped
silently. Runs `train.main` in-process (the data are checked before any model is built) and the real
script once, for its exit code."""

import json
import math
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import DATA, REPO
from data import DataError, check_rows, read_file
from train import main

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
GOOD_LINES = [f"i feel {name} today;{name}" for name in LABELS]


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def config_only_model(tmp_path):
    """A folder with a CMHL config.json: enough for train.py to know the labels; data fail before weights."""
    from configuration_cmhl import CMHLConfig
    from conftest import TINY_ENCODERS

    CMHLConfig(encoder_config=TINY_ENCODERS["bert"]).save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def run_main(tmp_path, train, validation=None, extra=()):
    validation = validation or write(tmp_path / "validation.txt", GOOD_LINES)
    main(["--model_name_or_path", str(config_only_model(tmp_path)), "--train_file", str(train),
          "--validation_file", str(validation), "--output_dir", str(tmp_path / "out"), *extra])


BAD_TXT = [
    (GOOD_LINES + ["i feel meh;boredom"], "line 7: unknown label 'boredom'"),
    (GOOD_LINES + ["i feel something;9"], None),  # mixed names and indices, reported before the index
    ([f"i feel {i};{i}" for i in range(6)] + ["i feel more;6"], "line 7: label index 6 is out of range 0..5"),
    (GOOD_LINES + [";joy"], "line 7: empty text"),
    (GOOD_LINES + ["   ;joy"], "line 7: empty text"),
    (GOOD_LINES + ["no separator here"], "line 7: expected 'text;label', found no ';'"),
    (GOOD_LINES[:5], "no example of label(s) ['surprise']"),
]


@pytest.mark.parametrize("lines, message", BAD_TXT)
def test_bad_txt_rows_stop_the_run(tmp_path, lines, message):
    train = write(tmp_path / "train.txt", lines)
    with pytest.raises(DataError) as error:
        run_main(tmp_path, train)
    assert str(train) in str(error.value)
    if message is None:
        assert "mixed label types" in str(error.value) and "line 7" in str(error.value)
    else:
        assert message in str(error.value)


def test_non_utf8_names_the_line(tmp_path):
    train = tmp_path / "train.txt"
    train.write_bytes(("\n".join(GOOD_LINES) + "\n").encode() + b"caf\xe9 time;joy\n")
    with pytest.raises(DataError, match=r"train.txt, line 7: not UTF-8"):
        run_main(tmp_path, train)


def test_empty_file(tmp_path):
    train = tmp_path / "train.txt"
    train.write_text("")
    with pytest.raises(DataError, match="holds no rows"):
        run_main(tmp_path, train)


def test_missing_columns_in_csv_jsonl_parquet(tmp_path):
    (tmp_path / "train.csv").write_text("sentence,label\nhello,joy\n")
    with pytest.raises(DataError, match=r"train.csv, header: missing column\(s\) \['text'\]"):
        read_file(tmp_path / "train.csv")
    (tmp_path / "train.jsonl").write_text('{"text": "hi", "label": "joy"}\n{"text": "ho"}\n')
    with pytest.raises(DataError, match=r"train.jsonl, line 2: missing column\(s\) \['label'\]"):
        read_file(tmp_path / "train.jsonl")
    pq.write_table(pa.table({"text": ["a"], "emotion": ["joy"]}), tmp_path / "train.parquet")
    with pytest.raises(DataError, match=r"train.parquet, header: missing column\(s\) \['label'\]"):
        read_file(tmp_path / "train.parquet")


def test_every_format_reads_the_same_rows(tmp_path):
    rows = [("i feel great; truly", "joy", 0.8, ""), ("so sad", "sadness", "", 0.3)]
    (tmp_path / "a.csv").write_text("text,label,valence,arousal\n" + "".join(
        f'"{t}",{l},{v},{i}\n' for t, l, v, i in rows))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"text": t, "label": l, "valence": v or None,
                                                          "arousal": i or None}) + "\n" for t, l, v, i in rows))
    pq.write_table(pa.table({"text": [r[0] for r in rows], "label": [r[1] for r in rows],
                             "valence": [0.8, None], "arousal": [None, 0.3]}), tmp_path / "a.parquet")
    (tmp_path / "a.txt").write_text("i feel great; truly;joy\nso sad;sadness\n")
    for name in ("a.csv", "a.jsonl", "a.parquet", "a.txt"):
        columns, dropped = check_rows(read_file(tmp_path / name), LABELS, name)
        assert columns["text"] == ["i feel great; truly", "so sad"] and columns["label"] == [1, 0], name
        assert dropped == []
        if name != "a.txt":
            assert columns["valence_labels"][0] == 0.8 and columns["arousal_labels"][1] == 0.3, name


def test_out_of_range_target(tmp_path):
    (tmp_path / "a.csv").write_text("text,label,valence\nhello,joy,1.5\n")
    with pytest.raises(DataError, match=r"a.csv, line 2: valence '1.5' is not a number in \[-1.0, 1.0\]"):
        check_rows(read_file(tmp_path / "a.csv"), LABELS, "a.csv")


def test_text_with_semicolons_splits_on_the_last(tmp_path):
    rows = read_file(write(tmp_path / "a.txt", ["a; b; c;joy"]))
    assert (rows[0].text, rows[0].label) == ("a; b; c", "joy")


def test_drop_invalid_rows_reports_the_count(tmp_path):
    rows = read_file(write(tmp_path / "a.txt", GOOD_LINES + ["x;boredom", ";joy"]))
    columns, dropped = check_rows(rows, LABELS, "a.txt", drop_invalid=True)
    assert len(columns["text"]) == 6 and len(dropped) == 2 and "line 7" in dropped[0]


def test_missing_label_in_validation_is_a_warning(tmp_path, caplog):
    from data import load_splits

    train = write(tmp_path / "train.txt", GOOD_LINES)
    validation = write(tmp_path / "validation.txt", GOOD_LINES[:4])
    messages = []
    splits, _ = load_splits({"train": train, "validation": validation}, None, None, False, messages.append)
    assert len(splits["validation"]) == 4
    assert any("no example of label(s) ['fear', 'surprise']" in m for m in messages)


def test_real_dair_ai_files_read_completely():
    from data import load_splits

    files = {split: DATA / "emotion" / f"{split}.txt" for split in ("train", "validation", "test")}
    splits, names = load_splits(files, None, None, False)
    assert names == LABELS and {k: len(v) for k, v in splits.items()} == {"train": 16000, "validation": 2000,
                                                                         "test": 2000}


def test_script_exits_non_zero_with_the_message(tmp_path):
    train = write(tmp_path / "train.txt", GOOD_LINES + ["i feel meh;boredom"])
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--model_name_or_path", str(config_only_model(tmp_path)),
                          "--train_file", str(train), "--validation_file", str(train),
                          "--output_dir", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert run.returncode == 2
    assert f"error: {train}, line 7: unknown label 'boredom'" in run.stderr
    assert not (tmp_path / "out").exists()


# ---- rated text (EmoBank) ----

def test_emobank_reads_with_its_official_split_and_scaled_ratings():
    from data import AffectSpec, load_affect

    splits = load_affect(DATA / "emobank" / "emobank.csv", AffectSpec())
    assert {k: len(v) for k, v in splits.items()} == {"train": 8062, "validation": 1000, "test": 1000}
    train = splits["train"]
    assert set(train["label"]) == {-1}
    assert -1 <= min(train["valence_labels"]) and max(train["valence_labels"]) <= 1
    assert 0 <= min(train["arousal_labels"]) and max(train["arousal_labels"]) <= 1
    first = next(r for r in splits["test"])  # 110CYL068_1079_1110,test,2.8,3.1,2.8: V 2.8 -> -0.1, A 3.1 -> 0.525
    assert first["valence_labels"] == pytest.approx(2 * (2.8 - 1) / 4 - 1) and first["arousal_labels"] == pytest.approx(0.525)


@pytest.mark.parametrize("row, message", [
    ("b,train,6.0,3.0,3.0,too pleasant", r"line 3: V '6.0' is not a number on the stated scale \[1.0, 5.0\]"),
    ("b,train,3.0,high,3.0,not a number", r"line 3: A 'high' is not a number on the stated scale"),
    ("b,holdout,3.0,3.0,3.0,odd split", r"line 3: split 'holdout' is not one of"),
    ("b,train,3.0,3.0,3.0,", r"line 3: empty text"),
])
def test_a_bad_rating_stops_with_file_line_and_value(tmp_path, row, message):
    from data import AffectSpec, load_affect

    rated = tmp_path / "rated.csv"
    rated.write_text(f"id,split,V,A,D,text\na,train,3.0,3.0,3.0,fine\n{row}\n")
    with pytest.raises(DataError, match=f"rated.csv, {message}"):
        load_affect(rated, AffectSpec())


def test_a_bad_rating_stops_train_py_before_training(tmp_path):
    rated = tmp_path / "rated.csv"
    rated.write_text("id,split,V,A,D,text\na,train,3.0,3.0,3.0,fine\nb,dev,0.5,3.0,3.0,below the scale\n")
    train = write(tmp_path / "train.txt", GOOD_LINES)
    with pytest.raises(DataError, match=r"rated.csv, line 3: V '0.5' is not a number on the stated scale"):
        run_main(tmp_path, train, extra=["--affect_file", str(rated)])


def test_mixing_proportion(tmp_path):
    from data import mix, to_dataset

    def rows(n, label):
        return to_dataset({"text": [f"t{i}" for i in range(n)], "label": [label] * n,
                           "valence_labels": [0.1] * n, "arousal_labels": [0.5] * n})

    emotion, rated = rows(90, 0), rows(20, -1)
    assert len(mix(emotion, rated, None, seed=0)) == 110  # every rated row once
    mixed = mix(emotion, rated, 0.4, seed=0)  # 0.4 / 0.6 * 90 = 60 rated rows: 20 three times over, shuffled
    assert len(mixed) == 150 and mixed["label"].count(-1) == 60
    assert sorted(mixed["text"][90:]) == sorted([f"t{i}" for i in range(20)] * 3)
    with pytest.raises(DataError, match="--affect_proportion"):
        mix(emotion, rated, 1.0, seed=0)


# ---- rated words (a valence lexicon such as VADER's) ----

VADER_LINES = ["sad\t-2.1\t0.9434\t[-2, -2, -1, -3, -3, -3, -1, -2, -1, -3]",
               ":)\t2.0\t1.18322\t[2, 2, 1, 1, 1, 4, 2, 3, 3, 1]",
               "devastated\t-3.0\t0.63246\t[-3, -3, -2, -3, -4, -4, -3, -3, -2, -3]",
               "fed up\t-1.8\t0.87178\t[-2, -3, -1, -2, -2, -2, -2, 0, -1, -3]",
               "", "lol\t1.8\t0.6\t[2, 2, 1, 2, 2, 2, 1, 2, 2, 2]", "lol\t2.9\t0.53852\t[3, 3, 3, 2, 3, 3, 3, 3, 3, 3]"]


def test_a_vader_lexicon_reads_as_valence_only_rows(tmp_path):
    from data import LexiconSpec, load_lexicon

    lexicon = write(tmp_path / "vader_lexicon.txt", VADER_LINES)
    rows, report = load_lexicon(lexicon, LexiconSpec(template="i feel {}"))
    assert rows["text"] == ["i feel sad", "i feel devastated", "i feel fed up", "i feel lol", "i feel lol"]
    assert set(rows["label"]) == {-1}
    # -4..4 onto [-1, 1]: 2 (r + 4) / 8 - 1 = r / 4
    assert rows["valence_labels"] == pytest.approx([-2.1 / 4, -3.0 / 4, -1.8 / 4, 1.8 / 4, 2.9 / 4])
    assert all(math.isnan(a) for a in rows["arousal_labels"])  # no arousal rating: that head learns nothing here
    assert "5 rated words" in report and "1 entries are not words" in report and "[':)']" in report
    assert "1 texts are rated more than once" in report and "'i feel lol'" in report


def test_a_word_lexicon_reads_from_a_table_too(tmp_path):
    from data import LexiconSpec, load_lexicon

    lexicon = tmp_path / "words.csv"
    lexicon.write_text("word,valence\ncalm,6.9\nfurious,1.6\n")
    rows, _ = load_lexicon(lexicon, LexiconSpec(scale=(1.0, 9.0)))
    assert rows["text"] == ["calm", "furious"]
    assert rows["valence_labels"] == pytest.approx([2 * 5.9 / 8 - 1, 2 * 0.6 / 8 - 1])


@pytest.mark.parametrize("line, message", [
    ("angry\t-4.5\t0.5\t[]", r"line 2: valence '-4.5' is not a number on the stated scale \[-4.0, 4.0\]"),
    ("angry\tvery\t0.5\t[]", r"line 2: valence 'very' is not a number"),
    ("angry -2.3", r"line 2: expected 'token<TAB>mean rating<TAB>...'"),
    ("\t-2.3\t0.5\t[]", r"line 2: empty word"),
])
def test_a_bad_lexicon_line_stops_with_file_line_and_value(tmp_path, line, message):
    from data import LexiconSpec, load_lexicon

    lexicon = write(tmp_path / "vader_lexicon.txt", ["sad\t-2.1\t0.9\t[]", line])
    with pytest.raises(DataError, match=f"vader_lexicon.txt, {message}"):
        load_lexicon(lexicon, LexiconSpec())


def test_a_lexicon_template_needs_one_slot_and_train_py_names_the_scale(tmp_path):
    from data import LexiconSpec, load_lexicon

    lexicon = write(tmp_path / "vader_lexicon.txt", VADER_LINES)
    with pytest.raises(DataError, match="lexicon template: expected one '{}'"):
        load_lexicon(lexicon, LexiconSpec(template="i feel"))
    train = write(tmp_path / "train.txt", GOOD_LINES)
    with pytest.raises(DataError, match="--lexicon_scale: expected 'low,high'"):
        run_main(tmp_path, train, extra=["--lexicon_file", str(lexicon), "--lexicon_scale", "-4"])


def test_a_head_with_nothing_to_learn_stays_untrained_and_the_checkpoint_knows(tmp_path, caplog):
    """Emotion labels alone (the commonest case) train the classifier; the valence / arousal heads without ratings
    stay untrained, the log says how to train them, and config.trained_heads records it (issue 29, item 2)."""
    import json

    from conftest import make_tiny_checkpoint

    model = make_tiny_checkpoint(tmp_path / "tiny")
    lexicon = write(tmp_path / "vader_lexicon.txt", VADER_LINES)  # valence ratings only: arousal is untaught
    train, validation = write(tmp_path / "train.txt", GOOD_LINES), write(tmp_path / "validation.txt", GOOD_LINES)
    common = ["--model_name_or_path", str(model), "--train_file", str(train), "--validation_file", str(validation),
              "--label_target_weight", "0", "--max_steps", "1", "--save_strategy", "no", "--eval_strategy", "no",
              "--load_best_model_at_end", "false", "--report_to", "none"]
    for extra, heads in ((["--lexicon_file", str(lexicon)], ["emotion", "valence"]), ([], ["emotion"])):
        caplog.clear()
        output = tmp_path / f"out{len(heads)}"
        main(common + extra + ["--output_dir", str(output)])
        assert json.loads((output / "config.json").read_text())["trained_heads"] == heads
        untaught = " and ".join(h for h in ("valence", "arousal") if h not in heads)
        assert f"the {untaught} head(s) stay untrained" in caplog.text and "--affect_file" in caplog.text
        from predict import Predictor

        row = next(Predictor(str(output)).rows(["i feel happy"], 0))  # an untrained head's numbers are never shown
        assert ("valence" in row) == ("valence" in heads) and "arousal" not in row and "intensity" not in row
        assert "not trained (no ratings)" in (output / "README.md").read_text()
