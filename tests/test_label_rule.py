"""One rule for labels written as numbers (data.label_position), in every reader: a name that is a number is that
name; a whole number is an index only when no name is a number; other digits ('²') are names, never indices."""

import json

import pytest

from corpora import LabelMapping
from data import DataError, Row, label_position


@pytest.mark.parametrize("written, names, expected", [
    ("joy", ["sadness", "joy"], 1),
    ("1", ["sadness", "joy"], 1),
    ("7", ["sadness", "joy"], 7),            # an index out of range: the caller says so
    ("1", ["1", "0"], 0),                    # a name that is a number is that name
    ("2", ["1", "0"], None),                 # with numeric names, a number is never an index
    ("²", ["sadness", "joy"], None),         # a Unicode digit is a name
    ("-1", ["sadness", "joy"], -1),
])
def test_the_rule(written, names, expected):
    assert label_position(written, names) == expected


def mapping_file(tmp_path, source_labels, mapping):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"mapping": mapping, "source_labels": source_labels}))
    return LabelMapping(path, ["sadness", "joy"])


def test_a_mapping_reads_numeric_names_as_names(tmp_path):
    mapping = mapping_file(tmp_path, ["1", "0"], {"1": "joy", "0": "sadness"})
    assert mapping.source_names(Row("f, line 1", "t", "1")) == ["1"]  # not index 1 ("0")
    assert mapping(Row("f, line 1", "t", "1"))[0] == 1
    assert mapping(Row("f, line 2", "t", "0"))[0] == 0


def test_a_mapping_reads_ids_when_no_name_is_a_number(tmp_path):
    mapping = mapping_file(tmp_path, ["sad", "happy"], {"sad": "sadness", "happy": "joy"})
    assert mapping.source_names(Row("f, line 1", "t", "1")) == ["happy"]
    with pytest.raises(DataError, match=r"f, line 2: label id 5 outside 0\.\.1 of 'source_labels'"):
        mapping.source_names(Row("f, line 2", "t", "5"))


def test_a_unicode_digit_is_a_label_named_in_the_error(tmp_path):
    mapping = mapping_file(tmp_path, ["sad", "happy"], {"sad": "sadness", "happy": "joy"})
    with pytest.raises(DataError, match=r"f, line 3: label '²' is neither mapped nor excluded"):
        mapping.source_names(Row("f, line 3", "t", "²"))


def test_labels_that_differ_only_by_case_say_so(tmp_path):
    from configuration_cmhl import CMHLConfig
    from conftest import TINY_ENCODERS, make_tiny_checkpoint

    labels = ["Sadness", "joy", "love", "anger", "fear", "surprise"]
    with pytest.raises(ValueError, match=r"label 'Sadness' differs from the known 'sadness' only by case"):
        CMHLConfig(encoder_config=dict(TINY_ENCODERS["bert"]), id2label=dict(enumerate(labels)),
                   label2id={n: i for i, n in enumerate(labels)})
    import train

    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    model_args = train.ModelArguments(model_name_or_path=str(checkpoint))
    with pytest.raises(DataError, match=r"--class_names: 'Sadness' differs from .*'s label 'sadness' only by case"):
        train.build_model(model_args, train.CMHLArguments(), labels)
