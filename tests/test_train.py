"""train.py end to end: a real slice of dair-ai/emotion, MiniLM weights, the stock Trainer; then the
mechanics (two processes, accumulation, resume, launchers, argument files, offline errors) on a tiny
CMHL checkpoint built here, with dropout off so that runs can be compared exactly."""

import json
import os
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from conftest import DATA, REPO, make_tiny_checkpoint

EMOTION = DATA / "emotion"


def run_train(args, cwd, launcher=(sys.executable,), env=None, timeout=600):
    run = subprocess.run([*launcher, str(REPO / "train.py"), *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    assert run.returncode == 0, run.stderr[-4000:]
    return run


def data_args(train=256, evaluation=64, test=64):
    return ["--train_file", EMOTION / "train.txt", "--validation_file", EMOTION / "validation.txt",
            "--test_file", EMOTION / "test.txt", "--max_train_samples", train, "--max_eval_samples", evaluation,
            "--max_predict_samples", test, "--max_seq_length", 64]


def log_history(output_dir):
    checkpoints = sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return json.loads((checkpoints[-1] / "trainer_state.json").read_text())["log_history"]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))


# ---- the real run: MiniLM on a slice of dair-ai/emotion ----

# 32 words rated for valence on VADER's -4..4 scale (ratings written for this test), VADER's file format
WORDS = {"sad": -2.0, "happy": 2.5, "furious": -3.0, "calm": 1.2, "terrified": -3.0, "glad": 2.0, "lonely": -2.0,
         "thrilled": 3.0, "annoyed": -1.5, "content": 1.5, "miserable": -3.0, "delighted": 3.0, "worried": -1.2,
         "proud": 2.0, "hopeless": -2.5, "grateful": 2.5, "angry": -2.3, "loved": 2.9, "scared": -2.0, "cheerful": 2.5,
         "gloomy": -1.8, "excited": 2.0, "bitter": -1.8, "relieved": 1.5, "devastated": -3.2, "ecstatic": 3.3,
         "upset": -1.6, "peaceful": 2.0, "fed up": -1.8, "hurt": -2.4, "joyful": 2.9, "ashamed": -2.0}


@pytest.fixture(scope="module")
def minilm_run(tmp_path_factory, minilm_path):
    out = tmp_path_factory.mktemp("minilm") / "run"
    lexicon = out.parent / "vader_lexicon.txt"
    lexicon.write_text("".join(f"{word}\t{rating}\t0.5\t[]\n" for word, rating in WORDS.items()))
    run_train(["--model_name_or_path", minilm_path, "--base_model", "sentence-transformers/all-MiniLM-L6-v2",
               *data_args(train=320, evaluation=128, test=128), "--num_train_epochs", 3,
               "--affect_file", DATA / "emobank" / "emobank.csv", "--max_affect_samples", 160,
               "--lexicon_file", lexicon, "--lexicon_template", "i feel {}",
               "--per_device_train_batch_size", 16, "--learning_rate", 1e-4, "--logging_steps", 5, "--output_dir", out],
              cwd=out.parent)
    return out


def test_results_have_every_metric(minilm_run):
    results = json.loads((minilm_run / "all_results.json").read_text())
    for prefix in ("eval", "test"):
        for key in ("accuracy", "macro_f1", "weighted_f1", "f1_joy", "f1_sadness", "intensity_spread",
                    "contradiction_rate", "valence_agreement", "loss", "affect_valence_mae", "affect_arousal_mae"):
            assert 0 <= results[f"{prefix}_{key}"] < 10, f"{prefix}_{key}"
        for key in ("affect_valence_pearson", "affect_arousal_pearson", "affect_valence_pearson_from_emotions"):
            assert -1 <= results[f"{prefix}_{key}"] <= 1, f"{prefix}_{key}"
    assert results["world_size"] == 1 and results["train_loss"] > 0
    assert results["test_affect_valence_pearson"] > 0.2  # 160 rated rows already teach the valence head something
    history = [entry for entry in log_history(minilm_run) if "loss" in entry]
    assert len(history) == 19  # (320 emotion + 160 rated texts + 32 words) / 16 x 3 epochs = 96 steps, a log every 5
    config = json.loads((minilm_run / "config.json").read_text())  # the default weights, as trained
    terms = ("emotion", "valence", "arousal", "contradiction")
    assert all(config[f"{term}_weight"] > 0 for term in terms)
    for entry in history:
        assert {f"loss_{term}" for term in terms} <= set(entry)
        weighted = sum(config[f"{term}_weight"] * entry[f"loss_{term}"] for term in terms)
        assert weighted == pytest.approx(entry["loss"], rel=1e-3)
    first, last = (sum(entry["loss_emotion"] for entry in part) / 4 for part in (history[:4], history[-4:]))
    assert last < first - 0.15  # it learns (means of four logs: one log of 5 batches is noisy)


