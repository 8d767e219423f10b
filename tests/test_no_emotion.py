"""Text with no clear emotion (issue 29, item 1): the score by hand, the threshold and AUROC by hand, the config's
checks, and no_emotion.py calibrating a checkpoint into a new folder whose outputs carry the flag."""

import json
import math

import numpy as np
import pytest
import torch

from conftest import REPO, make_tiny_checkpoint
from data import DataError

MAPPING = REPO / "mappings" / "goemotions_to_dair_emotion.json"


def test_no_emotion_score_by_hand():
    from modeling_cmhl import no_emotion_score

    probabilities = torch.tensor([[0.7, 0.1, 0.05, 0.05, 0.05, 0.05], [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]])
    intensity = torch.tensor([0.2, 0.9])
    assert torch.allclose(no_emotion_score(probabilities, intensity, 1.0), torch.tensor([0.3, 0.8]))
    assert torch.allclose(no_emotion_score(probabilities, intensity, 0.0), torch.tensor([0.8, 0.1]))
    # 0.5 * 0.3 + 0.5 * 0.8 and 0.5 * 0.8 + 0.5 * 0.1
    assert torch.allclose(no_emotion_score(probabilities, intensity, 0.5), torch.tensor([0.55, 0.45]))
    # w = 1 never reads intensity: a stock classifier's NaN stays out
    assert torch.isfinite(no_emotion_score(probabilities, torch.full((2,), float("nan")), 1.0)).all()


def test_threshold_and_auroc_by_hand():
    from metrics import best_f1_threshold, detection_metrics

    scores = np.array([0.9, 0.8, 0.3, 0.1])
    positive = np.array([True, False, True, False])
    # flag >= 0.9: P 1, R .5, F1 .667; >= 0.8: .5/.5/.5; >= 0.3: 2/3, 1, .8; >= 0.1: .5, 1, .667
    assert best_f1_threshold(scores, positive) == pytest.approx(0.3)
    result = detection_metrics(scores, positive, 0.3)
    assert result["auroc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ranked right
    assert (result["precision"], result["recall"], result["f1"]) == pytest.approx((2 / 3, 1.0, 0.8))
    assert result["flagged"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="positive and negative"):
        detection_metrics(scores, np.ones(4, bool))


def test_method_scores_entropy_by_hand():
    from no_emotion import method_scores

    uniform = np.full((1, 6), 1 / 6)
    sure = np.array([[1.0, 0, 0, 0, 0, 0]])
    for probabilities, entropy in ((uniform, 1.0), (sure, 0.0)):
        scores = method_scores(probabilities, np.array([0.25]), mix=0.5)
        assert scores["entropy"][0] == pytest.approx(entropy, abs=1e-6)
        assert scores["intensity"][0] == pytest.approx(0.75)
        assert scores["mixed"][0] == pytest.approx(0.5 * (1 - probabilities.max()) + 0.5 * 0.75)
    assert "intensity" not in method_scores(sure, np.array([np.nan]))  # untrained heads: no intensity score


def test_config_checks_the_fields(tiny_encoder):
    from configuration_cmhl import CMHLConfig

    with pytest.raises(ValueError, match="no_emotion_mix: expected a number in"):
        CMHLConfig(encoder_config=tiny_encoder, no_emotion_mix=1.5)
    with pytest.raises(ValueError, match="no_emotion_threshold"):
        CMHLConfig(encoder_config=tiny_encoder, no_emotion_threshold=2)
    with pytest.raises(ValueError, match="no_emotion_mix: expected 1 for a checkpoint whose valence"):
        CMHLConfig(encoder_config=tiny_encoder, no_emotion_mix=0.5, trained_heads=["emotion"])
    config = CMHLConfig(encoder_config=tiny_encoder, no_emotion_mix=0.5, no_emotion_threshold=0.4,
                        trained_heads=["emotion", "valence", "arousal"])
    assert (config.no_emotion_mix, config.no_emotion_threshold) == (0.5, 0.4)


def test_model_output_carries_the_score(tiny_encoder):
    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import CMHLForSequenceClassification

    torch.manual_seed(0)
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder, no_emotion_mix=0.25)).eval()
    out = model(input_ids=torch.randint(5, 60, (3, 7)))
    expected = 0.25 * (1 - out.logits.softmax(-1).amax(-1)) + 0.75 * (1 - out.intensity)
    assert out.no_emotion.shape == (3,)
    assert torch.allclose(out.no_emotion, expected)


def goemotions_file(path, rows):
    path.write_text("".join(f"{text}\t{labels}\tid{i}\n" for i, (text, labels) in enumerate(rows)))
    return path


