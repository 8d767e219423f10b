"""Several corpora and a `neutral` class (issue 37): each reader on real rows of each corpus, the mapping's drop counts
by hand, the hash split, the mixing proportions by count, the errors that name the file, `neutral` at the circumplex
centre, the evaluate module's six-way metric by hand, and a short real run over two corpora whose pipeline shows
`neutral`."""

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from conftest import DATA, REPO
from data import DataError

SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]
SEVEN = [*SIX, "neutral"]
GOEMOTIONS_MAPPING = REPO / "mappings" / "goemotions_to_dair_emotion.json"
MELD_MAPPING = REPO / "mappings" / "meld_to_dair_emotion.json"
DAIR_MAPPING = REPO / "mappings" / "dair_ai_emotion.json"


# ---- readers on real rows ----

def test_each_corpus_reads_through_its_mapping():
    from corpora import LabelMapping

    goemotions = LabelMapping(GOEMOTIONS_MAPPING, SEVEN)
    rows = goemotions.read(DATA / "goemotions" / "dev.tsv")
    assert len(rows) == 5426 and rows[0].where.endswith("dev.tsv, line 1")
    first = (DATA / "goemotions" / "dev.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert (rows[0].text, rows[0].label) == (first[0], first[1])

    meld = LabelMapping(MELD_MAPPING, SEVEN)
    rows = meld.read(DATA / "meld" / "dev_sent_emo.csv")
    assert len(rows) == 1109
    assert rows[0].where.endswith("dev_sent_emo.csv, line 2")  # line 1 is the header
    assert Counter(row.label for row in rows)["neutral"] == 470  # MELD's own count (SOURCE.md)
    assert any("’" in row.text for row in rows)  # typographic quotes survive as UTF-8

    dair = LabelMapping(DAIR_MAPPING, SEVEN)
    rows = dair.read(DATA / "emotion" / "validation.txt")
    assert len(rows) == 2000 and {dair(row)[0] for row in rows} == set(range(6))  # never neutral


def test_neutral_maps_to_the_models_neutral_label_and_out_of_a_six_label_model():
    from corpora import LabelMapping
    from data import Row

    rows = [Row("r1", "ok", "27"), Row("r2", "yay", "17,27"), Row("r3", "grr", "2,3"), Row("r4", "mixed", "2,17"),
            Row("r5", "ew", "11"), Row("r6", "lovely", "18")]
    seven = LabelMapping(GOEMOTIONS_MAPPING, SEVEN)
    six = LabelMapping(GOEMOTIONS_MAPPING, SIX)
    # 27 neutral; 17 joy; 2 anger, 3 annoyance (both anger); 11 disgust (excluded); 18 love
    assert [seven(row) for row in rows] == [(6, "counted"), (None, "has an excluded label"), (3, "counted"),
                                            (None, "maps to several labels"), (None, "has an excluded label"),
                                            (2, "counted")]
    assert six(rows[0]) == (None, "has an excluded label") and six.is_no_emotion(rows[0])
    assert [six(row) for row in rows[1:]] == [seven(row) for row in rows[1:]]


def write_mapping(path, labels: dict, reader: dict, excluded=("neutral",)):
    """A small mapping file: corpus label -> model label, `neutral` the no-emotion label."""
    path.write_text(json.dumps({"reader": reader, "mapping": labels, "excluded": list(excluded),
                                "no_emotion": ["neutral"]}))
    return path


GOEMOTIONS_READER = {"columns": ["text", "label", "id"]}
MELD_READER = {"text_column": "Utterance", "label_column": "Emotion"}


def write_goemotions(path, lines):
    path.write_text("".join(f"{text}\t{labels}\tid{i}\n" for i, (text, labels) in enumerate(lines)), encoding="utf-8")
    return path


def test_drop_counts_by_hand(tmp_path):
    from corpora import Corpus, load_corpora

    # 3 neutral alone, 2 joy, 1 anger via annoyance; left out: 2 neutral beside an emotion or disgust (excluded),
    # 1 joy + anger (several labels)
    train = write_goemotions(tmp_path / "train.tsv", [
        ("a", "27"), ("b", "27"), ("c", "27"), ("d", "17"), ("e", "1"), ("f", "3"), ("g", "17,27"), ("h", "11"),
        ("i", "17,2"), ("j", "0"), ("k", "25"), ("l", "14"), ("m", "26"), ("n", "18")])
    validation = write_goemotions(tmp_path / "dev.tsv", [("x", "27"), ("y", "17")])
    log = []
    columns = load_corpora([Corpus.parse(f"name=go,train={train},validation={validation},mapping={GOEMOTIONS_MAPPING}")],
                           SEVEN, False, log.append)
    assert Counter(columns["train"]["go"]["label"]) == {6: 3, 1: 3, 3: 1, 0: 1, 4: 1, 5: 1, 2: 1}  # j, 0 admiration: joy
    assert any("11 of 14 rows map to one label; left out: {'has an excluded label': 2, 'maps to several labels': 1}"
               in line for line in log)


# ---- the validation split by hash, the epoch's proportions ----

def test_holdout_split_is_deterministic_and_keeps_repeats_together():
    from corpora import holdout_split

    texts = [f"text number {i}" for i in range(2000)] + ["Text  number 7"]  # a repeat, case and spaces aside
    held = holdout_split(texts, 0.1)
    assert 150 < held.sum() < 250  # about 10%
    assert (held == holdout_split(list(reversed(texts)), 0.1)[::-1]).all()  # order does not matter
    assert held[7] == held[-1]


def test_a_corpus_without_validation_holds_out_by_hash(tmp_path):
    from corpora import Corpus, load_corpora

    train = write_goemotions(tmp_path / "train.tsv", [(f"text {i}", "joy" if i % 2 else "neutral") for i in range(200)])
    mapping = write_mapping(tmp_path / "m.json", {"joy": "joy"}, GOEMOTIONS_READER)
    log = []
    columns = load_corpora([Corpus.parse(f"name=go,train={train},mapping={mapping},holdout=0.2")],
                           ["joy", "neutral"], False, log.append)
    held = len(columns["validation"]["go"]["text"])
    assert 20 < held < 60 and held + len(columns["train"]["go"]["text"]) == 200
    assert not set(columns["validation"]["go"]["text"]) & set(columns["train"]["go"]["text"])
    assert any(f"{held} training rows held out by hash" in line for line in log)


def test_epoch_mix_draws_the_stated_proportions_by_count():
    import datasets

    from corpora import Corpus, epoch_mix

    def corpus(name, rows, index):
        return datasets.Dataset.from_dict({"text": [f"{name}{i}" for i in range(rows)], "label": [index] * rows})

    train = {"a": corpus("a", 100, 0), "b": corpus("b", 30, 1), "c": corpus("c", 500, 2)}
    corpora = [Corpus("a", None, None, proportion=0.5), Corpus("b", None, None, proportion=0.3),
               Corpus("c", None, None, proportion=0.2)]
    epoch = epoch_mix(train, corpora, 400, seed=0, log=lambda line: None)
    assert Counter(epoch["label"]) == {0: 200, 1: 120, 2: 80}
    counts = Counter(epoch["text"])
    assert {counts[f"b{i}"] for i in range(30)} == {4}  # 120 of 30 rows: every row exactly 4 times
    assert max(counts[f"a{i}"] for i in range(100)) == 2 and len([t for t in counts if t.startswith("a")]) == 100
    assert len([t for t in counts if t.startswith("c")]) == 80  # without replacement while there are enough
    assert epoch_mix(train, corpora, 400, seed=0, log=lambda line: None)["text"] == epoch["text"]  # seeded
    natural = [Corpus(c.name, None, None) for c in corpora]
    assert Counter(epoch_mix(train, natural, None, seed=0, log=lambda line: None)["label"]) == {0: 100, 1: 30, 2: 500}


# ---- errors that name the file ----

def test_a_mapping_naming_a_label_the_model_does_not_have(tmp_path):
    from corpora import LabelMapping

    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"mapping": {"happy": "happiness"}}))
    with pytest.raises(DataError, match=r"m.json: mapping targets \['happiness'\] are not labels of the model"):
        LabelMapping(mapping, SEVEN)
    mapping.write_text(json.dumps({"mapping": {"happy": "joy"}, "source_labels": ["sad"]}))
    with pytest.raises(DataError, match=r"m.json: labels \['happy'\] are mapped or excluded but are not in "
                                        "'source_labels'"):
        LabelMapping(mapping, SEVEN)


