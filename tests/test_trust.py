"""Files you can trust (issue 28), one test per class, across the tools that read or write: a folder is one save,
a resume is the same work, every write is into a fresh place or asked for, reading is strict where a person would
be misled, and a user's mistake is one sentence with exit 2."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import DATA, REPO, make_tiny_checkpoint
from data import DataError, read_file

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
EMOTION = DATA / "emotion"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


def run_script(script, *args, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / script), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def one_sentence(run):
    """Exit 2, no traceback, and the error as the last line (above it, at most the loaders' progress bars)."""
    assert run.returncode == 2, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert "Traceback" not in run.stderr and last.startswith("error: "), run.stderr[-2000:]
    return last


def train_args(checkpoint, output_dir, extra=()):
    return ["--model_name_or_path", checkpoint, "--train_file", EMOTION / "train.txt",
            "--validation_file", EMOTION / "validation.txt", "--max_train_samples", 32, "--max_eval_samples", 16,
            "--max_seq_length", 32, "--per_device_train_batch_size", 8, "--max_steps", 2, "--save_strategy", "steps",
            "--save_steps", 1, "--eval_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none",
            "--output_dir", output_dir, *extra]


def train_main(args):
    from train import main

    return main([str(a) for a in args])


def texts_file(tmp_path, lines=("i feel happy", "i feel sad", "so angry")):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- 1. a model or export folder is one save ----

def test_a_checkpoint_without_its_tokenizer_is_refused_by_every_reader(tiny, tmp_path):
    import evaluate_cmhl
    import export_onnx
    from predict import Predictor

    broken = tmp_path / "no-tokenizer"
    shutil.copytree(tiny, broken)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (broken / name).unlink(missing_ok=True)
    message = r"no-tokenizer: the folder has no tokenizer files"
    with pytest.raises(DataError, match=message):
        Predictor(str(broken))
    with pytest.raises(DataError, match=message):
        export_onnx.main(["--model_name_or_path", str(broken), "--output_dir", str(tmp_path / "onnx")])
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {n: n for n in LABELS}}))
    with pytest.raises(DataError, match=message):
        evaluate_cmhl.main(["--model_name_or_path", str(broken), "--test_file", str(EMOTION / "validation.txt"),
                            "--label_mapping", str(mapping), "--output_dir", str(tmp_path / "eval")])
    with pytest.raises(DataError, match=message):
        train_main(train_args(broken, tmp_path / "run"))
    assert not (tmp_path / "onnx").exists() and not (tmp_path / "eval").exists() and not (tmp_path / "run").exists()


def test_a_saved_run_is_checked_against_its_manifest(tiny, tmp_path):
    from predict import Predictor

    run = tmp_path / "run"
    train_main(train_args(tiny, run))
    manifest = json.loads((run / "cmhl_save.json").read_text())["files"]
    assert {"config.json", "model.safetensors", "modeling_cmhl.py"} <= set(manifest)
    Predictor(str(run))  # whole: loads
    (run / "model_int8.onnx").write_bytes(b"a graph of another model")
    with pytest.raises(DataError, match=r"\['model_int8.onnx'\] are not part of the save"):
        Predictor(str(run))
    (run / "model_int8.onnx").unlink()
    config = json.loads((run / "config.json").read_text())
    config["contradiction_threshold"] = 0.25
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="config.json is not the file this save wrote"):
        Predictor(str(run))


def test_an_export_never_mixes_with_an_earlier_one(tiny, tmp_path):
    import export_onnx
    from predict import Predictor

    folder = tmp_path / "onnx"
    export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(folder), "--quantize"])
    assert "model_int8.onnx" in json.loads((folder / "cmhl_save.json").read_text())["files"]
    with pytest.raises(DataError, match=r"onnx: exists .*--overwrite_output_dir"):
        export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(folder)])
    export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(folder), "--overwrite_output_dir"])
    assert not (folder / "model_int8.onnx").exists()  # replaced whole: the old int8 graph is gone
    with pytest.raises(DataError, match=r"has no onnx-int8 files"):
        Predictor(str(folder), runtime="onnx-int8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds no earlier export"):
        export_onnx.main(["--model_name_or_path", str(tiny), "--output_dir", str(data), "--overwrite_output_dir"])
    assert (data / "notes.txt").read_text() == "mine"


