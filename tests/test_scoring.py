"""Scoring files at scale (predict.py, runtimes.py, export_onnx.py): length-sorted batches give the values of
one text at a time, in input order; an interrupted run resumes without rescoring; several processes write the
one-process output; the ONNX and int8 runtimes give every head."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from conftest import DATA, REPO, make_tiny_checkpoint
from data import DataError

SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("scoring") / "tiny")


def varied_texts(count: int, seed: int = 0) -> list[str]:
    words = ["i", "feel", "happy", "sad", "angry", "abc", "xyz"]
    generator = random.Random(seed)
    return [" ".join(generator.choices(words, k=generator.randint(0, 50))) for _ in range(count)]


def test_sorted_batches_give_each_texts_own_values_in_input_order(tiny):
    from predict import Predictor

    predictor = Predictor(str(tiny), batch_size=4)
    texts = varied_texts(37)
    together = predictor(texts)
    for i in (0, 5, 17, 36):
        alone = predictor([texts[i]])
        assert np.allclose(together["probabilities"][i], alone["probabilities"][0], atol=1e-5)
        for name in ("valence", "arousal", "intensity"):
            assert together[name][i] == pytest.approx(alone[name][0], abs=1e-5)
    shapes = []
    runtime = predictor.runtime
    predictor.runtime = lambda batch: shapes.append(batch["input_ids"].shape) or runtime(batch)
    predictor(texts)
    lengths = sorted((len(ids) for ids in predictor.tokenize(texts)["input_ids"]), reverse=True)
    # longest first: each batch pads to its own first (longest) text, not the list's
    assert [shape for shape in shapes] == [(min(4, 37 - s), lengths[s]) for s in range(0, 37, 4)]
    predictor.pad_to_multiple_of = 8
    shapes.clear()
    predictor(texts)
    assert [shape[1] for shape in shapes] == [-(-lengths[s] // 8) * 8 for s in range(0, 37, 4)]


def test_batches_keep_to_the_token_budget_longest_first():
    from predict import Predictor

    predictor = Predictor.__new__(Predictor)  # the batching alone, no model
    predictor.batch_size, predictor.max_batch_tokens, predictor.pad_to_multiple_of = 3, 20, 1
    lengths = [4, 9, 4, 30, 5, 9, 2]
    # by hand: order 30, 9(1), 9(5), 5, 4(0), 4(2), 2; 30 alone is over the budget; 9 x 2 = 18 <= 20 < 27;
    # 5 x 3 = 15 <= 20, then the batch is full at 3 texts; 4 x 2 = 8
    assert list(predictor.batches(lengths)) == [[3], [1, 5], [4, 0, 2], [6]]
    predictor.pad_to_multiple_of = 8  # padded widths: 32, 16, 8: 16 x 2 > 20
    assert list(predictor.batches(lengths)) == [[3], [1], [5], [4, 0], [2, 6]]


def write_lines(path, texts):
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def test_interrupted_run_resumes_without_rescoring(tiny, tmp_path, monkeypatch):
    import predict
    from predict import Parts, Predictor, predict_file

    source = write_lines(tmp_path / "in.txt", varied_texts(95))
    predictor = Predictor(str(tiny), batch_size=8)
    fresh = tmp_path / "fresh.csv"
    assert predict_file(predictor, source, fresh, window=10, progress=False) == (95, 95)
    assert not (tmp_path / "fresh.csv.parts").exists()  # joined and removed

    output = tmp_path / "out.csv"
    write = Parts.write

    def interrupted(self, index, records):
        if index == 3:
            raise KeyboardInterrupt  # the machine goes away while window 3 is scored
        write(self, index, records)

    monkeypatch.setattr(Parts, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_file(predictor, source, output, window=10, progress=False)
    assert not output.exists() and len(list((tmp_path / "out.csv.parts").glob("window-*.jsonl"))) == 3
    monkeypatch.setattr(Parts, "write", write)
    scored = []
    rows = predictor.rows
    monkeypatch.setattr(predictor, "rows", lambda texts, first_row: scored.append(first_row) or rows(texts, first_row))
    assert predict_file(predictor, source, output, window=10, progress=False) == (65, 65)
    assert scored == [30, 40, 50, 60, 70, 80, 90]  # windows 0-2 were not scored again
    assert output.read_bytes() == fresh.read_bytes()
    assert predict.Processes().count == 1


def test_parts_of_another_command_are_refused(tiny, tmp_path, monkeypatch):
    from predict import Parts, Predictor, predict_file

    source = write_lines(tmp_path / "in.txt", varied_texts(30))
    predictor = Predictor(str(tiny))
    write = Parts.write
    monkeypatch.setattr(Parts, "write", lambda self, index, records: (write(self, index, records), 1 / index))
    with pytest.raises(ZeroDivisionError):  # stops after writing window 0
        predict_file(predictor, source, tmp_path / "out.csv", window=10, progress=False)
    monkeypatch.setattr(Parts, "write", write)
    with pytest.raises(DataError, match=r"out.csv.parts: windows scored by other work \(window: 10 there, 20 now\)"):
        predict_file(predictor, source, tmp_path / "out.csv", window=20, progress=False)
    source.write_text(source.read_text() + "one more text\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"other work \(input_sha256"):
        predict_file(predictor, source, tmp_path / "out.csv", window=10, progress=False)


def test_two_processes_write_the_one_process_output(tiny, tmp_path):
    source = write_lines(tmp_path / "in.txt", varied_texts(250))
    arguments = ["predict.py", "--model_name_or_path", str(tiny), "--input_file", str(source), "--window", "20",
                 "--no_progress"]
    one = subprocess.run([sys.executable, *arguments, "--output_file", str(tmp_path / "one.jsonl")], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    environment = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                          "29517", *arguments, "--output_file", str(tmp_path / "two.jsonl")], cwd=REPO,
                         capture_output=True, text=True, timeout=300, env=environment)
    assert two.returncode == 0, two.stderr[-3000:]
    assert "process 1 of 2: 120 texts" in two.stderr and "process 0 of 2: 130 texts" in two.stderr
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()


def test_an_onnx_graph_without_the_heads_is_refused(tiny, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from runtimes import OnnxRuntime

    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 6])
    node = helper.make_node("Cast", ["input_ids"], ["logits"], to=TensorProto.FLOAT)
    folder = tmp_path / "old-export"
    folder.mkdir()
    onnx.save(helper.make_model(helper.make_graph([node], "old", [ids], [logits])), str(folder / "model.onnx"))
    with pytest.raises(DataError, match=r"model.onnx: expected the outputs \['logits', 'valence', 'arousal', "
                                        r"'intensity'\], got \['logits'\]"):
        OnnxRuntime(str(folder))
    with pytest.raises(DataError, match=r"model_int8.onnx: no such file; .* --quantize"):
        OnnxRuntime(str(folder), "onnx-int8")


def test_onnx_and_int8_runtimes_give_every_head(trained_checkpoint, tmp_path):
    """export_onnx.py --quantize checks both graphs against PyTorch; predict.py then scores with each and writes
    every column; the float32 graph matches PyTorch to 1e-4."""
    import csv

    from export_onnx import main

    folder = tmp_path / "onnx"
    report = main(["--model_name_or_path", str(trained_checkpoint), "--output_dir", str(folder), "--quantize",
                   "--check_file", str(DATA / "emotion" / "validation.txt"), "--check_samples", "100"])
    assert report["texts"] == 100 and report["ok"]
    assert max(report["onnx"]["max_diff"].values()) < 1e-4 and report["onnx"]["label_agreement"] == 1.0
    assert report["onnx-int8"]["label_agreement"] >= 0.95
    # int8 matrix weights; the embedding table (half of MiniLM's weights) stays float32
    assert (folder / "model_int8.onnx").stat().st_size < 0.7 * (folder / "model.onnx").stat().st_size
    texts = [line.rsplit(";", 1)[0] for line in (DATA / "emotion" / "test.txt").read_text().splitlines()[:64]]
    texts.append("word " * 2000)  # longer than the encoder takes: truncated like PyTorch
    source = write_lines(tmp_path / "texts.txt", texts)
    columns = {}
    for runtime, model in (("torch", trained_checkpoint), ("onnx", folder), ("onnx-int8", folder)):
        output = tmp_path / f"{runtime}.csv"
        run = subprocess.run([sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(model),
                              "--runtime", runtime, "--input_file", str(source), "--output_file", str(output),
                              "--no_progress", *(["--precision", "fp32"] if runtime == "torch" else [])],
                             capture_output=True, text=True, timeout=300)  # float32 PyTorch: the graph's reference
        assert run.returncode == 0, run.stderr[-2000:]
        with open(output, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [r["text"] for r in rows] == texts
        columns[runtime] = {name: np.array([float(r[name]) for r in rows])
                            for name in (*(f"p_{n}" for n in SIX), "valence", "arousal", "intensity")}
        assert {r["consistent"] for r in rows} <= {"True", "False"}
    # Two streams (two batches at once, one thread each): the same rows and values as one stream. The batches
    # must be the same ones: int8 scales activations per batch, so a text's values depend on its batch-mates.
    output = tmp_path / "streams.csv"
    run = subprocess.run([sys.executable, str(REPO / "predict.py"), "--model_name_or_path", str(folder), "--runtime",
                          "onnx-int8", "--streams", "2", "--input_file", str(source),
                          "--output_file", str(output), "--no_progress"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    with open(output, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text"] for r in rows] == texts
    for name, values in columns["onnx-int8"].items():
        assert np.abs(np.array([float(r[name]) for r in rows]) - values).max() < 1e-5, name
    for name, values in columns["onnx"].items():
        assert np.abs(values - columns["torch"][name]).max() < 1e-4, name
    labels = {runtime: np.stack([c[f"p_{n}"] for n in SIX]).argmax(0) for runtime, c in columns.items()}
    assert (labels["onnx-int8"] == labels["torch"]).mean() >= 0.9
    assert np.abs(columns["onnx-int8"]["valence"] - columns["torch"]["valence"]).mean() < 0.1