def test_a_mapping_naming_a_label_the_file_does_not_have(tmp_path):
    from corpora import Corpus, load_corpora

    train = tmp_path / "train.csv"
    train.write_text("Utterance,Emotion\nfine,joy\nugh,sadness\n")
    mapping = write_mapping(tmp_path / "m.json", {"joy": "joy", "sadness": "sadness", "sadnes": "sadness"}, MELD_READER)
    with pytest.raises(DataError, match=r"m.json: names label\(s\) \['neutral', 'sadnes'\] that .*train.csv never has"):
        load_corpora([Corpus.parse(f"name=m,train={train},mapping={mapping}")], ["sadness", "joy"], False, print)


def test_a_label_the_mapping_does_not_know_names_file_and_line(tmp_path):
    from corpora import Corpus, load_corpora

    train = tmp_path / "train.csv"
    train.write_text("Utterance,Emotion\nfine,joy\nugh,contempt\n")
    with pytest.raises(DataError, match=r"train.csv, line 3: label 'contempt' is neither mapped nor excluded in "
                                        r".*meld_to_dair_emotion.json"):
        load_corpora([Corpus.parse(f"name=m,train={train},mapping={MELD_MAPPING}")], SEVEN, False, print)


def test_a_source_with_no_rows_after_mapping(tmp_path):
    from corpora import Corpus, load_corpora

    train = tmp_path / "train.csv"
    train.write_text("Utterance,Emotion\nugh,disgust\nyuck,disgust\n")
    with pytest.raises(DataError, match=r"train.csv: no rows left after mapping with .*meld_to_dair_emotion.json "
                                        r"\(of 2: \{'has an excluded label': 2\}\)"):
        load_corpora([Corpus.parse(f"name=m,train={train},mapping={MELD_MAPPING}")], SEVEN, False, print)


