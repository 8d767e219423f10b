"""train.py --overwrite_output_dir replaces only what the earlier run wrote (run_checks.TRAIN_OUTPUTS): the outputs
that predict.py, evaluate_cmhl.py and export_onnx.py placed inside the run folder (as the README's advice places
them) are kept."""

import pytest

from conftest import make_tiny_checkpoint
from test_trust import train_args, train_main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny")


def test_replacing_a_run_keeps_other_tools_outputs(tiny, tmp_path):
    import predict

    run = tmp_path / "run"
    train_main(train_args(tiny, run))
    texts = tmp_path / "texts.txt"
    texts.write_text("i feel happy\ni feel sad\n")
    predict.main(["--model_name_or_path", str(run), "--input_file", str(texts), "--output_file",
                  str(run / "predictions" / "out.csv")])
    (run / "eval").mkdir()
    (run / "eval" / "cross_domain_results.json").write_text("{}")
    (run / "notes.txt").write_text("mine")
    earlier = {p.name for p in run.iterdir()}
    assert {"checkpoint-1", "checkpoint-2", "model.safetensors", "all_results.json", "cmhl_run.json"} <= earlier
    train_main(train_args(tiny, run, ["--overwrite_output_dir", "--max_steps", 1]))
    now = {p.name for p in run.iterdir()}
    assert {"predictions", "eval", "notes.txt"} <= now  # another tool's outputs and a user's file: kept
    assert (run / "predictions" / "out.csv").read_text().count("\n") == 3
    assert "checkpoint-2" not in now and "checkpoint-1" in now  # the earlier run's checkpoints went, whole