@pytest.fixture(scope="module")
def dev_file(tmp_path_factory):
    # 27 neutral, 17 joy, 2 anger, 25 sadness, 11 disgust (excluded), "27,17" (neutral and joy: left out)
    rows = [("i feel", "27"), ("abc", "27"), ("xyz", "27"), ("i feel happy", "17"), ("angry angry", "2"),
            ("sad sad i feel", "25"), ("happy", "17"), ("abc xyz", "11"), ("i", "27,17"), ("sad", "25")]
    return goemotions_file(tmp_path_factory.mktemp("goemotions") / "dev.tsv", rows)


def calibrate(checkpoint, dev_file, output_dir, *extra):
    from no_emotion import main

    return main(["--model_name_or_path", str(checkpoint), "--validation_file", str(dev_file), "--column_names",
                 "text,label,id", "--label_mapping", str(MAPPING), "--output_dir", str(output_dir), *extra])


def test_calibration_writes_a_new_checkpoint_with_the_flag(tmp_path, dev_file):
    from no_emotion import detection_rows
    from corpora import LabelMapping, read_rows
    from predict import Predictor, predict_file
    from saves import check_save

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    before = {p.name: p.read_bytes() for p in tiny.iterdir()}
    texts, positive, left_out = detection_rows(read_rows(dev_file, ["text", "label", "id"]),
                                               LabelMapping(MAPPING, Predictor(str(tiny)).label_names))
    assert positive.tolist() == [True, True, True, False, False, False, False, False]
    assert left_out == {"has an excluded label": 2}
    calibration = calibrate(tiny, dev_file, tmp_path / "calibrated")
    assert {p.name: p.read_bytes() for p in tiny.iterdir()} == before  # the input is never written
    check_save(str(tmp_path / "calibrated"))  # one whole save, manifest included
    config = json.loads((tmp_path / "calibrated" / "config.json").read_text())
    assert config["no_emotion_mix"] == calibration["no_emotion_mix"]
    assert config["no_emotion_threshold"] == pytest.approx(calibration["no_emotion_threshold"])
    assert set(calibration["auroc_by_mix"]) == {f"{i / 20:.2f}" for i in range(21)}  # heads trained (label targets)
    assert calibration["auroc_by_mix"][f"{calibration['no_emotion_mix']:.2f}"] == max(calibration["auroc_by_mix"].values())
    assert "## No clear emotion" in (tmp_path / "calibrated" / "README.md").read_text()

    predictor = Predictor(str(tmp_path / "calibrated"))
    assert predictor.no_emotion_fields == ["no_emotion_score", "no_emotion"]
    assert Predictor(str(tiny)).no_emotion_fields == []  # uncalibrated: no flag
    (tmp_path / "texts.txt").write_text("i feel happy\nabc\n")
    predict_file(predictor, tmp_path / "texts.txt", tmp_path / "out.jsonl", progress=False)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    threshold = calibration["no_emotion_threshold"]
    for record in records:
        assert record["no_emotion"] == (record["no_emotion_score"] >= threshold)
        assert 0 <= record["no_emotion_score"] <= 1 and not math.isnan(record["no_emotion_score"])


def test_calibration_refuses_bad_folders_and_mappings(tmp_path, dev_file):
    tiny = make_tiny_checkpoint(tmp_path / "runs" / "tiny")
    with pytest.raises(DataError, match="is also an input of this run"):
        calibrate(tiny, dev_file, tiny)
    with pytest.raises(DataError, match="an input of this run"):
        calibrate(tiny, dev_file, tmp_path / "runs", "--overwrite_output_dir")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="busy: exists"):
        calibrate(tiny, dev_file, tmp_path / "busy")
    with pytest.raises(DataError, match="holds no earlier calibration"):
        calibrate(tiny, dev_file, tmp_path / "busy", "--overwrite_output_dir")
    calibrate(tiny, dev_file, tmp_path / "calibrated")
    with pytest.raises(DataError, match="--overwrite_output_dir"):
        calibrate(tiny, dev_file, tmp_path / "calibrated")
    calibrate(tiny, dev_file, tmp_path / "calibrated", "--overwrite_output_dir")
    mapping = json.loads(MAPPING.read_text())
    del mapping["no_emotion"]
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    from no_emotion import main

    with pytest.raises(DataError, match="names no 'no_emotion' labels"):
        main(["--model_name_or_path", str(tiny), "--validation_file", str(dev_file), "--column_names",
              "text,label,id", "--label_mapping", str(tmp_path / "mapping.json"), "--output_dir", str(tmp_path / "o")])
    mapping["no_emotion"] = ["joy"]
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    with pytest.raises(DataError, match="must also be 'excluded'"):  # a failed re-run keeps the earlier calibration
        main(["--model_name_or_path", str(tiny), "--validation_file", str(dev_file), "--column_names",
              "text,label,id", "--label_mapping", str(tmp_path / "mapping.json"), "--output_dir",
              str(tmp_path / "calibrated"), "--overwrite_output_dir"])
    assert not (tmp_path / "o").exists()
    from saves import check_save

    check_save(str(tmp_path / "calibrated"))
    assert (tmp_path / "calibrated" / "no_emotion_calibration.json").is_file()
    assert not list(tmp_path.glob(".*.tmp"))  # no staging folder left behind