def test_a_config_that_fails_its_checks_names_config_json(tiny, tmp_path):
    edited = tmp_path / "edited"
    shutil.copytree(tiny, edited)
    config = json.loads((edited / "config.json").read_text())
    config["num_labels"] = 4  # hand-edited: id2label still holds six
    config["contradiction_threshold"] = 0.9
    (edited / "config.json").write_text(json.dumps(config))
    run = run_script("predict.py", "--model_name_or_path", edited, "--input_file", texts_file(tmp_path),
                     "--output_file", tmp_path / "out.csv")
    assert "edited/config.json: CMHLConfig." in one_sentence(run)


# ---- 2. a resume is the same work ----

def test_predict_does_not_resume_the_work_of_another_model_or_input(tiny, tmp_path):
    from predict import Parts, Predictor, predict_file

    source = texts_file(tmp_path, [f"i feel number {i}" for i in range(30)])
    output = tmp_path / "out.csv"
    predictor = Predictor(str(tiny), batch_size=4)
    calls = {"n": 0}
    original = Parts.write

    def stop_after_one(self, index, records):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, index, records)

    Parts.write = stop_after_one
    try:
        with pytest.raises(KeyboardInterrupt):
            predict_file(predictor, source, output, window=10, progress=False)
    finally:
        Parts.write = original
    retrained = tmp_path / "retrained"
    shutil.copytree(tiny, retrained)
    shutil.rmtree(tiny.parent / "moved", ignore_errors=True)
    # the same path, another model: retrain in place (here: other weights copied over the folder)
    other = make_tiny_checkpoint(tmp_path / "other-weights")
    for name in ("model.safetensors",):
        (retrained / name).write_bytes((other / name).read_bytes())
    config = json.loads((retrained / "config.json").read_text())
    config["label_smoothing"] = 0.1
    (retrained / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match=r"out.csv.parts: windows scored by other work \(.*model"):
        predict_file(Predictor(str(retrained), batch_size=4), source, output, window=10, progress=False)
    # the same model and path, an input edited to the same size
    content = source.read_bytes()
    source.write_bytes(content.replace(b"number 1\n", b"number x\n", 1))
    with pytest.raises(DataError, match=r"windows scored by other work \(input_sha256"):
        predict_file(predictor, source, output, window=10, progress=False)
    source.write_bytes(content)
    predict_file(predictor, source, output, window=10, progress=False)  # the same work: resumes and finishes
    assert len(output.read_text().splitlines()) == 31


def test_train_resumes_only_the_same_work_and_never_into_the_checkpoint_it_reads(tiny, tmp_path):
    run = tmp_path / "run"
    train_main(train_args(tiny, run))
    for mark in ("all_results.json", "train_results.json"):  # as if cut short after its checkpoints
        (run / mark).unlink()
    with pytest.raises(DataError, match=r"it is other work \(cmhl.contradiction_weight: null there, 0.3 now\)"):
        train_main(train_args(tiny, run, ["--resume_from_checkpoint", "last", "--contradiction_weight", 0.3]))
    with pytest.raises(DataError, match=r"it is other work \(.*train_file"):
        other = tmp_path / "train.txt"
        other.write_text("".join(f"i feel number {i};{LABELS[i % 6]}\n" for i in range(40)))
        args = train_args(tiny, run, ["--resume_from_checkpoint", "last"])
        args[args.index("--train_file") + 1] = other
        train_main(args)
    checkpoint = run / "checkpoint-1"
    with pytest.raises(DataError, match=r"is that checkpoint's own folder"):
        train_main(train_args(tiny, checkpoint, ["--resume_from_checkpoint", checkpoint]))
    assert sorted(p.name for p in checkpoint.iterdir()) == sorted(p.name for p in (run / "checkpoint-2").iterdir())


# ---- 3. every write is into a fresh place or asked for ----

