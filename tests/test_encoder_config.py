"""The encoder's config is checked before a model is built (configuration_cmhl.check_encoder_config, through
CMHLConfig.check and saves.check_save, which every tool calls): ranges, a known activation, sizes that match the
weights' shapes. Each bad value is one sentence naming the field (and config.json), never a traceback or a job
tied up building a 100,000-layer model."""

import importlib
import json

import pytest

from configuration_cmhl import CMHLConfig
from conftest import TINY_ENCODERS, make_tiny_checkpoint
from data import DataError
from saves import check_save

BAD = [("num_attention_heads", 0, r"encoder_config\.num_attention_heads: expected a whole number in \[1, inf\]"),
       ("num_attention_heads", 3, r"encoder_config\.num_attention_heads: expected a divisor of hidden_size 32"),
       ("hidden_act", "sparkle", r"encoder_config\.hidden_act: expected an activation transformers knows"),
       ("vocab_size", 0, r"encoder_config\.vocab_size: expected a whole number in \[1, inf\]"),
       ("num_hidden_layers", 100_000, r"encoder_config\.num_hidden_layers: expected a whole number in \[1, 128\]"),
       ("hidden_dropout_prob", 1.5, r"encoder_config\.hidden_dropout_prob: expected a probability in \[0, 1\)"),
       ("layer_norm_eps", -1.0, r"encoder_config\.layer_norm_eps: expected a finite number > 0")]


@pytest.mark.parametrize("field, value, message", BAD)
def test_a_bad_encoder_field_is_refused_at_construction(field, value, message):
    with pytest.raises(ValueError, match=message):
        CMHLConfig(encoder_config={**TINY_ENCODERS["bert"], field: value})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny")


def edited(tiny, tmp_path, **fields):
    import shutil

    folder = tmp_path / "edited"
    shutil.copytree(tiny, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(fields)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("field, value, message", BAD)
def test_a_hand_edited_config_json_is_named(field, value, message, tiny, tmp_path):
    folder = edited(tiny, tmp_path, **{field: value})
    with pytest.raises(DataError, match=rf"{folder / 'config.json'}: CMHLConfig\.{message}"):
        check_save(str(folder))


@pytest.mark.parametrize("fields, message", [
    ({"vocab_size": 65}, r"vocab_size 65 and hidden_size 32 do not match the word embeddings of model\.safetensors, "
                         r"\[64, 32\]"),
    ({"num_hidden_layers": 3}, r"num_hidden_layers 3, but model\.safetensors holds 2 layers"),
])
def test_sizes_must_match_the_weights(fields, message, tiny, tmp_path):
    folder = edited(tiny, tmp_path, **fields)
    with pytest.raises(DataError, match=message):
        check_save(str(folder))


@pytest.mark.parametrize("tool", ["predict", "export_onnx", "evaluate_cmhl"])
def test_every_tool_refuses_it_in_one_sentence(tool, tiny, tmp_path, capsys):
    folder = edited(tiny, tmp_path, num_hidden_layers=100_000)
    texts = tmp_path / "texts.txt"
    texts.write_text("i feel fine;joy\n")
    argv = {"predict": ["--model_name_or_path", folder, "--input_file", texts, "--output_file", tmp_path / "o.csv"],
            "export_onnx": ["--model_name_or_path", folder, "--output_dir", tmp_path / "onnx"],
            "evaluate_cmhl": ["--model_name_or_path", folder, "--test_file", texts, "--label_mapping",
                              "mappings/dair_ai_emotion.json", "--output_dir", tmp_path / "eval"]}[tool]
    with pytest.raises(SystemExit) as ended:
        importlib.import_module(tool).cli([str(a) for a in argv])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "Traceback" not in err
    assert "encoder_config.num_hidden_layers: expected a whole number in [1, 128], got 100000" in err, err[-600:]