def test_evaluate_reports_no_emotion_auroc(tmp_path, dev_file):
    from evaluate_cmhl import main

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    results = main(["--model_name_or_path", str(tiny), "--test_file", str(dev_file), "--column_names",
                    "text,label,id", "--label_mapping", str(MAPPING), "--output_dir", str(tmp_path / "eval")])
    detection = results["no_emotion"]
    assert set(detection) == {"max_probability", "entropy", "intensity", "checkpoint"}
    assert detection["checkpoint"]["positives"] == 3 and detection["checkpoint"]["negatives"] == 5
    assert detection["checkpoint"]["auroc"] == pytest.approx(detection["max_probability"]["auroc"])  # mix 1
    assert "f1" not in detection["checkpoint"]  # no threshold: uncalibrated


def test_demo_summary_says_no_clear_emotion_only_when_calibrated(tmp_path, dev_file):
    from app import describe
    from predict import Predictor

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    calibration = calibrate(tiny, dev_file, tmp_path / "calibrated")
    summary = describe(Predictor(str(tmp_path / "calibrated")), "abc")[0]
    assert "no clear emotion:" in summary and f"flagged from {calibration['no_emotion_threshold']:.2f}" in summary
    assert "no clear emotion" not in describe(Predictor(str(tiny)), "abc")[0]


def test_training_from_a_calibrated_checkpoint_starts_uncalibrated(tmp_path, dev_file):
    """The threshold belongs to the weights it was chosen for: a run that changes them never carries it on."""
    from test_train import data_args, run_train

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    calibrate(tiny, dev_file, tmp_path / "calibrated")
    out = tmp_path / "run"
    run = run_train(["--model_name_or_path", tmp_path / "calibrated", *data_args(train=16, evaluation=16, test=16),
                     "--max_steps", 1, "--eval_strategy", "no", "--save_strategy", "no",
                     "--load_best_model_at_end", "false", "--output_dir", out], cwd=tmp_path)
    assert "starts uncalibrated" in run.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["no_emotion_threshold"] is None and config["no_emotion_mix"] == 1.0


def test_calibration_reads_the_file_as_the_mapping_says(tmp_path, dev_file):
    """No --column_names: the mapping's reader (GoEmotions' header-less columns) reads the file, as in
    evaluate_cmhl.py and train.py, and a file without neutral texts is named as the file at fault."""
    from no_emotion import main

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    result = main(["--model_name_or_path", str(tiny), "--validation_file", str(dev_file), "--label_mapping",
                   str(MAPPING), "--output_dir", str(tmp_path / "calibrated")])
    assert result["no_emotion_threshold"] is not None
    no_neutral = goemotions_file(tmp_path / "no_neutral.tsv", [("i feel happy", "17"), ("sad", "25")])
    with pytest.raises(DataError, match=rf"{no_neutral}: calibration needs texts labelled only with \['neutral'\]"):
        main(["--model_name_or_path", str(tiny), "--validation_file", str(no_neutral), "--label_mapping",
              str(MAPPING), "--output_dir", str(tmp_path / "o")])
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_text('{"text": "fine", "label": "27"}\n{"text": "\\ud83d", "label": "27"}\n')
    with pytest.raises(DataError, match=rf"{surrogate}, line 2: the text holds .* lone UTF-16 surrogate"):
        main(["--model_name_or_path", str(tiny), "--validation_file", str(surrogate), "--label_mapping",
              str(MAPPING), "--output_dir", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_a_model_with_its_own_neutral_is_not_calibrated(tmp_path, dev_file):
    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import CMHLForSequenceClassification
    from no_emotion import main

    tiny = make_tiny_checkpoint(tmp_path / "tiny")
    labels = ["sadness", "joy", "love", "anger", "fear", "surprise", "neutral"]
    kept = CMHLConfig.from_pretrained(tiny).to_dict()
    config = CMHLConfig.from_dict({**kept, "circumplex_coordinates": None, "incompatible_pairs": None,
                                   "id2label": dict(enumerate(labels)),
                                   "label2id": {n: i for i, n in enumerate(labels)}})
    neutral = tmp_path / "neutral"
    CMHLForSequenceClassification(config).save_pretrained(neutral)
    for part in tiny.iterdir():  # the tokenizer's files
        if part.is_file() and not (neutral / part.name).exists():
            (neutral / part.name).write_bytes(part.read_bytes())
    with pytest.raises(DataError, match=r"the model has its own 'neutral' label .* 'neutral' on top, with no "
                                        r"calibration"):
        main(["--model_name_or_path", str(neutral), "--validation_file", str(dev_file), "--label_mapping",
              str(MAPPING), "--output_dir", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()