def test_predict_never_replaces_an_output_unasked_and_checks_it_first(tiny, tmp_path):
    source = texts_file(tmp_path)
    output = tmp_path / "out.csv"
    output.write_text("someone's results\n")
    run = run_script("predict.py", "--model_name_or_path", tiny, "--input_file", source, "--output_file", output)
    assert "--overwrite_output_file" in one_sentence(run) and output.read_text() == "someone's results\n"
    run = run_script("predict.py", "--model_name_or_path", tiny, "--input_file", source, "--output_file", output,
                     "--overwrite_output_file", "--no_progress")
    assert run.returncode == 0 and len(output.read_text().splitlines()) == 4
    (tmp_path / "adir").mkdir()
    run = run_script("predict.py", "--model_name_or_path", tiny, "--input_file", source, "--output_file",
                     tmp_path / "adir")
    assert "is a folder; expected a file path" in one_sentence(run)


def test_last_resumes_only_an_unfinished_run_and_its_advice_never_writes(tiny, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "README.md").write_text("my data set")
    with pytest.raises(DataError, match=r"holds no train.py run .* give a new --output_dir"):
        train_main(train_args(tiny, data, ["--resume_from_checkpoint", "last"]))
    with pytest.raises(DataError, match=r"holds no train.py run"):
        train_main(train_args(tiny, data, ["--overwrite_output_dir"]))
    assert [p.name for p in data.iterdir()] == ["README.md"] and (data / "README.md").read_text() == "my data set"
    run = tmp_path / "run"
    train_main(train_args(tiny, run, ["--save_strategy", "no"]))
    weights = (run / "model.safetensors").read_bytes()
    with pytest.raises(DataError, match=r"holds a finished run"):
        train_main(train_args(tiny, run, ["--resume_from_checkpoint", "last"]))
    assert (run / "model.safetensors").read_bytes() == weights


def test_overwrite_removes_the_old_runs_results_too(tiny, tmp_path):
    run = tmp_path / "run"
    train_main(train_args(tiny, run, ["--test_file", EMOTION / "test.txt", "--max_predict_samples", 8]))
    assert (run / "test_results.json").exists()
    train_main(train_args(tiny, run, ["--overwrite_output_dir", "--save_strategy", "no"]))
    assert not (run / "test_results.json").exists() and "test_accuracy" not in json.loads(
        (run / "all_results.json").read_text())
    assert not list(run.glob("checkpoint-*"))


def test_evaluate_never_writes_into_the_checkpoint_it_reads_nor_over_an_earlier_evaluation(tiny, tmp_path):
    import evaluate_cmhl

    run = tmp_path / "run"
    train_main(train_args(tiny, run, ["--save_strategy", "no"]))
    figures = {p.name: p.read_bytes() for p in run.glob("*.png")}
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {n: n for n in LABELS}}))
    args = ["--model_name_or_path", str(run), "--test_file", str(EMOTION / "validation.txt"), "--label_mapping",
            str(mapping), "--max_samples", "16"]
    with pytest.raises(DataError, match="also an input"):
        evaluate_cmhl.main(args + ["--output_dir", str(run / ".")])
    checkpoint = run / "checkpoint-1"
    shutil.copytree(tiny, checkpoint)  # a run's checkpoint, read from inside the run
    with pytest.raises(DataError, match=r"run: holds .*checkpoint-1, an input of this run"):
        evaluate_cmhl.main([*args[:1], str(checkpoint), *args[2:], "--output_dir", str(run)])
    assert {p.name: p.read_bytes() for p in run.glob("*.png")} == figures
    evaluate_cmhl.main(args + ["--output_dir", str(tmp_path / "eval")])
    with pytest.raises(DataError, match=r"eval: exists .*--overwrite_output_dir"):
        evaluate_cmhl.main(args + ["--output_dir", str(tmp_path / "eval")])
    evaluate_cmhl.main(args + ["--output_dir", str(tmp_path / "eval"), "--overwrite_output_dir"])


# ---- 4. reading is strict where a person would be misled ----

def test_a_header_naming_a_column_twice_is_an_error_in_every_reader(tiny, tmp_path):
    from predict import read_texts

    twice = tmp_path / "twice.csv"
    twice.write_text("text,label,text\ni feel fine,joy,other\n")
    with pytest.raises(DataError, match=r"twice.csv, line 1: column\(s\) \['text'\] named more than once"):
        read_file(twice)
    with pytest.raises(DataError, match=r"named more than once"):
        list(read_texts(twice))
    keys = tmp_path / "keys.jsonl"
    keys.write_text('{"text": "i feel fine", "label": "joy", "text": "other"}\n')
    with pytest.raises(DataError, match=r"keys.jsonl, line 1: key 'text' given more than once"):
        read_file(keys)