def test_a_split_overlapping_another_corpus_test_split(tmp_path):
    from corpora import Corpus, load_corpora

    meld_mapping = write_mapping(tmp_path / "meld.json", {"joy": "joy", "sadness": "sadness"}, MELD_READER)
    go_mapping = write_mapping(tmp_path / "go.json", {"joy": "joy", "sadness": "sadness", "gratitude": "joy"},
                               GOEMOTIONS_READER)
    meld_train = tmp_path / "meld_train.csv"
    meld_train.write_text("Utterance,Emotion\nThank you.,neutral\nGreat!,joy\nNo.,sadness\n")
    meld_dev = tmp_path / "meld_dev.csv"
    meld_dev.write_text("Utterance,Emotion\nOkay.,neutral\nYay!,joy\n")
    go_train = write_goemotions(tmp_path / "go_train.tsv", [("so sad", "sadness"), ("wonderful", "joy"),
                                                            ("hmm", "neutral"), ("thanks a lot", "gratitude")])
    go_dev = write_goemotions(tmp_path / "go_dev.tsv", [("so sad", "sadness"), ("wonderful", "joy")])
    go_test = write_goemotions(tmp_path / "go_test.tsv", [("thank   you.", "gratitude"), ("ok", "neutral")])
    corpora = [Corpus.parse(f"name=meld,train={meld_train},validation={meld_dev},mapping={meld_mapping}"),
               Corpus.parse(f"name=go,train={go_train},validation={go_dev},test={go_test},mapping={go_mapping}")]
    with pytest.raises(DataError, match=r"meld_train.csv: 1 train text\(s\) of corpus meld are also in the test split "
                                        r"of corpus go \(.*go_test.tsv\), e.g. 'Thank you.'.*--drop_test_overlap"):
        load_corpora(corpora, ["sadness", "joy", "neutral"], False, print)
    log = []
    columns = load_corpora(corpora, ["sadness", "joy", "neutral"], True, log.append)
    assert columns["train"]["meld"]["text"] == ["Great!", "No."]
    assert any("1 train text(s) are in corpus go's test split; left out" in line for line in log)


@pytest.mark.parametrize("value, message", [
    ("name=a,train=t.txt", r"missing \['mapping'\]"),
    ("name=a,train=t.txt,mapping=m.json,train=u.txt", "train given twice"),
    ("name=a,train=t.txt,mapping=m.json,share=0.5", "got 'share=0.5'"),
    ("name=a,train=t.txt,mapping=m.json,proportion=1.5", r"proportion expected a number in \(0.0, 1.0\]"),
    ("name=dair ai,train=t.txt,mapping=m.json", r"name expected letters, digits and '_'"),
])
def test_corpus_argument_errors(value, message):
    from corpora import Corpus

    with pytest.raises(DataError, match=message):
        Corpus.parse(value)


def test_proportions_must_add_up(tmp_path):
    from corpora import Corpus, load_corpora

    corpora = [Corpus.parse(f"name=a,train=x.txt,mapping={DAIR_MAPPING},proportion=0.5"),
               Corpus.parse(f"name=b,train=y.txt,mapping={DAIR_MAPPING},proportion=0.3")]
    with pytest.raises(DataError, match=r"proportions \[0.5, 0.3\] must add up to 1"):
        load_corpora(corpora, SIX, False, print)