def test_output_folder_is_a_loadable_checkpoint(minilm_run):
    files = set(os.listdir(minilm_run))
    assert {"config.json", "model.safetensors", "modeling_cmhl.py", "configuration_cmhl.py", "loss.py",
            "tokenizer.json", "README.md", "all_results.json"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pth")) and f != "training_args.bin" for f in files)


def test_model_card_metadata_and_widget_outputs_are_real(minilm_run, tmp_path):
    from huggingface_hub import ModelCard

    card = ModelCard.load(minilm_run / "README.md")
    meta = card.data.to_dict()
    assert "learned per-text ratings from `emobank.csv`" in card.text
    assert "word ratings from `vader_lexicon.txt` (VADER" in card.text
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["datasets"] == ["dair-ai/emotion"]
    assert meta["license"] == "other"
    results = json.loads((minilm_run / "all_results.json").read_text())
    metrics = {m["name"]: m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {"Accuracy": round(results["test_accuracy"], 4), "Macro F1": round(results["test_macro_f1"], 4),
                       "Weighted F1": round(results["test_weighted_f1"], 4)}
    # the widget examples carry what the checkpoint predicts, loaded afresh in another directory
    texts = [example["text"] for example in meta["widget"]]
    script = ("import json, sys\nfrom transformers import pipeline\n"
              "classifier = pipeline('text-classification', model=sys.argv[1], trust_remote_code=True)\n"
              "print('OUT' + json.dumps(classifier(json.loads(sys.argv[2]), top_k=3)))\n")
    run = subprocess.run([sys.executable, "-c", script, str(minilm_run), json.dumps(texts)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "m")})
    assert run.returncode == 0, run.stderr[-3000:]
    predicted = json.loads(run.stdout.split("OUT", 1)[1])
    for example, scores in zip(meta["widget"], predicted):
        assert [o["label"] for o in example["output"]] == [s["label"] for s in scores]
        assert [o["score"] for o in example["output"]] == pytest.approx([s["score"] for s in scores], abs=1e-4)


def test_evaluation_alone_reproduces_the_training_runs_metrics(minilm_run, tmp_path):
    """No --train_file: the trained checkpoint is evaluated with the same metrics, figures, no new model."""
    out = tmp_path / "eval"
    evaluation = ["--validation_file", EMOTION / "validation.txt", "--test_file", EMOTION / "test.txt",
                  "--max_eval_samples", 128, "--max_predict_samples", 128, "--max_seq_length", 64,
                  "--affect_file", DATA / "emobank" / "emobank.csv", "--max_affect_samples", 160]
    run_train(["--model_name_or_path", minilm_run, *evaluation, "--output_dir", out], cwd=tmp_path)
    trained = json.loads((minilm_run / "all_results.json").read_text())
    evaluated = json.loads((out / "all_results.json").read_text())
    compared = [k for k in trained if k.startswith(("eval_", "test_")) and "runtime" not in k and "per_second" not in k]
    assert len(compared) > 30
    for key in compared:
        assert evaluated[key] == pytest.approx(trained[key], abs=1e-6), key
    assert "train_loss" not in evaluated
    files = set(os.listdir(out))
    assert {"confusion_matrix_counts.png", "circumplex.png", "reliability_diagram.png"} <= files
    assert not files & {"model.safetensors", "config.json", "README.md", "modeling_cmhl.py"}


def test_evaluation_alone_needs_a_cmhl_checkpoint(minilm_path, tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--model_name_or_path", str(minilm_path),
                          "--validation_file", str(EMOTION / "validation.txt"), "--output_dir", str(tmp_path / "o")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 2
    assert "no --train_file" in run.stderr and str(minilm_path) in run.stderr and "not" in run.stderr


# ---- mechanics on the tiny checkpoint ----

def test_two_processes(tiny_checkpoint, tmp_path):
    out = tmp_path / "run"
    run_train(["--model_name_or_path", tiny_checkpoint, *data_args(train=64, evaluation=32, test=32),
               "--num_train_epochs", 1, "--per_device_train_batch_size", 8, "--output_dir", out], cwd=tmp_path,
              launcher=("torchrun", "--nproc_per_node", "2"))
    results = json.loads((out / "all_results.json").read_text())
    assert results["world_size"] == 2
    assert log_history(out)[-1]["step"] == 4  # 64 rows / (8 per device x 2 processes)


# The loss-normalisation checks compare runs at 1e-4 in float32: in bf16 autocast a batch of 8 and one of 32 are
# padded to other lengths and round differently (grad norm 2e-4 apart), which says nothing of the normalisation.
FP32 = ["--bf16", "false"]


def first_step_log(checkpoint, out, batch, accumulation, cwd):
    run_train(["--model_name_or_path", checkpoint, *data_args(train=64, evaluation=16, test=16), "--max_steps", 1, *FP32,
               "--per_device_train_batch_size", batch, "--gradient_accumulation_steps", accumulation,
               "--logging_steps", 1, "--eval_strategy", "no", "--save_strategy", "steps", "--save_steps", 1,
               "--load_best_model_at_end", "false", "--output_dir", out], cwd=cwd)
    return log_history(out)[0]


def test_gradient_accumulation_matches_one_big_batch(tiny_checkpoint, tmp_path):
    big = first_step_log(tiny_checkpoint, tmp_path / "big", 32, 1, tmp_path)
    accumulated = first_step_log(tiny_checkpoint, tmp_path / "acc", 8, 4, tmp_path)
    for key in ("loss", "loss_emotion", "loss_valence", "loss_arousal", "loss_contradiction", "grad_norm"):
        assert accumulated[key] == pytest.approx(big[key], rel=1e-4), key


def test_default_learning_rate_follows_the_encoder_size(tiny_checkpoint, tmp_path):
    """Without --learning_rate, a small encoder trains at the recipe study's 1e-4, a base-size one at 2e-5."""
    from train import default_learning_rate

    out = tmp_path / "run"
    run_train(["--model_name_or_path", tiny_checkpoint, *data_args(train=16, evaluation=16, test=16), "--max_steps", 1,
               "--lr_scheduler_type", "constant", "--warmup_steps", 0, "--logging_steps", 1, "--eval_strategy", "no",
               "--save_strategy", "steps", "--save_steps", 1, "--load_best_model_at_end", "false",
               "--output_dir", out], cwd=tmp_path)
    assert log_history(out)[0]["learning_rate"] == pytest.approx(1e-4)

    class BaseSize:
        def num_parameters(self):
            return 124_645_632  # RoBERTa-base

    assert default_learning_rate(BaseSize()) == 2e-5


def test_resume_from_checkpoint_continues_to_the_same_end(tiny_checkpoint, tmp_path):
    common = ["--model_name_or_path", tiny_checkpoint, *data_args(train=48, evaluation=16, test=16),
              "--max_steps", 6, "--per_device_train_batch_size", 8, "--eval_strategy", "steps", "--eval_steps", 2,
              "--save_strategy", "steps", "--save_steps", 2, "--save_total_limit", 5]
    run_train([*common, "--output_dir", tmp_path / "whole"], cwd=tmp_path)
    run_train([*common, "--max_steps", 6, "--output_dir", tmp_path / "resumed",
               "--resume_from_checkpoint", tmp_path / "whole" / "checkpoint-2"], cwd=tmp_path)
    whole = load_file(tmp_path / "whole" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model.safetensors")
    assert max((whole[k] - resumed[k]).abs().max().item() for k in whole) < 1e-6
    metrics = [json.loads((tmp_path / d / "eval_results.json").read_text()) for d in ("whole", "resumed")]
    assert metrics[0]["eval_loss"] == pytest.approx(metrics[1]["eval_loss"], abs=1e-6)


def test_accelerate_launch_bf16_and_argument_file(tiny_checkpoint, tmp_path):
    args = {"model_name_or_path": str(tiny_checkpoint), "train_file": str(EMOTION / "train.txt"),
            "validation_file": str(EMOTION / "validation.txt"), "max_train_samples": 32, "max_eval_samples": 16,
            "num_train_epochs": 1, "per_device_train_batch_size": 16, "output_dir": str(tmp_path / "run"),
            "contradiction_weight": 0.0}
    (tmp_path / "args.json").write_text(json.dumps(args))
    run_train([tmp_path / "args.json"], cwd=tmp_path,
              launcher=("accelerate", "launch", "--cpu", "--num_processes", "1", "--mixed_precision", "bf16"))
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["contradiction_weight"] == 0.0
    assert "loss_contradiction" not in [k for e in log_history(tmp_path / "run") for k in e]


def test_yaml_arguments_parse():
    from train import parse_arguments

    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write("train_file: a.txt\nvalence_weight: 0\narousal_weight: 0\ncontradiction_weight: 0\n"
                     "output_dir: somewhere\n")
    model_args, data_args_, cmhl_args, training_args = parse_arguments([handle.name])
    assert data_args_.train_file == "a.txt" and training_args.output_dir == "somewhere"
    assert cmhl_args.config_overrides() == {"valence_weight": 0, "arousal_weight": 0, "contradiction_weight": 0}
    assert model_args.model_name_or_path == "FacebookAI/roberta-base" and training_args.metric_for_best_model == "macro_f1"


def test_help_lists_every_argument_group(tmp_path):
    run = run_train(["--help"], cwd=tmp_path)
    for flag in ("--model_name_or_path", "--dataset_name", "--train_file", "--max_train_samples",
                 "--max_predict_samples", "--max_seq_length", "--valence_weight", "--contradiction_mode",
                 "--contradiction_margin", "--circumplex_file", "--gradient_accumulation_steps", "--push_to_hub"):
        assert flag in run.stdout, flag


def test_hub_defaults_offline_fail_fast_with_advice(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--output_dir", tmp_path / "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**{k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"},
                              "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert run.returncode == 2
    assert "Cannot reach the Hugging Face Hub" in run.stderr
    assert "--model_name_or_path FacebookAI/roberta-base and --dataset_name dair-ai/emotion" in run.stderr
    assert "--train_file" in run.stderr


def test_hub_defaults_with_hf_hub_offline_give_the_same_advice(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--output_dir", tmp_path / "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty_cache")})
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "HF_HUB_OFFLINE is set and --model_name_or_path FacebookAI/roberta-base and --dataset_name " \
           "dair-ai/emotion is not in the local cache" in run.stderr
    assert "--train_file" in run.stderr and len(run.stderr.strip().splitlines()) <= 3


def test_two_processes_follow_the_loss_curve_of_one(tiny_checkpoint, tmp_path):
    """2 processes x batch 8 against 1 process x batch 16: the same examples per step, the same loss
    normalisation, so the logged losses agree up to float summation order (tolerance 1e-4 relative). In float32
    with the stock random sampler: length groups are formed per process batch (megabatches of 50 x 8 rows against
    50 x 16), so grouped runs of other layouts see other examples per step."""
    common = ["--model_name_or_path", tiny_checkpoint, *data_args(train=96, evaluation=16, test=16), "--max_steps", 6,
              *FP32, "--train_sampling_strategy", "random",
              "--logging_steps", 1, "--eval_strategy", "no", "--save_strategy", "steps", "--save_steps", 6,
              "--load_best_model_at_end", "false"]
    run_train([*common, "--per_device_train_batch_size", 16, "--output_dir", tmp_path / "one"], cwd=tmp_path)
    run_train([*common, "--per_device_train_batch_size", 8, "--output_dir", tmp_path / "two"], cwd=tmp_path,
              launcher=("torchrun", "--nproc_per_node", "2"))
    one = [e for e in log_history(tmp_path / "one") if "loss" in e]
    two = [e for e in log_history(tmp_path / "two") if "loss" in e]
    assert len(one) == len(two) == 6
    for a, b in zip(one, two):
        for key in ("loss", "loss_emotion", "loss_contradiction", "grad_norm"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), (a["step"], key)


def test_two_label_data_from_an_emotion_checkpoint(tiny_checkpoint, tmp_path):
    dreaddit = DATA / "dreaddit"
    common = ["--model_name_or_path", tiny_checkpoint, "--train_file", dreaddit / "dreaddit_train_text_label.csv",
              "--validation_file", dreaddit / "dreaddit_test_text_label.csv", "--class_names", "none,stress",
              "--max_train_samples", 32, "--max_eval_samples", 16, "--num_train_epochs", 1]
    refused = subprocess.run([sys.executable, str(REPO / "train.py"), *map(str, common), "--output_dir",
                              str(tmp_path / "refused")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert refused.returncode == 2
    assert "circumplex_coordinates: expected [valence, arousal] for each of ['none', 'stress']" in refused.stderr
    run_train([*common, "--valence_weight", 0, "--arousal_weight", 0, "--contradiction_weight", 0,
               "--output_dir", tmp_path / "run"], cwd=tmp_path)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["id2label"] == {"0": "none", "1": "stress"} and config["circumplex_coordinates"] is None
    assert "eval_f1_stress" in json.loads((tmp_path / "run" / "all_results.json").read_text())


def test_sigkill_then_resume_ends_where_an_uninterrupted_run_ends(tiny_checkpoint, tmp_path):
    """Kill -9 after a checkpoint is saved, leave a half-written newer checkpoint behind (as a kill while
    saving would), resume with `last`: same final weights and metrics as a run never interrupted."""
    import shutil
    import signal
    import time

    common = ["--model_name_or_path", tiny_checkpoint, *data_args(train=256, evaluation=16, test=16),
              "--max_steps", 30, "--per_device_train_batch_size", 8, "--eval_strategy", "no",
              "--save_strategy", "steps", "--save_steps", 1, "--save_total_limit", 3, "--load_best_model_at_end",
              "false", "--report_to", "none"]
    run_train([*common, "--output_dir", tmp_path / "whole"], cwd=tmp_path)
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(REPO / "train.py"), *map(str, common), "--output_dir", killed],
                               cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.time() + 300
    while not (killed / "checkpoint-4" / "trainer_state.json").exists():
        assert process.poll() is None and time.time() < deadline, "train.py ended before the kill"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    saved = sorted(int(p.name.split("-")[1]) for p in killed.glob("checkpoint-*"))
    assert saved and max(saved) < 30 and not (killed / "all_results.json").exists()
    partial = killed / "checkpoint-29"  # newer than any saved one, cut short: weights but no trainer_state
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    shutil.copy(tiny_checkpoint / "model.safetensors", partial / "model.safetensors")
    resumed = run_train([*common, "--output_dir", killed, "--resume_from_checkpoint", "last"], cwd=tmp_path)
    assert "checkpoint-29: incomplete" in resumed.stderr
    whole, again = (load_file(d / "model.safetensors") for d in (tmp_path / "whole", killed))
    assert max((whole[k] - again[k]).abs().max().item() for k in whole) < 1e-6
    metrics = [json.loads((d / "all_results.json").read_text()) for d in (tmp_path / "whole", killed)]
    for key in ("eval_loss", "eval_accuracy", "eval_macro_f1", "test_loss", "test_accuracy", "test_macro_f1"):
        assert metrics[0][key] == pytest.approx(metrics[1][key], abs=1e-6), key
    assert json.loads((killed / "checkpoint-30" / "trainer_state.json").read_text())["global_step"] == 30


def test_resume_from_an_incomplete_checkpoint_is_refused(tiny_checkpoint, tmp_path):
    (tmp_path / "cut" / "checkpoint-2").mkdir(parents=True)
    run = subprocess.run([sys.executable, str(REPO / "train.py"), "--model_name_or_path", str(tiny_checkpoint),
                          *map(str, data_args(train=16, evaluation=16, test=16)), "--output_dir", str(tmp_path / "out"),
                          "--resume_from_checkpoint", str(tmp_path / "cut" / "checkpoint-2")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 2 and "expected a complete checkpoint" in run.stderr
