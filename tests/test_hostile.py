"""Hostile input, by failure class, at every entry point (train.py, predict.py, evaluate_cmhl.py, export_onnx.py,
Predictor, the checkpoint loaders): nothing read is overwritten, rows never merge, labels are never renamed,
a finished run is never overwritten, a check checks something, bad input gets a sentence (exit 2), memory
is bounded by the batch."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import DATA, REPO, make_tiny_checkpoint
from data import DataError, read_file

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EMOTION = DATA / "emotion"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


def train_main(args):
    from train import main

    return main([str(a) for a in args])


def tiny_train_args(checkpoint, output_dir, train=None, extra=()):
    return ["--model_name_or_path", checkpoint, "--train_file", train or EMOTION / "train.txt",
            "--validation_file", EMOTION / "validation.txt", "--max_train_samples", 32, "--max_eval_samples", 16,
            "--max_seq_length", 32, "--per_device_train_batch_size", 8, "--max_steps", 2, "--save_strategy", "steps",
            "--save_steps", 2, "--eval_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none",
            "--output_dir", output_dir, *extra]


def labelled_lines(n=60):
    return [f"i feel number {i} {LABELS[i % 6]};{LABELS[i % 6]}" for i in range(n)]


# ---- 1. an input is never destroyed ----

def test_predict_refuses_to_write_over_its_input_however_spelled(tiny, tmp_path, monkeypatch):
    from predict import main

    source = tmp_path / "texts.csv"
    source.write_text("text\ni feel happy\ni feel sad\n")
    before = source.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(source)
    monkeypatch.chdir(tmp_path)
    for spelled in ("texts.csv", "./texts.csv", "sub/../texts.csv", str(source), "link.csv"):
        with pytest.raises(DataError, match="is also an input"):
            main(["--model_name_or_path", str(tiny), "--input_file", "texts.csv", "--output_file", spelled])
        assert source.read_bytes() == before, spelled


def test_tools_refuse_to_write_into_the_checkpoint_they_read(tiny, tmp_path):
    import evaluate_cmhl
    import export_onnx

    snapshot = {p.name: p.read_bytes() for p in tiny.iterdir() if p.is_file()}
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {n: n for n in LABELS}}))
    with pytest.raises(DataError, match="also an input"):
        evaluate_cmhl.main(["--model_name_or_path", str(tiny), "--test_file", str(EMOTION / "validation.txt"),
                            "--label_mapping", str(mapping), "--output_dir", str(tiny)])
    with pytest.raises(DataError, match="also an input"):
        export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(tiny / "." )])
    with pytest.raises(DataError, match="also an input"):
        train_main(tiny_train_args(tiny, tiny))
    assert {p.name: p.read_bytes() for p in tiny.iterdir() if p.is_file()} == snapshot


# ---- 2. rows never merge: a record is a line ----

def test_unclosed_quote_in_tsv_is_an_ordinary_character(tmp_path):
    lines = labelled_lines(300)
    lines[10] = '"this text opens a quote and never closes it;joy'
    tsv = tmp_path / "train.tsv"
    tsv.write_text("text\tlabel\n" + "".join(line.replace(";", "\t", 1) if False else
                                             "\t".join(line.rsplit(";", 1)) + "\n" for line in lines))
    rows = read_file(tsv)
    assert len(rows) == 300 and rows[10].text.startswith('"this text') and max(len(r.text) for r in rows) < 60


def test_unclosed_quote_in_csv_is_an_error_naming_the_line(tmp_path):
    csv_file = tmp_path / "train.csv"
    csv_file.write_text('text,label\n"fine, quoted",joy\n"opens and never closes,joy\nnext,sadness\n"x",anger\n')
    with pytest.raises(DataError, match=r"train.csv, line 3: malformed CSV"):
        read_file(csv_file)


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".txt", ".jsonl"])
def test_predict_writes_one_row_per_input_text(tiny, tmp_path, suffix):
    from predict import Predictor, predict_file, read_texts

    texts = [f'"quoted start {i}' if i % 7 == 0 else f"plain text {i}" for i in range(100)]
    source = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    elif suffix == ".txt":
        source.write_text("".join(t + "\n" for t in texts))
    elif suffix == ".tsv":
        source.write_text("id\ttext\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(texts)))
    else:
        source.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(texts)))
        with pytest.raises(DataError, match=r"in.csv, line 2: malformed CSV"):
            list(read_texts(source))
        return
    output = tmp_path / "out.jsonl"
    assert predict_file(Predictor(str(tiny)), source, output, progress=False) == (100, 100)
    assert [json.loads(line)["text"] for line in output.read_text().splitlines()] == texts


# ---- 3. labels are compared by name and order wherever a checkpoint meets a run ----

def test_resume_with_other_labels_or_order_is_refused(tiny, tmp_path):
    run = tmp_path / "run"
    train_main(tiny_train_args(tiny, run))
    for mark in ("all_results.json", "train_results.json"):  # as if cut short after its checkpoint: resumable
        (run / mark).unlink()
    reordered = ["--class_names", "joy,sadness,love,anger,fear,surprise"]
    for resume in (run / "checkpoint-2", "last"):
        with pytest.raises(DataError, match=r"its labels \['sadness', 'joy'.*are not this run's \['joy', 'sadness'"):
            train_main(tiny_train_args(tiny, run, extra=[*reordered, "--max_steps", 4, "--resume_from_checkpoint", resume]))


def test_continuing_with_reordered_labels_moves_the_rows_by_name(tiny):
    from train import CMHLArguments, ModelArguments, build_model
    from modeling_cmhl import CMHLForSequenceClassification

    reordered = ["joy", "fear", "sadness", "surprise", "love", "anger"]
    old = CMHLForSequenceClassification.from_pretrained(tiny).eval()
    new = build_model(ModelArguments(model_name_or_path=str(tiny)), CMHLArguments(), reordered).eval()
    ids = torch.tensor([[2, 10, 20, 30, 3], [2, 40, 41, 3, 0]])
    with torch.no_grad():
        before, after = old(input_ids=ids).logits, new(input_ids=ids).logits
    for j, name in enumerate(reordered):
        assert torch.allclose(after[:, j], before[:, LABELS.index(name)], atol=1e-6), name
    no_circumplex = CMHLArguments(valence_weight=0, arousal_weight=0, contradiction_weight=0)
    grown = build_model(ModelArguments(model_name_or_path=str(tiny)), no_circumplex, ["joy", "calm"])
    layer = grown.get_submodule(grown.emotion_output_layer)
    source = old.get_submodule(old.emotion_output_layer)
    assert torch.equal(layer.weight[0], source.weight[1])  # joy carried by name
    assert not any(torch.equal(layer.weight[1], source.weight[k]) for k in range(6))  # calm: a fresh row


def test_config_without_label_names_is_an_error(tiny, tmp_path):
    import shutil

    from modeling_cmhl import CMHLForSequenceClassification

    edited = tmp_path / "edited"
    shutil.copytree(tiny, edited)
    config = json.loads((edited / "config.json").read_text())
    del config["id2label"], config["label2id"]
    (edited / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="names no labels"):
        CMHLForSequenceClassification.from_pretrained(edited)


def test_resume_from_a_checkpoint_of_another_size_is_an_error(tiny, tmp_path):
    from conftest import TINY_ENCODERS
    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import CMHLForSequenceClassification

    run = tmp_path / "run"
    train_main(tiny_train_args(tiny, run))
    bigger = tmp_path / "bigger"
    CMHLForSequenceClassification(CMHLConfig(encoder_config={**TINY_ENCODERS["bert"], "hidden_size": 48})
                                  ).save_pretrained(bigger)
    (bigger / "trainer_state.json").write_text("{}")
    (tmp_path / "cmhl_run.json").write_text((run / "cmhl_run.json").read_text())  # the same work, another model
    with pytest.raises(DataError, match="not a checkpoint of this model"):
        train_main(tiny_train_args(tiny, tmp_path / "other", extra=["--resume_from_checkpoint", bigger]))


# ---- 4. a finished run is never overwritten ----

def test_a_second_run_into_a_used_folder_is_refused_then_replaced_on_request(tiny, tmp_path):
    run = tmp_path / "run"
    train_main(tiny_train_args(tiny, run))
    weights = (run / "model.safetensors").read_bytes()
    with pytest.raises(DataError, match=r"exists.*--overwrite_output_dir"):  # a finished run: no resume advice
        train_main(tiny_train_args(tiny, run))
    assert (run / "model.safetensors").read_bytes() == weights
    (run / "checkpoint-2" / "marker").write_text("the other run's")
    train_main(tiny_train_args(tiny, run, extra=["--overwrite_output_dir", "--save_strategy", "no"]))
    assert not list(run.glob("checkpoint-*"))  # nothing of the other run for `last` to resume


# ---- 5. a check checks something; limits are >= 1 ----

def test_checks_that_would_pass_on_nothing_are_errors(tiny, tmp_path):
    import export_onnx

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="no text to check"):
        export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(tmp_path / "onnx"),
                          "--check_file", str(empty)])
    assert not (tmp_path / "onnx" / "model.onnx").exists()  # refused before exporting
    for flag in ("--max_eval_samples", "--max_train_samples", "--max_seq_length"):
        with pytest.raises(DataError, match=f"{flag}: expected a whole number >= 1"):
            train_main([*tiny_train_args(tiny, tmp_path / "o"), flag, -1])
    subset = tmp_path / "train.txt"
    subset.write_text("\n".join(labelled_lines(60)[:5] + labelled_lines(60)) + "\n")  # first 5 lack surprise
    with pytest.raises(DataError, match=r"no example of label\(s\) \['surprise'\]"):
        train_main(tiny_train_args(tiny, tmp_path / "o", train=subset, extra=["--max_train_samples", 5]))


# ---- 6. a sentence, not a traceback: exit 2, before a model loads ----

def run_script(script, *args, cwd):
    return subprocess.run([sys.executable, str(REPO / script), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)


def test_lone_surrogate_names_the_line(tiny, tmp_path):
    from predict import read_texts

    bad = tmp_path / "train.jsonl"
    bad.write_text('{"text": "fine", "label": "joy"}\n{"text": "broken \\ud83d here", "label": "joy"}\n')
    with pytest.raises(DataError, match=r"train.jsonl, line 2: the text holds '\\ud83d', a lone UTF-16 surrogate"):
        train_main(tiny_train_args(tiny, tmp_path / "o", train=bad))
    with pytest.raises(DataError, match=r"train.jsonl, line 2: the text holds"):
        list(read_texts(bad))


def test_a_very_long_csv_field_reads(tmp_path):
    long = tmp_path / "train.csv"
    long.write_text(f"text,label\n{'word ' * 40000},joy\nshort,sadness\n")
    rows = read_file(long)
    assert len(rows) == 2 and len(rows[0].text) == 200_000


@pytest.mark.parametrize("args, message", [
    (["--valence_weight", 0, "--arousal_weight", 0, "--contradiction_weight", 0, "--emotion_weight", 0],
     "at least one of"),
    (["--learning_rate", "nan"], "--learning_rate: expected a finite number"),
    (["--per_device_train_batch_size", 0], "--per_device_train_batch_size: expected a whole number >= 1"),
    (["--max_seq_length", -5], "--max_seq_length: expected a whole number >= 1"),
])
def test_train_bad_arguments_exit_2_with_a_sentence(tiny, tmp_path, args, message):
    run = run_script("train.py", *tiny_train_args(tiny, tmp_path / "o"), *args, cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('["a", "b"]', "expected a label mapping (an object with keys), got list"),
    ('{"mapping": {"x": "joy"}, "excluded": "neutral"}', "'excluded' must be a list"),
])
def test_evaluate_bad_mapping_and_bytes_exit_2(tiny, tmp_path, content, message):
    mapping = tmp_path / "map.json"
    mapping.write_text(content)
    run = run_script("evaluate_cmhl.py", "--model_name_or_path", tiny, "--test_file", EMOTION / "validation.txt",
                     "--label_mapping", mapping, "--output_dir", tmp_path / "o", cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr[-2000:]


def test_evaluate_headerless_non_utf8_and_negative_sizes(tiny, tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {n: n for n in LABELS}}))
    bad = tmp_path / "test.tsv"
    bad.write_bytes(b"fine\tjoy\ncaf\xe9\tjoy\n")
    run = run_script("evaluate_cmhl.py", "--model_name_or_path", tiny, "--test_file", bad, "--column_names",
                     "text,label", "--label_mapping", mapping, "--output_dir", tmp_path / "o", cwd=tmp_path)
    assert run.returncode == 2 and "test.tsv, line 2: not UTF-8" in run.stderr, run.stderr[-2000:]
    for script, flag in (("evaluate_cmhl.py", "--batch_size"), ("evaluate_cmhl.py", "--max_length"),
                         ("evaluate_cmhl.py", "--max_batch_tokens"), ("predict.py", "--batch_size"),
                         ("predict.py", "--max_length"), ("predict.py", "--max_batch_tokens"),
                         ("predict.py", "--streams")):
        io = (["--test_file", bad, "--label_mapping", mapping, "--output_dir", tmp_path / "o"]
              if script == "evaluate_cmhl.py" else ["--input_file", bad, "--output_file", tmp_path / "o.csv"])
        run = run_script(script, "--model_name_or_path", tiny, *io, flag, -3, cwd=tmp_path)
        assert run.returncode == 2 and "expected a whole number >= 1" in run.stderr, (script, flag, run.stderr[-500:])
    good = tmp_path / "good.txt"
    good.write_text("fine\n")
    run = run_script("predict.py", "--model_name_or_path", tiny, "--input_file", good, "--output_file",
                     tmp_path / "o.csv", "--streams", 2, cwd=tmp_path)  # PyTorch: processes, not streams
    assert run.returncode == 2 and "streams 2: the ONNX runtimes only" in run.stderr, run.stderr[-500:]
    assert not (tmp_path / "o.csv").exists()


# ---- 7. memory bounded by the batch ----

def test_predictor_batches_inside_and_tokenises_a_bounded_prefix(tiny, monkeypatch):
    from predict import Predictor

    predictor = Predictor(str(tiny), batch_size=16)
    shapes = []
    forward = predictor.runtime.model.forward
    monkeypatch.setattr(predictor.runtime.model, "forward",
                        lambda **kw: shapes.append(kw["input_ids"].shape) or forward(**kw))
    out = predictor(["i feel happy"] * 100)
    assert out["probabilities"].shape == (100, 6) and max(s[0] for s in shapes) == 16 and len(shapes) == 7
    seen = []
    tokenizer_call = type(predictor.tokenizer).__call__
    monkeypatch.setattr(type(predictor.tokenizer), "__call__",
                        lambda self, texts, **kw: seen.append(max(map(len, texts))) or tokenizer_call(self, texts, **kw))
    huge = "i feel happy " * 800_000  # 10 MB
    encoded = predictor.encode([huge, "sad"])
    assert max(seen) < 100_000  # never the whole 10 MB
    monkeypatch.setattr(type(predictor.tokenizer), "__call__", tokenizer_call)
    whole = predictor.tokenizer([huge[:200_000], "sad"], padding=True, truncation=True,
                                max_length=predictor.max_length, return_tensors="np")
    assert np.array_equal(encoded["input_ids"], whole["input_ids"])
    assert np.array_equal(encoded["attention_mask"], whole["attention_mask"])


# ---- 8. smaller ----

def test_bom_and_cr_only_files_read_as_a_person_sees_them(tmp_path):
    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbftext,label\r\ni feel fine,joy\r\n")
    assert [(r.text, r.label) for r in read_file(bom)] == [("i feel fine", "joy")]
    cr = tmp_path / "old_mac.txt"
    cr.write_bytes(b"i feel fine;joy\ri feel low;sadness\r")
    assert [(r.text, r.label, r.where.rsplit(", ", 1)[1]) for r in read_file(cr)] == [
        ("i feel fine", "joy", "line 1"), ("i feel low", "sadness", "line 2")]


def test_card_states_the_steps_actually_trained(tiny, tmp_path):
    train_main(tiny_train_args(tiny, tmp_path / "run", extra=["--test_file", EMOTION / "test.txt",
                                                             "--max_predict_samples", 16]))
    card = (tmp_path / "run" / "README.md").read_text()
    assert "2 optimizer steps (0.50 epochs over 32 examples)" in card and "3.0 epochs" not in card


def test_unknown_or_renamed_argument_is_a_sentence(tiny, tmp_path):
    run = run_script("train.py", *tiny_train_args(tiny, tmp_path / "o"), "--intensity_weight", 0, cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "--intensity_weight is now --arousal_weight" in run.stderr
