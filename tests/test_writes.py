"""Every tool x every write hazard (issue 38): one module owns the writes (outputs.py), one reader owns JSON
(jsonfiles.py), one wrapper owns the ending (entry.py). Each tool runs in this process through its `cli()`, as a user
runs it, on a tiny checkpoint: the exit status, the one line it prints, and what is left on disk."""

import json
import shutil

import pytest

import entry
import outputs
from conftest import DATA, REPO, make_tiny_checkpoint

EMOTION = DATA / "emotion"
MAPPING = REPO / "mappings" / "goemotions_to_dair_emotion.json"
SIX = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "ckpt")


class Tool:
    """One tool: how to call it, its output's kind, its replace flag, the input it reads that a hazard moves, the
    marker file of its own earlier output, and a function of its middle phase to interrupt."""

    def __init__(self, module, kind, overwrite_flag, marker, phase):
        self.module, self.kind, self.overwrite_flag, self.marker, self.phase = module, kind, overwrite_flag, marker, phase

    def args(self, model, work, output):
        """(arguments, the input file a hazard may move) for a run writing `output`."""
        text_input = work / "inputs" / "texts.txt"
        if not text_input.exists():
            text_input.parent.mkdir(parents=True, exist_ok=True)
            lines = [line for line in (EMOTION / "validation.txt").read_text().splitlines()[:40]]
            (work / "inputs" / "validation.txt").write_text("\n".join(lines) + "\n")
            text_input.write_text("\n".join(line.rsplit(";", 1)[0] for line in lines) + "\n")
            goemotions = (DATA / "goemotions" / "dev.tsv").read_text().splitlines()[:80]
            (work / "inputs" / "dev.tsv").write_text("\n".join(goemotions) + "\n")
            (work / "inputs" / "six.json").write_text(json.dumps({"mapping": {n: n for n in SIX}}))
            train_rows = (EMOTION / "train.txt").read_text().splitlines()[:48]  # every label among them
            (work / "inputs" / "train.txt").write_text("\n".join(train_rows) + "\n")
        validation, dev = work / "inputs" / "validation.txt", work / "inputs" / "dev.tsv"
        name = self.module
        if name == "train":
            train = work / "inputs" / "train.txt"
            return ["--model_name_or_path", model, "--train_file", train, "--validation_file", validation,
                    "--max_seq_length", 32, "--per_device_train_batch_size", 8, "--max_steps", 2, "--save_strategy",
                    "no", "--eval_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none",
                    "--output_dir", output], train
        if name == "predict":
            return ["--model_name_or_path", model, "--input_file", text_input, "--output_file", output,
                    "--no_progress"], text_input
        if name == "evaluate_cmhl":
            return ["--model_name_or_path", model, "--test_file", validation, "--label_mapping",
                    work / "inputs" / "six.json", "--output_dir", output], validation
        if name == "export_onnx":
            return ["--model_name_or_path", model, "--output_dir", output, "--check_file", validation,
                    "--check_samples", 8], validation
        return ["--model_name_or_path", model, "--validation_file", dev, "--column_names", "text,label,id",
                "--label_mapping", MAPPING, "--output_dir", output], dev


TOOLS = {  # phases: (reading the inputs, working under the lock, writing the output)
    "train": Tool("train", "folder", "--overwrite_output_dir", "cmhl_run.json",
                  ("load_splits", "CMHLTrainer.train", "write_card")),
    "predict": Tool("predict", "file", "--overwrite_output_file", None, ("check_input", "Predictor.rows", "Parts.join")),
    "evaluate_cmhl": Tool("evaluate_cmhl", "folder", "--overwrite_output_dir", "cross_domain_results.json",
                          ("read_corpus_file", "evaluate", "write_figures")),
    "export_onnx": Tool("export_onnx", "folder", "--overwrite_output_dir", "onnx_check.json",
                        ("read_texts", "compare", "write_manifest")),
    "no_emotion": Tool("no_emotion", "folder", "--overwrite_output_dir", "no_emotion_calibration.json",
                       ("read_corpus_file", "choose", "write_calibrated")),
}
PHASES = ("reading", "working", "writing")