# ---- neutral in CMHL's own knowledge ----

def test_neutral_sits_at_the_circumplex_centre(tiny_encoder):
    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import circumplex_intensity, no_emotion_flags, no_emotion_score

    config = CMHLConfig(encoder_config=tiny_encoder, id2label=dict(enumerate(SEVEN)))
    valence, arousal = config.circumplex_targets()
    assert (valence[6], arousal[6]) == (0.0, 0.5)
    assert circumplex_intensity(torch.tensor([valence[6]]), torch.tensor([arousal[6]])).item() == pytest.approx(0, abs=1e-5)
    pairs = config.incompatible_index_pairs()
    assert {(k, 6) for k in range(6)} <= set(pairs)  # neutral contradicts every emotion
    assert (0, 1) in pairs and (1, 2) not in pairs  # sadness-joy opposite valence; joy-love alike
    off = CMHLConfig(encoder_config=tiny_encoder, id2label=dict(enumerate(SEVEN)), neutral_contradicts_emotions=False)
    assert set(off.incompatible_index_pairs()) == set(pairs) - {(k, 6) for k in range(6)}

    probabilities = torch.tensor([[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4], [0.5, 0.1, 0.1, 0.1, 0.0, 0.0, 0.2]])
    score = no_emotion_score(probabilities, torch.tensor([0.9, 0.9]), 1.0, config.neutral_index)
    assert torch.allclose(score, torch.tensor([0.4, 0.2]))  # p(neutral), not 1 - max p
    assert no_emotion_flags(probabilities, score, None, 6).tolist() == [True, False]  # neutral is the top label
    assert no_emotion_flags(probabilities, score, 0.1, 6).tolist() == [True, True]  # a calibrated threshold wins
    assert no_emotion_flags(probabilities, score, None, None) is None


def test_the_contradiction_loss_separates_neutral(tiny_encoder):
    from configuration_cmhl import CMHLConfig
    from loss import contradiction_loss, incompatibility_matrix

    config = CMHLConfig(encoder_config=tiny_encoder, id2label=dict(enumerate(SEVEN)))
    incompatible = incompatibility_matrix(7, config.incompatible_index_pairs())
    logits = torch.zeros(1, 7)
    # gold neutral: all six emotions contradict it, each at gap 0 + margin 1: softplus(log(6 e))
    loss = contradiction_loss(logits, torch.tensor([6]), incompatible, "margin", 1.0)
    assert loss.item() == pytest.approx(float(np.log1p(6 * np.e)), rel=1e-5)


# ---- the evaluate module ----

def test_six_way_metric_by_hand_from_any_folder(tmp_path, monkeypatch):
    from metrics import load_cmhl_metric

    monkeypatch.chdir(tmp_path)  # loaded by path, offline, wherever the caller stands
    metric = load_cmhl_metric()
    # dair-ai rows (gold sadness 0, joy 1, joy 1) and one GoEmotions row (gold neutral 6)
    p = np.array([[0.4, 0.1, 0, 0, 0, 0, 0.5],   # seven-way: neutral (wrong); six-way: sadness (right)
                  [0.1, 0.6, 0, 0, 0, 0, 0.3],   # joy, both ways
                  [0.3, 0.2, 0, 0, 0, 0, 0.5],   # seven-way neutral (wrong); six-way sadness (wrong)
                  [0.2, 0.1, 0, 0, 0, 0, 0.7]])
    result = metric.compute(predictions=p, references=[0, 1, 1, 6], sources=["dair", "dair", "dair", "go"],
                            label_names=SEVEN, incompatible_pairs=[(0, 1)], contradiction_threshold=0.2)
    # seven-way over dair's labels {sadness, joy}: sadness P 0/0 R 0 -> 0; joy P 1/1 R 1/2 -> 2/3; macro 1/3
    assert result["dair_accuracy"] == pytest.approx(1 / 3)
    assert result["dair_macro_f1"] == pytest.approx(1 / 3)
    # six-way: predictions sadness, joy, sadness: sadness P 1/2 R 1 -> 2/3; joy P 1 R 1/2 -> 2/3
    assert result["dair_own_labels_accuracy"] == pytest.approx(2 / 3)
    assert result["dair_own_labels_macro_f1"] == pytest.approx(2 / 3)
    assert result["dair_own_labels_weighted_f1"] == pytest.approx(2 / 3)
    assert "dair_neutral_auroc" not in result and "go_own_labels_macro_f1" in result
    assert result["mean_source_macro_f1"] == pytest.approx((1 / 3 + 1.0) / 2)
    assert result["dair_contradiction_rate"] == pytest.approx(1 / 3)  # row 3: sadness .3, joy .2 both >= .2


