"""Born-again multi-task CMHL: annealed targets by hand, teachers averaged and matched by name, refusals, and a short
real run of train.py with teachers (teachers.py, loss.py, train.py --emotion_teacher / --affect_teacher)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import DATA, REPO, TINY_ENCODERS, make_tiny_tokenizer
from data import DataError
from loss import IGNORE_INDEX, NO_EMOTION, emotion_loss, emotion_targets, regression_targets, teacher_annealing

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def test_teacher_annealing_schedules():
    assert [teacher_annealing(p, "linear") for p in (-0.1, 0.0, 0.25, 1.0, 1.5)] == [0.0, 0.0, 0.25, 1.0, 1.0]
    assert teacher_annealing(0.1, "constant", 0.3) == 0.3
    assert teacher_annealing(0.1, "off") == 1.0
    with pytest.raises(ValueError, match="distillation_schedule"):
        teacher_annealing(0.1, "cosine")


@pytest.mark.parametrize("gold_weight", [0.0, 0.5, 1.0])
def test_the_annealed_emotion_target_by_hand(gold_weight):
    # rows: gold 1 with a teacher, gold 0 without one, no gold with a teacher, no gold and no teacher, ignored
    labels = torch.tensor([1, 0, NO_EMOTION, NO_EMOTION, IGNORE_INDEX])
    q = [0.2, 0.5, 0.3]
    nan = [float("nan")] * 3
    teacher = torch.tensor([q, nan, [0.6, 0.3, 0.1], nan, q])
    target, has = emotion_targets(labels, 3, teacher, gold_weight)
    lam = gold_weight
    expected = [[(1 - lam) * 0.2, lam + (1 - lam) * 0.5, (1 - lam) * 0.3],  # lambda onehot + (1 - lambda) q
                [1.0, 0.0, 0.0],  # gold alone
                [0.6, 0.3, 0.1],  # teacher alone, whatever lambda
                [0.0, 0.0, 0.0]]
    assert torch.allclose(target[:4], torch.tensor(expected))
    assert has.tolist() == [True, True, True, False, False]
    # the loss: -sum t log softmax(z), summed over rows with a target, over the rows that count (4)
    logits = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0.5, 0.5, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    log_p = logits.log_softmax(-1)
    by_hand = -sum((torch.tensor(expected[i]) * log_p[i]).sum() for i in range(3)) / 4
    assert torch.allclose(emotion_loss(logits, labels, teacher_probs=teacher, gold_weight=gold_weight), by_hand)


def test_without_teachers_the_emotion_loss_is_todays_cross_entropy():
    logits, labels = torch.randn(5, 4), torch.tensor([0, 3, NO_EMOTION, 2, 1])
    stock = torch.nn.functional.cross_entropy(logits, labels.clamp(min=0), reduction="none", label_smoothing=0.1)
    expected = (stock * (labels >= 0)).sum() / 5
    assert torch.allclose(emotion_loss(logits, labels, label_smoothing=0.1), expected)


@pytest.mark.parametrize("gold_weight", [0.0, 0.5, 1.0])
def test_the_annealed_regression_target_by_hand(gold_weight):
    nan = float("nan")
    # rated with a teacher, rated without, unrated with a teacher, unrated labelled without (label point), nothing
    labels = torch.tensor([NO_EMOTION, NO_EMOTION, 2, 1, NO_EMOTION])
    given = torch.tensor([0.4, -0.2, nan, nan, nan])
    teacher = torch.tensor([0.0, nan, 0.7, nan, nan])
    label_values = torch.tensor([-0.9, 0.8, 0.75])
    target, weight = regression_targets(labels, label_values, given, 0.5, teacher, gold_weight)
    lam = gold_weight
    assert torch.allclose(target, torch.tensor([lam * 0.4 + (1 - lam) * 0.0, -0.2, 0.7, 0.8, 0.0]))
    assert weight.tolist() == [1.0, 1.0, 1.0, 0.5, 0.0]


def test_a_regression_row_without_gold_takes_the_teacher_alone_even_without_a_ratings_column():
    labels = torch.tensor([0, 1])
    target, weight = regression_targets(labels, None, None, 0.0, torch.tensor([0.3, float("nan")]), 0.9)
    assert torch.allclose(target, torch.tensor([0.3, 0.0])) and weight.tolist() == [1.0, 0.0]


def _tiny_teacher(path, label_names=LABELS, seed=0, **overrides):
    from configuration_cmhl import CMHLConfig
    from modeling_cmhl import CMHLForSequenceClassification

    torch.manual_seed(seed)
    config = CMHLConfig(encoder_config=TINY_ENCODERS["bert"], id2label=dict(enumerate(label_names)),
                        label2id={n: i for i, n in enumerate(label_names)}, **overrides)
    model = CMHLForSequenceClassification(config).eval()
    model.save_pretrained(path)
    make_tiny_tokenizer().save_pretrained(path)
    return model


def _direct(model, texts):
    tokenizer = make_tiny_tokenizer()
    with torch.no_grad():
        out = model(**tokenizer(texts, return_tensors="pt", padding=True))
    return out.logits.softmax(-1).numpy(), out.valence.numpy(), out.arousal.numpy()


TEXTS = ["i feel happy", "i feel sad today", "angry", "i feel happy and sad and angry"]


def test_teachers_are_averaged_and_matched_by_name(tmp_path):
    from teachers import teacher_targets

    first = _tiny_teacher(tmp_path / "a", seed=1)
    shuffled = LABELS[::-1]  # the same labels in another order: columns must follow the names
    second = _tiny_teacher(tmp_path / "b", label_names=shuffled, seed=2)
    p1, v1, a1 = _direct(first, TEXTS)
    p2, v2, a2 = _direct(second, TEXTS)
    p2 = p2[:, [shuffled.index(name) for name in LABELS]]
    got = teacher_targets({"emotion": [str(tmp_path / "a"), str(tmp_path / "b")]}, TEXTS, LABELS, 1.0, 64)["emotion"]
    assert np.allclose(got["probs"], (p1 + p2) / 2, atol=1e-5)
    alone = teacher_targets({"emotion": [str(tmp_path / "b")]}, TEXTS, LABELS, 1.0, 64)["emotion"]
    assert np.allclose(alone["probs"], p2, atol=1e-5)  # a wrong order would put sadness's mass under surprise
    both = [str(tmp_path / "a"), str(tmp_path / "b")]
    affect = teacher_targets({"affect": both}, TEXTS, LABELS, 1.0, 64)["affect"]
    assert np.allclose(affect["valence"], (v1 + v2) / 2, atol=1e-5)
    assert np.allclose(affect["arousal"], (a1 + a2) / 2, atol=1e-5)


def test_a_teacher_of_both_kinds_reads_the_texts_once_and_a_cached_kind_not_at_all(tmp_path, monkeypatch):
    import predict
    from teachers import teacher_targets

    model = _tiny_teacher(tmp_path / "a", seed=1)
    probs, valence, arousal = _direct(model, TEXTS)
    passes = []
    outputs = predict.Predictor.outputs
    monkeypatch.setattr(predict.Predictor, "outputs",
                        lambda self, texts: passes.append(len(texts)) or outputs(self, texts))
    teacher = [str(tmp_path / "a")]
    got = teacher_targets({"emotion": teacher, "affect": teacher}, TEXTS, LABELS, 1.0, 64, str(tmp_path / "cache"))
    assert passes == [4]  # one pass gives both kinds
    assert np.allclose(got["emotion"]["probs"], probs, atol=1e-5)
    assert np.allclose(got["affect"]["valence"], valence, atol=1e-5)
    assert np.allclose(got["affect"]["arousal"], arousal, atol=1e-5)
    next((tmp_path / "cache").glob("affect-*.npz")).unlink()
    again = teacher_targets({"emotion": teacher, "affect": teacher}, TEXTS, LABELS, 1.0, 64, str(tmp_path / "cache"))
    assert passes == [4, 4]  # emotion read from the cache; affect scored again, alone
    assert np.array_equal(again["emotion"]["probs"], got["emotion"]["probs"])
    assert np.array_equal(again["affect"]["valence"], got["affect"]["valence"])
    teacher_targets({"emotion": teacher, "affect": teacher}, TEXTS, LABELS, 1.0, 64, str(tmp_path / "cache"))
    assert passes == [4, 4]


def test_the_temperature_softens_the_teacher(tmp_path):
    from teachers import teacher_targets

    model = _tiny_teacher(tmp_path / "a", seed=3)
    tokenizer = make_tiny_tokenizer()
    with torch.no_grad():
        logits = model(**tokenizer(TEXTS, return_tensors="pt", padding=True)).logits
    got = teacher_targets({"emotion": [str(tmp_path / "a")]}, TEXTS, LABELS, 2.0, 64)["emotion"]["probs"]
    assert np.allclose(got, (logits / 2).softmax(-1).numpy(), atol=1e-5)


def test_a_teacher_that_cannot_teach_is_refused_naming_its_path(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from teachers import check_teacher

    _tiny_teacher(tmp_path / "other", label_names=["none", "stress"], contradiction_weight=0)
    with pytest.raises(DataError, match=r"--emotion_teacher .*other: its labels \['none', 'stress'\] are not"):
        check_teacher(str(tmp_path / "other"), "emotion", LABELS)
    _tiny_teacher(tmp_path / "plain", valence_weight=0, arousal_weight=0, contradiction_weight=0)
    with pytest.raises(DataError, match=r"--affect_teacher .*plain: its valence and arousal head\(s\) were never"):
        check_teacher(str(tmp_path / "plain"), "affect", LABELS)
    _tiny_teacher(tmp_path / "anchor", trained_heads=["valence", "arousal"])
    with pytest.raises(DataError, match=r"--emotion_teacher .*anchor: its emotion head\(s\) were never trained"):
        check_teacher(str(tmp_path / "anchor"), "emotion", LABELS)
    assert check_teacher(str(tmp_path / "anchor"), "affect", LABELS).cmhl
    with pytest.raises(DataError, match=r"--emotion_teacher .*nowhere: no such folder"):
        check_teacher(str(tmp_path / "nowhere"), "emotion", LABELS)
    stock = BertConfig(**{k: v for k, v in TINY_ENCODERS["bert"].items() if k != "model_type"}, num_labels=3,
                       problem_type="regression")
    BertForSequenceClassification(stock).save_pretrained(tmp_path / "regression3")
    make_tiny_tokenizer().save_pretrained(tmp_path / "regression3")
    with pytest.raises(DataError, match=r"--affect_teacher .*regression3: expected .* 2 outputs .* 3 outputs"):
        check_teacher(str(tmp_path / "regression3"), "affect", LABELS)
    with pytest.raises(DataError, match=r"regression3: a regression"):
        check_teacher(str(tmp_path / "regression3"), "emotion", LABELS)


def test_a_stock_classifier_and_a_stock_regression_teach(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from teachers import teacher_targets

    fields = {k: v for k, v in TINY_ENCODERS["bert"].items() if k != "model_type"}
    shuffled = [LABELS[i] for i in (3, 0, 5, 1, 4, 2)]
    torch.manual_seed(0)
    classifier = BertForSequenceClassification(BertConfig(**fields, id2label=dict(enumerate(shuffled)),
                                                          label2id={n: i for i, n in enumerate(shuffled)})).eval()
    classifier.save_pretrained(tmp_path / "stock")
    make_tiny_tokenizer().save_pretrained(tmp_path / "stock")
    regression = BertForSequenceClassification(BertConfig(**fields, num_labels=2, problem_type="regression")).eval()
    regression.save_pretrained(tmp_path / "regression")
    make_tiny_tokenizer().save_pretrained(tmp_path / "regression")
    inputs = make_tiny_tokenizer()(TEXTS, return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = classifier(**inputs).logits.softmax(-1)[:, [shuffled.index(n) for n in LABELS]].numpy()
        values = regression(**inputs).logits.numpy()
    got = teacher_targets({"emotion": [str(tmp_path / "stock")]}, TEXTS, LABELS, 1.0, 64)["emotion"]["probs"]
    assert np.allclose(got, expected, atol=1e-5)
    affect = teacher_targets({"affect": [str(tmp_path / "regression")]}, TEXTS, LABELS, 1.0, 64)["affect"]
    assert np.allclose(affect["valence"], values[:, 0], atol=1e-5)
    assert np.allclose(affect["arousal"], values[:, 1], atol=1e-5)


def test_the_cache_is_read_only_by_the_same_teachers_and_data(tmp_path):
    from teachers import teacher_targets

    _tiny_teacher(tmp_path / "a", seed=1)
    _tiny_teacher(tmp_path / "b", seed=2)
    cache = tmp_path / "cache"
    first = teacher_targets({"emotion": [str(tmp_path / "a")]}, TEXTS, LABELS, 1.0, 64, str(cache))["emotion"]
    (stored,) = cache.glob("emotion-*.npz")
    again = teacher_targets({"emotion": [str(tmp_path / "a")]}, TEXTS, LABELS, 1.0, 64, str(cache))["emotion"]
    assert np.array_equal(first["probs"], again["probs"])
    other = teacher_targets({"emotion": [str(tmp_path / "b")]}, TEXTS, LABELS, 1.0, 64, str(cache))["emotion"]
    assert not np.allclose(other["probs"], first["probs"])  # another teacher: another key, scored afresh
    assert len(list(cache.glob("emotion-*.npz"))) == 2
    fewer = teacher_targets({"emotion": [str(tmp_path / "a")]}, TEXTS[:3], LABELS, 1.0, 64, str(cache))["emotion"]
    assert len(fewer["probs"]) == 3  # other texts: another key
    # a file of another run under this run's name (renamed, copied by hand) is refused, naming it
    (other_file,) = [p for p in cache.glob("emotion-*.npz") if p != stored][:1]
    stored.unlink()
    other_file.rename(stored)
    with pytest.raises(DataError, match=r"emotion-.*\.npz: teacher targets of other teachers or other data"):
        teacher_targets({"emotion": [str(tmp_path / "a")]}, TEXTS, LABELS, 1.0, 64, str(cache))["emotion"]


def test_at_the_start_of_annealing_the_model_learns_the_teacher_and_at_the_end_the_gold(tmp_path):
    model = _tiny_teacher(tmp_path / "m", seed=4, valence_weight=0, arousal_weight=0, contradiction_weight=0)
    model.train()
    inputs = make_tiny_tokenizer()(TEXTS[:2], return_tensors="pt", padding=True)
    labels = torch.tensor([1, 0])
    teacher = torch.tensor([[0.1, 0.1, 0.1, 0.1, 0.1, 0.5], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])
    with torch.no_grad():
        model.eval()
        start = model(**inputs, labels=labels, teacher_probs=teacher, training_progress=0.0)
        end = model(**inputs, labels=labels, teacher_probs=teacher, training_progress=1.0)
        plain = model(**inputs, labels=labels)
    log_p = start.logits.log_softmax(-1)
    assert torch.allclose(start.loss, -(teacher * log_p).sum(-1).mean(), atol=1e-6)
    assert torch.allclose(end.loss, plain.loss, atol=1e-6)
    model.config.distillation_schedule = "off"
    with torch.no_grad():
        off = model(**inputs, labels=labels, teacher_probs=teacher, training_progress=0.0)
    assert torch.allclose(off.loss, plain.loss, atol=1e-6)


def test_the_trainer_gives_the_model_its_progress(tmp_path):
    """CMHLTrainer.compute_loss adds training_progress = step / max_steps to a batch that carries teacher targets."""
    from transformers import TrainingArguments

    from train import CMHLTrainer

    model = _tiny_teacher(tmp_path / "m")
    seen = []
    original = model.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("training_progress"))
        return original(*args, **kwargs)

    model.forward = spy
    trainer = CMHLTrainer(model=model, args=TrainingArguments(str(tmp_path / "out"), report_to="none"))
    trainer.state.global_step, trainer.state.max_steps = 30, 120
    batch = {**make_tiny_tokenizer()(TEXTS[:2], return_tensors="pt", padding=True), "labels": torch.tensor([1, 0]),
             "teacher_probs": torch.full((2, 6), 1 / 6)}
    model.train()
    trainer.compute_loss(model, batch)
    model.eval()
    trainer.compute_loss(model, batch)
    assert seen == [0.25, None]


def test_train_py_with_teachers_on_real_data(tmp_path, trained_checkpoint):
    """A short real run: the session's trained MiniLM checkpoint teaches emotion and affect; every row gets both
    targets, the cache is written and then read by a second seed; the student records its trained heads."""
    emotion = DATA / "emotion"

    def run(seed, output):
        command = [sys.executable, str(REPO / "train.py"), "--model_name_or_path", str(trained_checkpoint),
                   "--train_file", emotion / "train.txt", "--validation_file", emotion / "validation.txt",
                   "--max_train_samples", "96", "--max_eval_samples", "64", "--max_seq_length", "64",
                   "--affect_file", DATA / "emobank" / "emobank.csv", "--max_affect_samples", "48",
                   "--emotion_teacher", trained_checkpoint, "--affect_teacher", trained_checkpoint,
                   "--teacher_cache_dir", tmp_path / "cache", "--num_train_epochs", "1",
                   "--per_device_train_batch_size", "16", "--save_strategy", "no", "--eval_strategy", "no",
                   "--load_best_model_at_end", "false", "--report_to", "none", "--seed", seed,
                   "--output_dir", output]
        done = subprocess.run([str(c) for c in command], cwd=REPO, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stderr

    log = run(1, tmp_path / "student1")
    assert "emotion and affect teacher(s)" in log and "scored 144 texts" in log  # 96 emotion rows + 48 rated rows
    assert "(1 pass(es) over them)" in log  # one checkpoint teaching both kinds reads the texts once
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.npz")) == ["affect", "emotion"]
    log = run(2, tmp_path / "student2")
    assert "emotion teacher targets read from" in log and "affect teacher targets read from" in log
    config = json.loads((tmp_path / "student2" / "config.json").read_text())
    assert config["trained_heads"] == ["emotion", "valence", "arousal"]
    assert config["distillation_schedule"] == "linear"
