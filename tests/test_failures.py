"""Errors outside DataError/OSError end as one sentence too: a full disk, whatever library raised it (safetensors'
SafetensorError included), names the output each tool was writing and what is kept; a damaged tokenizer file names
the folder and its tokenizer files, in every tool that loads one."""

import errno
import importlib

import pytest

from conftest import make_tiny_checkpoint
from data import DataError

SafetensorError = type("SafetensorError", (Exception,), {})  # safetensors' class, by name as entry.py knows it
FULL_DISK = [OSError(errno.ENOSPC, "No space left on device"),
             SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space '
                             'left on device" })')]
TOOLS = [("train", "--output_dir"), ("predict", "--output_file"), ("evaluate_cmhl", "--output_dir"),
         ("export_onnx", "--output_dir"), ("no_emotion", "--output_dir"), ("fetch_encoder", "--output_dir")]


@pytest.mark.parametrize("error", FULL_DISK, ids=["ENOSPC", "SafetensorError"])
@pytest.mark.parametrize("tool, flag", TOOLS)
def test_a_full_disk_is_one_sentence_naming_the_output(tool, flag, error, monkeypatch, capsys, tmp_path):
    module = importlib.import_module(tool)

    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(module, "main", full)
    target = str(tmp_path / "out")
    with pytest.raises(SystemExit) as ended:
        module.cli([flag, target])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "Traceback" not in err
    assert err.startswith(f"error: {target}: no space left on the device while writing; free some space")
    if tool == "predict":
        assert f"kept in {target}.parts; run the same command to resume" in err


def test_other_errors_are_not_taken_for_a_full_disk(monkeypatch):
    import entry

    assert not entry.disk_full(SafetensorError("header too large"))
    assert not entry.disk_full(OSError(errno.EACCES, "Permission denied"))


@pytest.fixture
def damaged(tmp_path):
    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(checkpoint).save_pretrained(checkpoint)  # with its tokenizer.json
    (checkpoint / "tokenizer.json").write_text('{"model": {"type": "Nonsense"}}')
    return checkpoint


def test_a_damaged_tokenizer_is_named_by_the_shared_loader(damaged):
    from saves import load_tokenizer

    with pytest.raises(DataError, match=rf"--model_name_or_path {damaged}: its tokenizer cannot be read \(.*\); the "
                                        r"tokenizer files \[.*'tokenizer\.json'.*\] are damaged"):
        load_tokenizer(damaged)


@pytest.mark.parametrize("tool", ["predict", "export_onnx"])
def test_a_damaged_tokenizer_is_one_sentence_in_each_tool(tool, damaged, tmp_path, capsys):
    module = importlib.import_module(tool)
    texts = tmp_path / "texts.txt"
    texts.write_text("i feel fine\n")
    argv = {"predict": ["--model_name_or_path", damaged, "--input_file", texts, "--output_file", tmp_path / "o.csv"],
            "export_onnx": ["--model_name_or_path", damaged, "--output_dir", tmp_path / "onnx"]}[tool]
    with pytest.raises(SystemExit) as ended:
        module.cli([str(a) for a in argv])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "Traceback" not in err, err[-1500:]
    assert "its tokenizer cannot be read" in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a machine with CUDA has the device")
@pytest.mark.parametrize("device, message", [("cuda", "this machine has no CUDA GPU"), ("cuda:1", "this machine has no CUDA GPU"),
                                             ("gpu", "expected cpu, cuda, cuda:N or mps")])
def test_a_device_this_machine_lacks_is_one_sentence(device, message, tmp_path, capsys):
    import predict

    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    texts = tmp_path / "texts.txt"
    texts.write_text("i feel fine\n")
    with pytest.raises(SystemExit) as ended:
        predict.cli(["--model_name_or_path", str(checkpoint), "--input_file", str(texts), "--output_file",
                     str(tmp_path / "o.csv"), "--device", device])
    err = capsys.readouterr().err
    assert ended.value.code == 2 and "Traceback" not in err and f"--device {device}: {message}" in err, err[-800:]


def test_a_bad_port_variable_is_one_sentence_before_gradio_reads_it(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import REPO

    done = subprocess.run([sys.executable, str(REPO / "app.py"), "--model_name_or_path", str(tmp_path)],
                          capture_output=True, text=True, env={**os.environ, "GRADIO_SERVER_PORT": "abc"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: --port / GRADIO_SERVER_PORT: expected a port number 1-65535, got 'abc'"


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_an_onnx_runtime_on_a_pytorch_checkpoint_points_to_the_export(runtime, tmp_path):
    from saves import check_save
    from predict import SAVE_NEEDS

    checkpoint = make_tiny_checkpoint(tmp_path / "tiny")
    with pytest.raises(DataError, match=rf"is a PyTorch checkpoint, not an ONNX export; export it first \(python "
                                        rf"export_onnx\.py --model_name_or_path {checkpoint} .*--runtime {runtime}"):
        check_save(str(checkpoint), SAVE_NEEDS[runtime])