def run(tool: Tool, args, capsys) -> tuple[int, str]:
    """The tool's command line in this process: (exit status, the last line it printed on stderr)."""
    import importlib

    module = importlib.import_module(tool.module)
    capsys.readouterr()
    with pytest.raises(SystemExit) as ended:
        module.cli([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err[-2000:]
    lines = [line for line in err.strip().splitlines() if line.startswith(("error:", "interrupted"))]
    return ended.value.code, (lines[-1] if lines else "")


def output_path(tool: Tool, work, name="out"):
    return work / (f"{name}.csv" if tool.kind == "file" else name)


def leftovers(folder) -> list[str]:
    """Staging places and lock files a run left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if outputs.STAGING_MARK in p.name or p.name.endswith(".lock"))


def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


TOOL_NAMES = list(TOOLS)


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_a_clean_run_writes_its_output_whole_and_leaves_nothing_else(name, tiny, tmp_path, capsys):
    tool = TOOLS[name]
    out = output_path(tool, tmp_path)
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 0, line
    assert out.is_file() if tool.kind == "file" else (out / (tool.marker or "")).exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_output_inside_an_input_is_refused(name, tiny, tmp_path, capsys):
    """A file output in the model's folder, a folder output that is the model's folder: refused, the model as it was."""
    tool = TOOLS[name]
    model = tmp_path / "model"
    shutil.copytree(tiny, model)
    before = snapshot(model)
    out = model / "out.csv" if tool.kind == "file" else model
    args, _ = tool.args(model, tmp_path, out)
    code, line = run(tool, [*args, tool.overwrite_flag], capsys)
    assert code == 2 and line.startswith("error:") and "input" in line, line
    assert snapshot(model) == before


@pytest.mark.parametrize("name", [n for n in TOOL_NAMES if TOOLS[n].kind == "folder"])
def test_an_input_inside_an_output_to_be_replaced_is_refused(name, tiny, tmp_path, capsys):
    """An earlier output of the tool that holds this run's input: --overwrite is refused, the input kept."""
    tool = TOOLS[name]
    out = output_path(tool, tmp_path)
    args, source = tool.args(tiny, tmp_path, out)
    out.mkdir()
    (out / tool.marker).write_text("{}")
    moved = out / source.name
    shutil.move(source, moved)
    args = [moved if a == source else a for a in args]
    code, line = run(tool, [*args, tool.overwrite_flag], capsys)
    assert code == 2 and "input" in line, line
    assert moved.is_file()


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_a_symlinked_output_is_judged_by_what_it_points_at(name, tiny, tmp_path, capsys):
    """The output path is a link to a user's folder (or file): refused, named by the path given, nothing changed."""
    tool = TOOLS[name]
    target = tmp_path / "users"
    if tool.kind == "folder":
        target.mkdir()
        (target / "precious.txt").write_text("mine")
    else:
        target = tmp_path / "precious.csv"
        target.write_text("mine")
    out = output_path(tool, tmp_path, "link")
    out.symlink_to(target)
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 2 and str(out) in line and "exists" in line, line
    if tool.kind == "folder":  # asked to replace: still refused, it holds no earlier output of the tool
        code, line = run(tool, [*args, tool.overwrite_flag], capsys)
        assert code == 2 and "not replaced" in line, line
        assert (target / "precious.txt").read_text() == "mine"
    else:
        assert target.read_text() == "mine"


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_an_existing_output_is_refused_unless_asked(name, tiny, tmp_path, capsys):
    tool = TOOLS[name]
    out = output_path(tool, tmp_path)
    if tool.kind == "folder":
        out.mkdir()
        (out / "notes.txt").write_text("a user's file")
    else:
        out.write_text("a user's file")
    args, _ = tool.args(tiny, tmp_path, out)
    before = snapshot(tmp_path)
    code, line = run(tool, args, capsys)
    assert code == 2 and "exists" in line and tool.overwrite_flag in line, line
    if tool.kind == "folder":  # asked: a folder of a user's files is still not replaced
        code, line = run(tool, [*args, tool.overwrite_flag], capsys)
        assert code == 2 and "not replaced" in line, line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_a_second_run_on_the_same_output_is_refused_while_the_first_writes(name, tiny, tmp_path, capsys):
    """The first run holds the output's lock (taken here as that run would): the second is refused at once and
    writes nothing; once the lock is free, the same command runs."""
    tool = TOOLS[name]
    out = output_path(tool, tmp_path)
    args, _ = tool.args(tiny, tmp_path, out)
    with outputs.locked(outputs.resolve(out, "--output"), "--output"):
        code, line = run(tool, args, capsys)
    assert code == 2 and "is writing it now" in line, line
    assert not out.exists()
    code, line = run(tool, args, capsys)
    assert code == 0, line


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_what_a_killed_run_left_is_removed_by_the_next_run(name, tiny, tmp_path, capsys):
    """kill -9 while writing leaves a staging place (a half-written file or folder): the next run removes it and
    writes its output whole."""
    tool = TOOLS[name]
    out = output_path(tool, tmp_path)
    stale = tmp_path / f".{out.name}{outputs.STAGING_MARK}99999"
    if tool.kind == "folder":
        stale.mkdir()
        (stale / "model.onnx").write_bytes(b"half")
    else:
        stale.write_text("row,text\n0,half")
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 0, line
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("name", TOOL_NAMES)
def test_ctrl_c_in_each_phase_ends_in_one_line_and_leaves_no_output(name, phase, tiny, tmp_path, capsys, monkeypatch):
    import importlib

    tool = TOOLS[name]
    module = importlib.import_module(tool.module)
    owner, _, attribute = tool.phase[PHASES.index(phase)].rpartition(".")
    target = getattr(module, owner) if owner else module

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(target, attribute, interrupt)
    out = output_path(tool, tmp_path)
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == entry.INTERRUPTED and line.startswith("interrupted"), line
    assert leftovers(tmp_path) == []
    if tool.module != "train":
        assert not out.exists()
    elif phase == "writing":  # the card comes after the final save: the advice is to evaluate that model
        assert "training had finished" in line, line
    else:
        assert "no checkpoint was saved yet" in line or "nothing was trained" in line, line


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_an_output_under_a_file_is_one_sentence(name, tiny, tmp_path, capsys):
    tool = TOOLS[name]
    (tmp_path / "file.txt").write_text("x")
    out = tmp_path / "file.txt" / ("out.csv" if tool.kind == "file" else "out")
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 2 and "is a file" in line, line


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_an_output_in_a_folder_not_yet_made_is_written(name, tiny, tmp_path, capsys):
    tool = TOOLS[name]
    out = tmp_path / "new" / "deeper" / output_path(tool, tmp_path).name
    args, _ = tool.args(tiny, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 0, line
    assert out.exists()


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_a_config_naming_a_key_twice_is_refused_by_every_tool(name, tiny, tmp_path, capsys):
    tool = TOOLS[name]
    model = tmp_path / "model"
    shutil.copytree(tiny, model)
    text = (model / "config.json").read_text()
    (model / "config.json").write_text(text.replace("{", '{\n  "num_hidden_layers": 1,', 1))
    out = output_path(tool, tmp_path)
    args, _ = tool.args(model, tmp_path, out)
    code, line = run(tool, args, capsys)
    assert code == 2 and "num_hidden_layers" in line and "twice" in line, line
    assert not out.exists()


# ---- the readers: one JSON reader, labels compared as written ----

@pytest.mark.parametrize("content, expected", [
    ('{"mapping": {"joy": "joy", "joy": "sadness"}}', "key 'joy' is given twice"),
    ('{"mapping": {"joy": "joy"}, "exclude": ["x"]}', "unknown key(s) ['exclude']"),
    ('{"mapping": ["joy"]}', "key 'mapping' must be an object"),
    ('{"mapping": {"joy": "Joy"}}', "'Joy' differs from the model's 'joy' only by case"),
])
def test_label_mapping_files_are_read_strictly(tmp_path, content, expected):
    from corpora import LabelMapping
    from data import DataError

    path = tmp_path / "map.json"
    path.write_text(content)
    with pytest.raises(DataError, match="map.json") as error:
        LabelMapping(path, SIX)
    assert expected in str(error.value)


def test_argument_files_are_read_strictly(tmp_path, capsys):
    import train

    tool = TOOLS["train"]
    (tmp_path / "twice.json").write_text('{"seed": 1, "seed": 2}')
    (tmp_path / "twice.yaml").write_text("seed: 1\nseed: 2\n")
    for name, expected in (("twice.json", "key 'seed' is given twice"), ("twice.yaml", "line 2: key 'seed'")):
        code, line = run(tool, [tmp_path / name], capsys)
        assert code == 2 and expected in line, line
    code, line = run(tool, [tmp_path / "twice.json", "--seed", "3"], capsys)  # flags after a file win (recipes),
    assert code == 2 and "key 'seed' is given twice" in line, line     # but never over a file read loosely
    assert train  # the module the tool runs


def test_digit_labels_are_read_as_the_names_written(tmp_path):
    """--class_names 1,0 with rows labelled "1" and "0": each row keeps the name written, never the other by index."""
    from data import Row, check_rows

    rows = [Row("f, line 1", "a", "1"), Row("f, line 2", "b", "0"), Row("f, line 3", "c", 1)]
    columns, _ = check_rows(rows, ["1", "0"], "f")
    assert columns["label"] == [0, 1, 0]
    from data import DataError
    with pytest.raises(DataError, match="not read as an index"):
        check_rows([Row("f, line 1", "a", "2")], ["1", "0"], "f")
    with pytest.raises(DataError, match="'joy' differs from it only by case"):
        check_rows([Row("f, line 1", "a", "Joy")], SIX, "f")


@pytest.mark.parametrize("content, expected", [(b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
                                               ("a;joy\n".encode("utf-16"), "UTF-16"),
                                               (b"PK\x03\x04rest", "zip archive")])
def test_compressed_or_utf16_files_say_what_they_are(tmp_path, content, expected):
    from data import DataError, read_file

    path = tmp_path / "train.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=expected):
        read_file(path)


# ---- written outputs read back ----

HOSTILE = ['say "hi", then ""bye""', "tab\there", "line\nbreak", "nul\x00byte", "right-to-left \u202e\u05e9\u05dc\u05d5\u05dd",
           "emoji 😀 and 中文", "  spaces  ", "a;b;c", "\\n not a break", "'single'"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".tsv"])
def test_what_predict_writes_reads_back_to_the_same_texts(suffix, tiny, tmp_path, capsys):
    """Hostile texts from a .jsonl input: every format writes exactly them, read back through the project's own
    readers; a text a format cannot hold one record a line is refused before any scoring, naming the text."""
    from data import delimited_records, json_record, read_lines
    from predict import UNWRITABLE

    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in HOSTILE), encoding="utf-8")
    out = tmp_path / f"out{suffix}"
    code, line = run(TOOLS["predict"], ["--model_name_or_path", tiny, "--input_file", source, "--output_file", out,
                                        "--no_progress"], capsys)
    holdable = [t for t in HOSTILE if not any(c in t for c in UNWRITABLE[suffix])]
    if len(holdable) < len(HOSTILE):
        assert code == 2 and "write the output as .jsonl" in line and not out.exists(), line
        source.write_text("".join(json.dumps({"text": t}) + "\n" for t in holdable), encoding="utf-8")
        code, line = run(TOOLS["predict"], ["--model_name_or_path", tiny, "--input_file", source, "--output_file",
                                            out, "--no_progress"], capsys)
    assert code == 0, line
    if suffix == ".jsonl":
        texts = [json_record(out, n, text)["text"] for n, text in read_lines(out)]
    else:
        records = list(delimited_records(out))
        column = records[0][1].index("text")
        texts = [fields[column] for _, fields in records[1:]]
    assert texts == holdable


# ---- messages at the other doors: one sentence with advice that works ----

def test_the_demo_page_names_a_bad_port_and_a_text_no_encoder_reads(tiny, monkeypatch, capsys):
    import app
    from predict import Predictor

    monkeypatch.setenv("GRADIO_SERVER_PORT", "eighty")
    with pytest.raises(SystemExit) as ended:
        app.cli(["--model_name_or_path", str(tiny)])
    assert ended.value.code == 2 and "expected a port number 1-65535, got 'eighty'" in capsys.readouterr().err
    summary, bars, figure = app.describe(Predictor(str(tiny)), "broken \ud83d text")
    assert "lone UTF-16 surrogate" in summary and bars is None and figure is None


def test_predict_names_a_device_it_does_not_know_and_an_export_read_as_a_checkpoint(tiny, tmp_path, capsys):
    tool = TOOLS["predict"]
    args, _ = tool.args(tiny, tmp_path, tmp_path / "out.csv")
    code, line = run(tool, [*args, "--device", "gpu"], capsys)
    assert code == 2 and "--device gpu: expected cpu, cuda, cuda:N or mps" in line, line
    export = tmp_path / "onnx"
    export.mkdir()
    for part in tiny.iterdir():  # an export's folder: config and tokenizer beside the graph, no weights
        if part.is_file() and part.suffix != ".safetensors":
            shutil.copy(part, export / part.name)
    (export / "model.onnx").write_bytes(b"graph")
    args, _ = tool.args(export, tmp_path, tmp_path / "out.csv")
    code, line = run(tool, args, capsys)
    assert code == 2 and "is an ONNX export" in line and "--runtime onnx" in line, line


def test_ctrl_c_in_the_final_evaluation_advises_evaluating_the_saved_model_and_that_works(tiny, tmp_path, capsys,
                                                                                          monkeypatch):
    import train

    tool = TOOLS["train"]
    out = tmp_path / "run"
    args, _ = tool.args(tiny, tmp_path, out)
    stock_evaluate = train.CMHLTrainer.evaluate

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train.CMHLTrainer, "evaluate", interrupt)
    code, line = run(tool, args, capsys)
    assert code == entry.INTERRUPTED and "training had finished" in line and "no --train_file" in line, line
    monkeypatch.setattr(train.CMHLTrainer, "evaluate", stock_evaluate)
    validation = tmp_path / "inputs" / "validation.txt"
    code, line = run(tool, ["--model_name_or_path", out, "--validation_file", validation, "--max_seq_length", 32,
                            "--report_to", "none", "--output_dir", tmp_path / "evaluated"], capsys)
    assert code == 0, line
    assert (tmp_path / "evaluated" / "eval_results.json").is_file()


