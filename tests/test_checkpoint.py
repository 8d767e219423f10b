"""A saved checkpoint loads anywhere: a fresh process, outside the repository, offline, through the
Auto classes and the text-classification pipeline, with identical outputs; and, without custom code, as
the encoder's stock classifier with the same emotion probabilities."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file

from configuration_cmhl import CMHLConfig
from modeling_cmhl import CMHLForSequenceClassification

TEXTS = ["i feel happy", "i feel sad and angry", "", "ab cd ef gh"]

CHILD = textwrap.dedent('''
    import json, sys
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    path = sys.argv[1]
    expected = load_file(path + "/../expected.safetensors")
    report = {}
    tokenizer = AutoTokenizer.from_pretrained(path)
    inputs = tokenizer(json.loads(sys.argv[2]), padding=True, return_tensors="pt")
    for auto in (AutoModel, AutoModelForSequenceClassification):
        model, info = auto.from_pretrained(path, trust_remote_code=True, output_loading_info=True)
        with torch.no_grad():
            out = model.eval()(**inputs)
        report[auto.__name__] = {
            "class": type(model).__name__,
            "module": type(model).__module__,
            "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
            "mismatched": [str(m) for m in info["mismatched_keys"]],
            "max_diff": max((out[k] - expected[k]).abs().max().item() for k in ("logits", "valence", "intensity")),
        }
    classifier = pipeline("text-classification", model=path, trust_remote_code=True)
    report["pipeline_top_k_none"] = classifier(json.loads(sys.argv[2]), top_k=None)
    report["pipeline_default"] = classifier("i feel happy")
    # No custom code: the stock class of the encoder family reads the same artifact.
    stock, info = AutoModelForSequenceClassification.from_pretrained(path, output_loading_info=True)
    with torch.no_grad():
        probs = stock.eval()(**inputs).logits.softmax(-1)
    report["stock"] = {
        "class": type(stock).__name__, "module": type(stock).__module__,
        "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
        "max_prob_diff": (probs - expected["logits"].softmax(-1)).abs().max().item(),
    }
    stock_pipeline = pipeline("text-classification", model=path)
    report["stock_pipeline_class"] = type(stock_pipeline.model).__name__
    report["stock_pipeline_top_k_none"] = stock_pipeline(json.loads(sys.argv[2]), top_k=None)
    print("REPORT" + json.dumps(report))
''')


def save_checkpoint(model, tokenizer, directory):
    model.save_pretrained(directory / "ckpt")
    tokenizer.save_pretrained(directory / "ckpt")
    inputs = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.eval()(**inputs)
    save_file({k: out[k].contiguous() for k in ("logits", "valence", "intensity")}, directory / "expected.safetensors")


def load_in_fresh_process(directory):
    script = directory / "child.py"
    script.write_text(CHILD)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(directory / "modules"))
    run = subprocess.run([sys.executable, str(script), str(directory / "ckpt"), json.dumps(TEXTS)],
                         cwd=directory, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.split("REPORT", 1)[1])


def check_report(report, labels):
    for auto in ("AutoModel", "AutoModelForSequenceClassification"):
        loaded = report[auto]
        assert loaded["class"] == "CMHLForSequenceClassification"
        assert loaded["module"].startswith("transformers_modules.")  # the checkpoint's copy, not the repo's
        assert loaded["missing"] == [] and loaded["unexpected"] == [] and loaded["mismatched"] == []
        assert loaded["max_diff"] < 1e-5
    for scores in report["pipeline_top_k_none"]:
        assert sorted(s["label"] for s in scores) == sorted(labels)
        assert sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)
    stock = report["stock"]
    assert stock["module"].startswith("transformers.models.") and stock["class"].endswith("ForSequenceClassification")
    assert stock["missing"] == [] and stock["max_prob_diff"] < 1e-5
    assert stock["unexpected"] == sorted(f"{h}.{p}" for h in ("arousal_head", "valence_head") for p in ("bias", "weight"))
    assert report["stock_pipeline_class"] == stock["class"]
    for custom, plain in zip(report["pipeline_top_k_none"], report["stock_pipeline_top_k_none"]):
        assert [s["label"] for s in custom] == [s["label"] for s in plain]
        assert max(abs(a["score"] - b["score"]) for a, b in zip(custom, plain)) < 1e-5
    top = report["pipeline_default"]
    assert len(top) == 1 and top[0]["label"] in labels


def test_saved_files(tmp_path, tiny_encoder, tiny_tokenizer):
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder))
    model.save_pretrained(tmp_path)
    files = sorted(os.listdir(tmp_path))
    assert files == ["config.json", "configuration_cmhl.py", "loss.py", "model.safetensors", "modeling_cmhl.py"]
    saved = json.loads((tmp_path / "config.json").read_text())
    assert set(saved["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForSequenceClassification"}
    # flat, stock-readable form: the encoder's fields and model_type at top level, CMHL's beside them
    assert saved["model_type"] == "bert" and saved["hidden_size"] == 32 and "encoder_config" not in saved
    assert saved["valence_weight"] == 0.5 and saved["id2label"]["5"] == "surprise"


def test_round_trip_tiny_encoder(tmp_path, tiny_encoder, tiny_tokenizer):
    torch.manual_seed(0)
    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder))
    save_checkpoint(model, tiny_tokenizer, tmp_path)
    check_report(load_in_fresh_process(tmp_path), model.config.label_names)


@pytest.mark.parametrize("model_type", ["roberta", "deberta-v2"])
def test_round_trip_other_encoders(tmp_path, tiny_tokenizer, model_type):
    from conftest import TINY_ENCODERS

    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=TINY_ENCODERS[model_type]))
    save_checkpoint(model, tiny_tokenizer, tmp_path)
    check_report(load_in_fresh_process(tmp_path), model.config.label_names)


def test_round_trip_minilm_backbone(tmp_path, minilm_path):
    from transformers import AutoTokenizer

    model = CMHLForSequenceClassification.from_backbone(minilm_path)
    save_checkpoint(model, AutoTokenizer.from_pretrained(minilm_path), tmp_path)
    check_report(load_in_fresh_process(tmp_path), model.config.label_names)


def test_truncated_or_misshapen_weights_fail_loudly(tmp_path, tiny_encoder):
    from transformers import AutoModel

    model = CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder))
    model.save_pretrained(tmp_path / "truncated")
    weights = tmp_path / "truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(Exception, match="incomplete metadata|not fully covered"):
        AutoModel.from_pretrained(tmp_path / "truncated", trust_remote_code=True)
    smaller = CMHLForSequenceClassification(CMHLConfig(encoder_config={**tiny_encoder, "hidden_size": 16}))
    smaller.save_pretrained(tmp_path / "misshapen")
    (tmp_path / "misshapen" / "config.json").write_text((tmp_path / "truncated" / "config.json").read_text())
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        AutoModel.from_pretrained(tmp_path / "misshapen", trust_remote_code=True)


def test_importing_the_code_files_does_no_io(tmp_path, tiny_encoder):
    """The checkpoint's code files, imported in a fresh process with sockets and writing `open` disabled."""
    CMHLForSequenceClassification(CMHLConfig(encoder_config=tiny_encoder)).save_pretrained(tmp_path / "ckpt")
    guard = textwrap.dedent('''
        import builtins, socket, sys
        import torch, transformers  # the libraries themselves may touch files while importing
        def no_socket(*args, **kwargs):
            raise AssertionError("network access while importing")
        real_open = builtins.open
        def read_only_open(file, mode="r", *args, **kwargs):
            if any(flag in mode for flag in "wax+"):
                raise AssertionError(f"file written while importing: {file}")
            return real_open(file, mode, *args, **kwargs)
        socket.socket = socket.create_connection = no_socket
        builtins.open = read_only_open
        sys.path.insert(0, sys.argv[1])
        import configuration_cmhl, loss, modeling_cmhl
        print("IMPORTED", modeling_cmhl.CMHLForSequenceClassification.__name__)
    ''')
    run = subprocess.run([sys.executable, "-c", guard, str(tmp_path / "ckpt")], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0 and "IMPORTED CMHLForSequenceClassification" in run.stdout, run.stderr[-2000:]
