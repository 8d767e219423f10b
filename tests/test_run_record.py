"""A resume is refused, naming the field, when any input that changes the training rows or the final weights
differs: another corpus's test file (it decides what --drop_test_overlap leaves out), --neftune_noise_alpha,
--load_best_model_at_end; the message shows each value whole or by both ends, never cut to 40 characters."""

import json

import pytest

import train
from data import DataError
from run_checks import RUN_RECORD, check_run_record, write_run_record


def record(test_hash="a" * 64, **training):
    return {"corpora": [{"name": "dair_ai", "train": "1" * 64, "test": "2" * 64},
                        {"name": "goemotions", "train": "3" * 64, "test": test_hash}],
            "training": {"neftune_noise_alpha": "None", "load_best_model_at_end": "True", **training}}


@pytest.fixture
def resume(tmp_path):
    write_run_record(tmp_path, record())
    (tmp_path / "checkpoint-1").mkdir()
    return str(tmp_path / "checkpoint-1")


def test_the_same_record_resumes(resume):
    check_run_record(resume, json.loads(json.dumps(record())))


@pytest.mark.parametrize("now, field", [
    (record(test_hash="b" * 64), r"corpora\.goemotions\.test: \"a{27}\.\.\.a{27}\" there, "
                                 r"\"b{27}\.\.\.b{27}\" now"),
    (record(neftune_noise_alpha="5.0"), r"training\.neftune_noise_alpha: \"None\" there, \"5\.0\" now"),
    (record(load_best_model_at_end="False"), r"training\.load_best_model_at_end: \"True\" there, \"False\" now"),
])
def test_a_changed_input_is_named(resume, now, field):
    with pytest.raises(DataError, match=field):
        check_run_record(resume, now)


def test_train_records_test_files_and_the_settings_that_decide_the_weights(tmp_path):
    model, data, cmhl, training = train.parse_arguments(
        ["recipes/corpora.yaml", "--corpus_dir", "../shared/data", "--output_dir", str(tmp_path / "run")])
    train.fetch_data_files(data)  # as main() does first: the recipe's EmoBank source becomes the local copy
    made = train.run_record(model, data, cmhl, training, {"train": None, "validation": None}, ["a"])
    assert all(corpus["test"] for corpus in made["corpora"])  # a sha256 per corpus's test file
    assert {"neftune_noise_alpha", "load_best_model_at_end"} <= set(made["training"])
    assert RUN_RECORD