def test_a_damaged_checkpoint_or_labels_by_case_are_one_sentence_on_resume(tiny, tmp_path, capsys):
    tool = TOOLS["train"]
    out = tmp_path / "run"
    args, _ = tool.args(tiny, tmp_path, out)
    args = [a if a != "no" else "steps" for a in args] + ["--save_steps", 1]
    code, line = run(tool, args, capsys)
    assert code == 0, line
    checkpoint = out / "checkpoint-1"
    resumed = [tmp_path / "resumed" if a == out else a for a in args]
    titled = tmp_path / "inputs" / "titled.txt"  # the same rows, labels written with a capital
    titled.write_text("".join(f"{t};{label.title()}\n" for t, label in
                              (line.rsplit(";", 1) for line in (tmp_path / "inputs" / "train.txt").read_text().splitlines())))
    by_case = [titled if a == tmp_path / "inputs" / "train.txt" else a for a in resumed]
    by_case = [*by_case, "--validation_file", titled, "--resume_from_checkpoint", checkpoint,
               "--class_names", ",".join(n.title() for n in SIX)]
    code, line = run(tool, by_case, capsys)
    assert code == 2 and "'sadness' / 'Sadness'" in line and "differ only by case" in line, line
    (checkpoint / "optimizer.pt").write_bytes(b"\x00" * 64)
    code, line = run(tool, [*resumed, "--resume_from_checkpoint", checkpoint], capsys)
    assert code == 2 and "optimizer.pt cannot be read" in line and "damaged" in line, line