# ---- end to end: two real corpora with a neutral class ----

@pytest.fixture(scope="module")
def two_corpus_run(tmp_path_factory, minilm_path):
    output = tmp_path_factory.mktemp("corpora") / "run"
    command = [sys.executable, REPO / "train.py", "--model_name_or_path", minilm_path,
               "--class_names", ",".join(SEVEN), "--corpus",
               f"name=dair_ai,train={DATA}/emotion/train.txt,validation={DATA}/emotion/validation.txt,"
               f"test={DATA}/emotion/test.txt,mapping={DAIR_MAPPING},proportion=0.5",
               f"name=meld,train={DATA}/meld/train_sent_emo.csv,validation={DATA}/meld/dev_sent_emo.csv,"
               f"test={DATA}/meld/test_sent_emo.csv,mapping={MELD_MAPPING},proportion=0.5",
               "--epoch_size", 640, "--max_train_samples", 1200, "--max_eval_samples", 100,
               "--max_predict_samples", 100, "--max_seq_length", 64, "--num_train_epochs", 1,
               "--per_device_train_batch_size", 16, "--report_to", "none", "--seed", 0, "--output_dir", output]
    run = subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    return output, run.stderr


def test_two_corpora_train_with_neutral_and_report_per_corpus(two_corpus_run):
    output, log = two_corpus_run
    assert "training epoch: dair_ai 320 rows" in log and "meld 320 rows" in log
    assert "of 1109 rows map to one label; left out: {'has an excluded label': 22}; first 100 kept" in log
    test = json.loads((output / "test_results.json").read_text())
    for key in ("test_dair_ai_own_labels_macro_f1", "test_dair_ai_macro_f1", "test_meld_weighted_f1",
                "test_meld_neutral_auroc", "test_mean_source_macro_f1"):
        assert 0 <= test[key] <= 1, key
    state = json.loads((output / "trainer_state.json").read_text()) if (output / "trainer_state.json").exists() else {}
    assert json.loads((output / "config.json").read_text())["id2label"]["6"] == "neutral"
    card = (output / "README.md").read_text()
    assert "MELD (Poria et al. 2019)" in card and "`meld_to_dair_emotion.json`" in card and "neutral" in card
    assert "the team meeting moves to room 4" in card  # the widget gets a text with no emotion
    assert state == {} or state.get("best_metric") is not None


def test_the_pipeline_and_predict_show_neutral(two_corpus_run, tmp_path):
    from transformers import pipeline

    from predict import Predictor

    output, _ = two_corpus_run
    classifier = pipeline("text-classification", model=str(output))
    scores = classifier("the meeting moved to 3 pm", top_k=None)  # every label with its probability
    assert [entry["label"] for entry in scores if entry["label"] == "neutral"] == ["neutral"] and len(scores) == 7
    predictor = Predictor(str(output))
    assert predictor.no_emotion_fields == ["no_emotion_score", "no_emotion"]  # from the model, no calibration
    row = next(predictor.rows(["the meeting moved to 3 pm"], 0))
    assert row["no_emotion_score"] == pytest.approx(row["p_neutral"], abs=1e-6)
    assert row["no_emotion"] == (row["label"] == "neutral")


def test_a_teacher_of_the_same_labels_teaches_a_multi_corpus_run(two_corpus_run, tmp_path, minilm_path):
    teacher, _ = two_corpus_run
    output = tmp_path / "student"
    command = [sys.executable, REPO / "train.py", "--model_name_or_path", minilm_path, "--class_names", ",".join(SEVEN),
               "--corpus", f"name=meld,train={DATA}/meld/train_sent_emo.csv,validation={DATA}/meld/dev_sent_emo.csv,"
               f"mapping={MELD_MAPPING}",
               f"name=dair_ai,train={DATA}/emotion/train.txt,validation={DATA}/emotion/validation.txt,"
               f"mapping={DAIR_MAPPING}", "--max_train_samples", 100, "--max_eval_samples", 20,
               "--max_seq_length", 32, "--num_train_epochs", 1, "--emotion_teacher", teacher,
               "--report_to", "none", "--output_dir", output]
    run = subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "training epoch: meld 100 rows (1.00x its 100), dair_ai 100 rows" in run.stderr
    assert json.loads((output / "all_results.json").read_text())["eval_mean_source_macro_f1"] >= 0