def test_a_cr_only_file_holding_an_lf_is_an_error_not_two_rows(tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"".join(f"i feel number {i};joy\r".encode() for i in range(100)) + b"a text with\na break;joy\r"
                      + b"".join(f"i feel more {i};sadness\r".encode() for i in range(100)))
    with pytest.raises(DataError, match=r"mixed.txt: mixes line endings"):
        read_file(mixed)


def test_label_names_are_stripped_and_must_be_distinct():
    from train import class_names

    assert class_names("none, stress") == ["none", "stress"]
    for bad in ("none,,stress", "none, none", " , stress"):
        with pytest.raises(DataError, match="--class_names: expected distinct, non-empty names"):
            class_names(bad)


@pytest.mark.parametrize("line, message", [
    ('{"text": null, "label": "joy"}', "expected the text as a string, got null"),
    ('{"text": 42, "label": "joy"}', "expected the text as a string, got 42"),
    ('{"text": "fine", "label": true}', "expected the label as a name or an index, got true"),
    ('{"text": "fine", "label": "joy", "valence": true}', "valence True is not a number"),
])
def test_json_values_of_the_wrong_type_name_file_line_and_value(tiny, tmp_path, line, message):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"text": "i feel fine", "label": "joy"}\n' + line + "\n")
    with pytest.raises(DataError, match=rf"train.jsonl, line 2: {message}"):
        train_main(train_args(tiny, tmp_path / "o", ["--train_file", bad]))


# ---- 5. one sentence, exit 2, no traceback ----

def test_a_mistyped_model_path_is_one_sentence_in_every_tool(tmp_path):
    missing = tmp_path / "runs" / "cmhl-robrta"
    texts = texts_file(tmp_path)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mapping": {n: n for n in LABELS}}))
    runs = {
        "predict.py": ["--input_file", texts, "--output_file", tmp_path / "o.csv"],
        "evaluate_cmhl.py": ["--test_file", EMOTION / "validation.txt", "--label_mapping", mapping,
                             "--output_dir", tmp_path / "e"],
        "export_onnx.py": ["--output_dir", tmp_path / "x"],
        "no_emotion.py": ["--validation_file", EMOTION / "validation.txt", "--label_mapping", mapping,
                          "--output_dir", tmp_path / "n"],
        "app.py": [],
        "train.py": ["--train_file", EMOTION / "train.txt", "--validation_file", EMOTION / "validation.txt",
                     "--output_dir", tmp_path / "t"],
    }
    for script, args in runs.items():
        message = one_sentence(run_script(script, "--model_name_or_path", missing, *args))
        assert "cmhl-robrta: no such folder" in message, (script, message)


def test_an_unknown_key_in_an_args_file_is_one_sentence(tiny, tmp_path):
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"model_name_or_path": str(tiny), "output_dir": str(tmp_path / "o"),
                                "learning_rte": 1e-4}))
    message = one_sentence(run_script("train.py", args))
    assert "args.json" in message and "learning_rte" in message


def test_a_second_predict_on_the_same_output_is_refused(tiny, tmp_path):
    import fcntl

    output = tmp_path / "out.csv"
    with open(tmp_path / ".out.csv.lock", "a") as held:  # a first run holding the output (outputs.locked)
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = run_script("predict.py", "--model_name_or_path", tiny, "--input_file", texts_file(tmp_path),
                         "--output_file", output)
    assert "another predict.py is writing it now" in one_sentence(run)
    assert not output.exists()


def test_ctrl_c_is_one_line_saying_how_to_resume(tiny, tmp_path, monkeypatch, capsys):
    import predict

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "predict_file", interrupted)
    with pytest.raises(SystemExit) as ended:
        predict.cli(["--model_name_or_path", str(tiny), "--input_file", str(texts_file(tmp_path)),
                     "--output_file", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert ended.value.code == 130 and "run the same command to resume" in err and "Traceback" not in err
