"""Train, evaluate and publish CMHL with the stock `transformers.Trainer`.

    accelerate launch train.py --output_dir runs/cmhl            # RoBERTa-base on dair-ai/emotion (Hub)
    accelerate launch train.py --model_name_or_path <folder> \\
        --train_file ../shared/data/emotion/train.txt --validation_file ../shared/data/emotion/validation.txt \\
        --test_file ../shared/data/emotion/test.txt --output_dir runs/cmhl
    python train.py args.json                                     # or args.yaml: the same arguments in a file
    python train.py --model_name_or_path runs/cmhl --validation_file validation.txt --test_file test.txt \
        --output_dir runs/cmhl/eval                               # no --train_file: evaluate a trained checkpoint

Arguments: `ModelArguments`, `DataArguments`, `CMHLArguments` below, and the stock `TrainingArguments`
(with defaults for this task: evaluate and save every epoch, keep the best checkpoint on validation
macro F1). Order of work: data, model, Trainer, metrics, card. The math lives in loss.py and metrics.py.
"""

import contextlib
import logging
import math
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import upload_file
from transformers import (PretrainedConfig, DataCollatorWithPadding, HfArgumentParser, Trainer,
                          TrainerCallback, TrainingArguments, pipeline, set_seed)
from transformers.dynamic_module_utils import custom_object_save

from configuration_cmhl import DAIR_AI_LABELS, DEFAULT_COORDINATES, CMHLConfig
import entry
from corpora import (Corpus, LabelMapping, TextSplit, check_test_overlap, corpus_datasets, epoch_mix, load_corpora,
                     local_choice)
from sources import Source
from data import (AffectSpec, DataError, LexiconSpec, load_affect, load_lexicon, load_splits, load_transfer, mix,
                  with_source)
from metrics import CMHLMetrics, softmax
from model_card import widget_examples, write_model_card
from modeling_cmhl import CMHLForSequenceClassification, carry_emotion_head, register_auto_classes
from plots import write_figures
from hardware import bf16_pays, cores_used_by_others
from jsonfiles import read_object
from run_checks import (FINISHED_MARKS, check_checkpoint_labels, check_checkpoint_shapes, check_hub_reachable, check_run_record,
                        claim_output_dir, content, is_complete_checkpoint, remove_previous_run, resolve_resume,
                        write_run_record)
from saves import check_save, load_tokenizer, write_manifest
from teachers import add_teacher_columns, check_teachers

logger = logging.getLogger("cmhl.train")
register_auto_classes()  # the text-classification pipeline (model card widget) asks the Auto classes
# What Trainer passes to compute_metrics; source_ids (which corpus a row is from) is popped before the model sees it.
LABEL_NAMES = ["labels", "valence_labels", "arousal_labels", "source_ids"]
# The default learning rate depends on the encoder's size (default_learning_rate): small encoders such as MiniLM-L6
# (22.7M) want a higher rate than base-size ones (RoBERTa-base, 125M), which can diverge at it.
SMALL_ENCODER_PARAMETERS = 40_000_000


@dataclass
class ModelArguments:
    model_name_or_path: str = field(default="FacebookAI/roberta-base", metadata={
        "help": "Encoder to start from: a Hub id or a local folder of any AutoModel encoder, or a CMHL checkpoint "
                "to continue from."})
    tokenizer_name: str | None = field(default=None, metadata={"help": "Tokenizer, if not the model's own."})
    base_model: str | None = field(default=None, metadata={
        "help": "Hub id written as base_model in the model card. Default: --model_name_or_path; for a local folder, "
                "give the Hub id it is a copy of (e.g. sentence-transformers/all-MiniLM-L6-v2)."})
    model_license: str = field(default="other", metadata={"help": "License written into the model card."})


@dataclass
class DataArguments:
    dataset_name: str = field(default="dair-ai/emotion", metadata={
        "help": "Hub data set with train/validation/test splits and columns text, label; used when no local file "
                "is given. With local files it names the data set in the model card."})
    train_file: str | None = field(default=None, metadata={
        "help": "Local training data: dair-ai 'text;label' .txt, .csv/.tsv, .jsonl or .parquet with columns text "
                "and label (a name or an index); optional per-text valence [-1, 1] and arousal [0, 1] columns. Without it, "
                "a CMHL checkpoint given as --model_name_or_path is evaluated on the other files, nothing is trained."})
    validation_file: str | None = field(default=None, metadata={"help": "Local validation data (model selection)."})
    corpus: list[str] | None = field(default=None, metadata={
        "help": "Several labelled corpora instead of --train_file/--validation_file/--test_file, one argument each: "
                "'name=goemotions,train=PATH,validation=PATH,test=PATH,"
                "mapping=mappings/goemotions_to_dair_emotion.json,proportion=0.3'. "
                "The mapping file (corpora.py) says how the file is read and how its labels become the model's "
                "(--class_names); rows that do not map to exactly one label are left out and counted in the log. "
                "Without validation, a hash split of train (holdout=0.1) validates. proportion: the corpus's share of "
                "each epoch (all or none; none: its share of the rows). Each corpus is evaluated on its own, and "
                "the best checkpoint is chosen on mean_source_macro_f1, the mean of their macro F1 (cmhl_metric)."})
    corpus_dir: str | None = field(default=None, metadata={
        "help": "A folder holding local copies of a recipe's corpora (e.g. ../shared/data): each source written "
                "{source: ..., local: ...} in the recipe is read from <corpus_dir>/<local> instead of the Hub or the "
                "web (a pinned URL's sha256 is checked on the copy). Without it the public sources are read."})
    epoch_size: int | None = field(default=None, metadata={
        "help": "With --corpus: training rows per epoch, drawn from the corpora by their proportions once per run "
                "(seeded; a corpus smaller than its share repeats). Default: every training row of every corpus."})
    drop_test_overlap: bool = field(default=False, metadata={
        "help": "Leave out (and count) training and validation texts that are in another source's test split: "
                "another corpus's, --test_file's for --affect_file and --lexicon_file texts, --affect_file's test "
                "rows for emotion texts. Without it such a text is an error (GoEmotions and MELD share 'Thank you.'; "
                "EmoBank's training sentences include MELD test lines such as 'Really?')."})
    test_file: str | None = field(default=None, metadata={"help": "Local test data (final numbers only)."})
    class_names: str | None = field(default=None, metadata={
        "help": "Comma-separated label names in index order. Default: the Hub data set's, else dair-ai's six."})
    drop_invalid_rows: bool = field(default=False, metadata={
        "help": "Drop rows that fail the checks (and report how many) instead of stopping."})
    max_seq_length: int = field(default=128, metadata={"help": "Truncate texts to this many tokens."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation rows."})
    max_predict_samples: int | None = field(default=None, metadata={"help": "Keep the first N test rows."})
    affect_file: str | None = field(default=None, metadata={
        "help": "Texts rated for valence and arousal, the second training source of the valence and arousal heads "
                "(any format above with a header; EmoBank's emobank.csv: columns id,split,V,A,D,text, scale 1-5). "
                "Its rows train those heads only; its dev and test rows are evaluated every epoch beside the emotion "
                "validation set (metrics eval_affect_*)."})
    affect_text_column: str = field(default="text", metadata={"help": "Text column of --affect_file."})
    affect_valence_column: str = field(default="V", metadata={"help": "Valence rating column of --affect_file."})
    affect_arousal_column: str = field(default="A", metadata={"help": "Arousal rating column of --affect_file."})
    affect_scale: str = field(default="1,5", metadata={
        "help": "low,high of --affect_file's rating scale (EmoBank: 1,5); its midpoint is read as neutral."})
    affect_split_column: str | None = field(default="split", metadata={
        "help": "Column naming each row's split (train / dev or validation / test); 'none': every row trains."})
    affect_proportion: float | None = field(default=None, metadata={
        "help": "Share of rated rows in the training mix (drawn with replacement beyond the corpus size). "
                "Default: every rated training row once (EmoBank with dair-ai: 8,062 of 24,062, 0.34)."})
    max_affect_samples: int | None = field(default=None, metadata={
        "help": "Keep the first N rated rows of each split of --affect_file."})
    lexicon_file: str | None = field(default=None, metadata={
        "help": "Words rated for valence, a third training source of the valence head only (no arousal target): "
                "VADER's vader_lexicon.txt ('token<TAB>mean<TAB>...', -4..4; pip download vaderSentiment) or "
                ".csv/.tsv/.jsonl/.parquet with columns word, valence. Each word is one training text; entries that "
                "are not words (emoticons) are skipped and counted in the log."})
    lexicon_scale: str = field(default="-4,4", metadata={
        "help": "low,high of --lexicon_file's ratings (VADER: -4,4); its midpoint is read as neutral. A scale "
                "starting below zero is given with '=' (--lexicon_scale=-5,5): a leading '-' would read as a flag."})
    lexicon_template: str = field(default="i feel {}", metadata={
        "help": "The training text made from each word, with {} for the word. Default: the first-person frame of "
                "dair-ai's texts, the setting validated in BENCHMARKS.md 'Word valence ratings' (fixed before any "
                "run, not tuned); '{}' trains on the word alone."})

    emotion_teacher: list[str] | None = field(default=None, metadata={
        "help": "Checkpoint(s) of an emotion classifier with this run's label names (a plain fine-tune: train.py with "
                "--valence_weight 0 --arousal_weight 0 --contradiction_weight 0; a CMHL or stock classifier). Before "
                "training they score every training text once; their mean distribution becomes each row's emotion "
                "target, mixed with the gold label by CMHLConfig.distillation_schedule (BAM's teacher annealing). "
                "Labels are matched by name. See teachers.py and README 'Train'."})
    affect_teacher: list[str] | None = field(default=None, metadata={
        "help": "Checkpoint(s) rating valence and arousal (benchmarks/emobank_regression.py --pooling mean, a CMHL "
                "checkpoint with trained valence and arousal heads, or a stock 2-output regression); their mean "
                "values become every training row's valence and arousal targets, mixed with any gold ratings."})
    transfer_file: str | None = field(default=None, metadata={
        "help": "Unlabelled texts that only the teachers label (Hinton et al. 2015's transfer set; issue 42: XED's "
                "English subtitle lines): each row trains the student on its teachers' targets alone, every row once "
                "an epoch. A .txt of one text a line, a .csv/.tsv with a header, .jsonl or .parquet (column "
                "--transfer_text_column), or a header-less .csv/.tsv with --transfer_columns; a path, a pinned URL "
                "(https://...#sha256=...) or a recipe's {source, local}. Needs --emotion_teacher or --affect_teacher; "
                "checked against every test split like every training text."})
    transfer_text_column: str = field(default="text", metadata={"help": "Text column of --transfer_file."})
    transfer_columns: str | None = field(default=None, metadata={
        "help": "Comma-separated names of a header-less --transfer_file's columns (XED's en-annotated.tsv: "
                "text,labels)."})
    max_transfer_samples: int | None = field(default=None, metadata={
        "help": "Keep the first N texts of --transfer_file."})
    teacher_cache_dir: str | None = field(default=None, metadata={
        "help": "Keep the teachers' targets here, keyed by a hash of the teachers' files, the texts and the settings, "
                "so that runs of other seeds on the same training texts and teachers skip the scoring (a recipe's "
                "epoch draw follows --seed: there each seed scores its own). Default: no cache."})

    def affect_spec(self) -> AffectSpec:
        split = None if (self.affect_split_column or "none").lower() == "none" else self.affect_split_column
        return AffectSpec(self.affect_text_column, self.affect_valence_column, self.affect_arousal_column,
                          scale_argument("--affect_scale", self.affect_scale), split)

    def lexicon_spec(self) -> LexiconSpec:
        return LexiconSpec(scale_argument("--lexicon_scale", self.lexicon_scale), self.lexicon_template)

    def __post_init__(self):
        for name in ("max_seq_length", "max_train_samples", "max_eval_samples", "max_predict_samples",
                     "max_affect_samples", "max_transfer_samples", "epoch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise DataError(f"--{name}: expected a whole number >= 1, got {value}")


def scale_argument(name: str, value: str) -> tuple[float, float]:
    """'low,high' -> (low, high), or a DataError naming the argument."""
    try:
        low, high = (float(x) for x in value.split(","))
    except ValueError:
        raise DataError(f"{name}: expected 'low,high' (e.g. 1,5), got {value!r}") from None
    return low, high


def _cmhl_field(name: str):
    default = getattr(CMHLConfig, name)
    return field(default=None, metadata={"help": f"CMHLConfig.{name} (default {default}); see configuration_cmhl.py."})


CIRCUMPLEX_FIELDS = {"coordinates": (dict, True), "scale": (list, False), "incompatible_pairs": ((list, type(None)), False),
                     "description": (str, False)}  # --circumplex_file; the values are checked by CMHLConfig


@dataclass
class CMHLArguments:
    """Every loss weight and setting of CMHLConfig; None keeps the config's default. All three auxiliary
    weights at 0 is the plain fine-tuning baseline."""

    classifier_dropout: float | None = _cmhl_field("classifier_dropout")
    emotion_weight: float | None = _cmhl_field("emotion_weight")
    valence_weight: float | None = _cmhl_field("valence_weight")
    arousal_weight: float | None = _cmhl_field("arousal_weight")
    label_target_weight: float | None = _cmhl_field("label_target_weight")
    valence_target_variance: float | None = _cmhl_field("valence_target_variance")
    arousal_target_variance: float | None = _cmhl_field("arousal_target_variance")
    valence_consistency_weight: float | None = _cmhl_field("valence_consistency_weight")
    valence_consistency_form: str | None = _cmhl_field("valence_consistency_form")
    intensity_definition: str | None = _cmhl_field("intensity_definition")
    dimensional_features: str | None = _cmhl_field("dimensional_features")
    contradiction_weight: float | None = _cmhl_field("contradiction_weight")
    regression_loss: str | None = _cmhl_field("regression_loss")
    contradiction_mode: str | None = _cmhl_field("contradiction_mode")
    contradiction_margin: float | None = _cmhl_field("contradiction_margin")
    contradiction_threshold: float | None = _cmhl_field("contradiction_threshold")
    neutral_contradicts_emotions: bool | None = _cmhl_field("neutral_contradicts_emotions")
    label_smoothing: float | None = _cmhl_field("label_smoothing")
    distillation_schedule: str | None = _cmhl_field("distillation_schedule")
    distillation_gold_weight: float | None = _cmhl_field("distillation_gold_weight")
    distillation_temperature: float | None = _cmhl_field("distillation_temperature")
    circumplex_file: str | None = field(default=None, metadata={
        "help": 'JSON file {"coordinates": {label: [valence, arousal]}, "scale": [low, high], '
                '"incompatible_pairs": [[a, b], ...]} for label sets other than dair-ai\'s.'})

    def config_overrides(self) -> dict:
        overrides = {f.name: getattr(self, f.name) for f in fields(self)
                     if f.name != "circumplex_file" and getattr(self, f.name) is not None}
        if self.circumplex_file:
            spec = read_object(self.circumplex_file, 'circumplex file ({"coordinates": {label: [valence, arousal]}, '
                               '"scale": [low, high], "incompatible_pairs": [[a, b], ...]})', CIRCUMPLEX_FIELDS)
            overrides.update(circumplex_coordinates=spec["coordinates"], circumplex_scale=spec.get("scale", [1, 9]),
                             incompatible_pairs=spec.get("incompatible_pairs"))
        return overrides


@dataclass
class CMHLTrainingArguments(TrainingArguments):
    """The stock TrainingArguments with defaults for this task."""

    output_dir: str | None = field(default="runs/cmhl", metadata={"help": "Where checkpoints and results go."})
    eval_strategy: str = field(default="epoch", metadata={"help": "Evaluate on validation every epoch."})
    save_strategy: str = field(default="epoch", metadata={"help": "Save a checkpoint every epoch."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "Keep the best validation checkpoint."})
    metric_for_best_model: str | None = field(default="macro_f1", metadata={"help": "Validation metric to select on."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept (the best is never deleted)."})
    learning_rate: float | None = field(default=None, metadata={
        "help": "Peak AdamW learning rate. Default: train.py sets it by encoder size (default_learning_rate): 1e-4 below "
                f"{SMALL_ENCODER_PARAMETERS // 10**6}M parameters (validated on MiniLM-L6, BENCHMARKS.md 'Recipe "
                "study'), 2e-5 above (RoBERTa-base and larger; not validated here)."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Batch size per device for training."})
    per_device_eval_batch_size: int = field(default=64, metadata={"help": "Batch size per device for evaluation."})
    num_train_epochs: float = field(default=4.0, metadata={
        "help": "Training epochs (4: the recipe study's choice on validation, MiniLM-L6)."})
    warmup_steps: float = field(default=0.06, metadata={
        "help": "Linear warmup: steps, or below 1 a share of all steps (6%%: RoBERTa's GLUE recipe, Liu et al. 2019; "
                "kept by the recipe study)."})
    logging_steps: float = field(default=50, metadata={"help": "Log the loss and each CMHL term every N steps."})
    bf16: bool | None = field(default=None, metadata={
        "help": "bf16 autocast (fp32 weights, bf16 matrix products). Default: on where the hardware computes bf16 "
                "natively (hardware.bf16_pays: a GPU that supports it, a CPU with AVX-512 BF16 or AMX; 2x per step "
                "on this project's CPU, BENCHMARKS.md 'Training speed'), fp32 elsewhere. --bf16 false: fp32."})
    train_sampling_strategy: str = field(default="group_by_length", metadata={
        "help": "Training batches: 'group_by_length' (default: batches of texts of similar length, shuffled; "
                "transformers' LengthGroupedSampler; 96%% of the tokens a step processes are real against 50%% for "
                "'random', BENCHMARKS.md 'Training speed'), 'random' (the stock Trainer's), 'sequential', "
                "'batch_rebalance'.",
        "choices": ["random", "sequential", "group_by_length", "batch_rebalance"]})
    overwrite_output_dir: bool = field(default=False, metadata={
        "help": "Train into a non-empty --output_dir that holds another run (its checkpoint-* folders are removed, "
                "so that `--resume_from_checkpoint last` can never pick them up). Without it such a folder is refused, "
                "unless this run resumes (--resume_from_checkpoint)."})

    def __post_init__(self):
        for name in ("learning_rate", "num_train_epochs", "weight_decay", "warmup_ratio", "max_grad_norm"):
            value = getattr(self, name, None)
            if isinstance(value, float) and not math.isfinite(value):
                raise DataError(f"--{name}: expected a finite number, got {value}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise DataError(f"--learning_rate: expected a number > 0, got {self.learning_rate}")
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise DataError(f"--{name}: expected a whole number >= 1, got {getattr(self, name)}")
        device = ("cpu" if self.use_cpu else "cuda" if torch.cuda.is_available()
                  else "mps" if torch.backends.mps.is_available() else "cpu")
        if device == "cpu":
            self.dataloader_pin_memory = False  # nothing to pin for: quiets the dataloader's warning on every CPU run
        if self.bf16 is None:  # the default: bf16 where the hardware has the units for it (hardware.py)
            self.bf16 = not self.fp16 and bf16_pays(device)
        if self.bf16 and device == "cpu":
            self.use_cpu = True  # TrainingArguments refuses bf16 without a bf16 GPU unless told it runs on the CPU
        super().__post_init__()


class LossTermLogger(TrainerCallback):
    """Adds each CMHL loss term, averaged over the optimizer steps since the last log, to every training
    log entry. The terms arrive already divided by the examples of the whole step (all micro-batches, all
    processes), so a step's value is their sum over micro-batches and processes."""

    def __init__(self):
        self.sums, self.last_step = {}, 0

    def add(self, terms: dict):
        for name, value in terms.items():
            self.sums[name] = self.sums.get(name, 0.0) + value.detach().float()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "loss" not in logs or not self.sums:
            return
        names = sorted(self.sums)
        totals = torch.stack([self.sums[n] for n in names])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(totals)
        steps = max(state.global_step - self.last_step, 1)
        terms = {f"loss_{n}": round(v / steps, 6) for n, v in zip(names, totals.tolist())}
        logs.update(terms)
        state.log_history[-1].update(terms)
        self.sums, self.last_step = {}, state.global_step


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; training stops before anything is saved from that step."""


class CMHLTrainer(Trainer):
    """Trainer whose only change is `compute_loss`: the model computes the CMHL loss (normalised by
    `num_items_in_batch`, so gradient accumulation and several processes give the loss of one big
    batch), each term goes to `loss_term_logger` so that training logs show it, and a NaN or infinite
    loss stops training (in every process at once) instead of poisoning the next checkpoint."""

    loss_term_logger: LossTermLogger | None = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs = {name: value for name, value in inputs.items() if name != "source_ids"}  # for compute_metrics only
        if model.training and any(name.startswith("teacher_") for name in inputs):  # teacher annealing's clock
            inputs = {**inputs, "training_progress": self.state.global_step / max(self.state.max_steps, 1)}
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training:
            finite = torch.isfinite(loss.detach()).float()
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
            if not finite.item():
                terms = {name: value.item() for name, value in outputs.loss_terms.items()}
                bad = [name for name, value in terms.items() if not math.isfinite(value)] or ["(another process)"]
                raise NonFiniteLossError(f"non-finite loss at training step {self.state.global_step + 1}: term(s) "
                                         f"{bad} (all terms: {terms}); stopped before saving anything from this step")
            if self.loss_term_logger is not None:
                self.loss_term_logger.add(outputs.loss_terms)
        return (loss, outputs) if return_outputs else loss


def check_evaluation_only(model_args: ModelArguments, data_args: DataArguments, training_args) -> bool:
    """Local files without --train_file: evaluate a trained CMHL checkpoint on them, with the metrics and
    figures of a training run (run_glue's --do_eval/--do_predict without --do_train). Anything else that
    lacks training data is an error."""
    if data_args.train_file or not (data_args.validation_file or data_args.test_file):
        return False
    path = model_args.model_name_or_path
    if not is_cmhl_checkpoint(path):
        raise DataError(f"no --train_file: evaluation alone needs a trained CMHL checkpoint as --model_name_or_path, "
                        f"and {path} is not one (its config.json has no CMHL auto_map); give --train_file to train")
    if training_args.push_to_hub:
        raise DataError("no --train_file: nothing is trained, so there is nothing to --push_to_hub")
    if data_args.transfer_file:
        raise DataError("no --train_file: nothing is trained, so --transfer_file's texts would go unused; leave it out")
    return True


def trained_heads(config, train) -> list[str]:
    """The heads this run trains (CMHLConfig.trained_heads): the emotion head from labels or an emotion teacher
    (`teacher_probs`); the valence and arousal heads, each with weight > 0, from its own ratings (--affect_file,
    --lexicon_file for valence, valence / arousal columns of the training file), an affect teacher, or the labels'
    circumplex points (--label_target_weight > 0). A head with nothing to learn is left untrained and the log says
    how to train it; the checkpoint then leaves its outputs out (predict.py, app.py, card, ONNX)."""
    heads = ["emotion"] if config.emotion_weight > 0 else []
    for name in ("valence", "arousal"):
        if getattr(config, f"{name}_weight") > 0 and (
                config.label_target_weight > 0 or f"teacher_{name}" in train.column_names
                or not all(math.isnan(value) for value in train[f"{name}_labels"])):
            heads.append(name)
    untaught = [name for name in ("valence", "arousal") if name not in heads]
    if untaught:
        logger.warning(f"the {' and '.join(untaught)} head(s) stay untrained: no {'/'.join(untaught)} ratings in the "
                       "training data. To train them, give --affect_file (texts rated for valence and arousal, e.g. "
                       "EmoBank; README 'Train'), --affect_teacher, or --label_target_weight 1 for the labels' "
                       "circumplex points. The checkpoint records this: its tools leave those outputs out.")
    return heads


def set_target_variances(config, train, cmhl_args) -> None:
    """Each regression term is divided by the variance of its training ratings (CMHLConfig.valence_target_variance):
    set from the rated rows of this run unless given as an argument; unchanged (a continued checkpoint keeps its
    own) when the run has no ratings."""
    for name in ("valence", "arousal"):
        field_name = f"{name}_target_variance"
        ratings = np.array(train[f"{name}_labels"], dtype=np.float64)
        ratings = ratings[~np.isnan(ratings)]
        if len(ratings) == 0 and f"teacher_{name}" in train.column_names:  # no gold: the teachers' values
            ratings = np.array(train[f"teacher_{name}"], dtype=np.float64)
        if getattr(cmhl_args, field_name) is None and len(ratings) > 1 and ratings.var() > 0:
            setattr(config, field_name, round(float(ratings.var()), 6))
            logger.info(f"{field_name} = {getattr(config, field_name)} (from {len(ratings)} rated training rows)")


def is_cmhl_checkpoint(path: str) -> bool:
    """A CMHL checkpoint's config.json is its encoder's with CMHL's auto_map added (configuration_cmhl.py)."""
    config_dict, _ = PretrainedConfig.get_config_dict(path)
    return str((config_dict.get("auto_map") or {}).get("AutoConfig", "")).endswith("configuration_cmhl.CMHLConfig")


def checkpoint_labels(path: str) -> list[str] | None:
    """The label names of a CMHL checkpoint; None for a plain encoder."""
    return CMHLConfig.from_pretrained(path).label_names if is_cmhl_checkpoint(path) else None


def default_learning_rate(model) -> float:
    """1e-4 for an encoder under SMALL_ENCODER_PARAMETERS: the recipe study's choice on validation for MiniLM-L6
    (BENCHMARKS.md "Recipe study": 4 epochs, 6% warmup, batch 32). 2e-5 for larger ones: not validated here (no
    GPU); the middle of RoBERTa's GLUE range (1e-5 to 3e-5, Liu et al. 2019) and the rate of the public
    dair-ai/emotion BERT and RoBERTa-base models (bhadresh-savani's cards: 8 epochs at batch 64, the same 2,000
    steps as 4 epochs at batch 32)."""
    return 1e-4 if model.num_parameters() < SMALL_ENCODER_PARAMETERS else 2e-5


def build_model(model_args: ModelArguments, cmhl_args: CMHLArguments, label_names: list[str]):
    """A CMHL checkpoint continues (with a new emotion head if the labels differ); any other encoder
    starts through `from_backbone`."""
    overrides = cmhl_args.config_overrides()
    labels = {"id2label": dict(enumerate(label_names)), "label2id": {n: i for i, n in enumerate(label_names)}}
    path = model_args.model_name_or_path
    if not is_cmhl_checkpoint(path):
        return CMHLForSequenceClassification.from_backbone(path, **labels, **overrides)
    checkpoint_labels = CMHLConfig.from_pretrained(path).label_names
    alike = [(n, c) for n in label_names for c in checkpoint_labels if n != c and n.strip().casefold() == c.casefold()]
    if alike:
        raise DataError(f"--class_names: {alike[0][0]!r} differs from {path}'s label {alike[0][1]!r} only by case or "
                        "spaces; labels are matched by name, so write them as the checkpoint does")
    if checkpoint_labels == label_names:
        return CMHLForSequenceClassification.from_pretrained(path, **overrides)
    # Other labels, or the same in another order: the head's rows follow the names (carry_emotion_head), never
    # the positions; a label new to the checkpoint gets a freshly initialised row.
    source = CMHLForSequenceClassification.from_pretrained(path)
    kept = source.config.circumplex_coordinates or {}
    coordinates = ({n: kept[n] for n in label_names} if all(n in kept for n in label_names)
                   else {n: list(DEFAULT_COORDINATES[n]) for n in label_names}
                   if all(n in DEFAULT_COORDINATES for n in label_names)
                   else None)
    pairs = source.config.incompatible_pairs
    pairs = [p for p in pairs if set(p) <= set(label_names)] if pairs is not None else None
    overrides = {"circumplex_coordinates": coordinates, "incompatible_pairs": pairs, **overrides, **labels}
    model = CMHLForSequenceClassification.from_pretrained(path, ignore_mismatched_sizes=True, **overrides)
    carried = carry_emotion_head(source, model)
    logger.warning(f"{path}: labels {checkpoint_labels} -> {label_names}; emotion-head rows carried over by name: "
                   f"{carried or 'none'}; newly initialised: {[n for n in label_names if n not in carried] or 'none'}")
    return model


def tokenize(splits: dict, tokenizer, data_args: DataArguments, training_args) -> dict:
    """Truncate at --max_seq_length; padding is left to the collator (dynamic, per batch)."""
    max_length = min(data_args.max_seq_length, tokenizer.model_max_length)
    tokenized = {}
    with training_args.main_process_first(desc="tokenizing"):
        for split, dataset in splits.items():
            tokenized[split] = dataset.map(lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
                                           batched=True, remove_columns=["text"], desc=f"tokenizing {split}")
    return tokenized


def write_card(trainer, tokenizer, model_args, data_args, training_args, eval_metrics, test_metrics,
               figures: dict) -> Path:
    """The model card, with widget outputs predicted by the trained model itself, in float32 as the Hub serves it
    (a bf16 run's model comes out of Trainer with its forward wrapped in autocast: unwrapped here)."""
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=model.device)
    state = trainer.state
    summary = (f"`train.py` with the stock Trainer: {state.global_step} optimizer steps ({state.epoch:.2f} epochs over "
               f"{len(trainer.train_dataset)} examples), batch "
               f"{training_args.per_device_train_batch_size} per device x {training_args.gradient_accumulation_steps} "
               f"accumulation x {training_args.world_size} process(es), learning rate {training_args.learning_rate}, "
               f"max length {data_args.max_seq_length}, seed {training_args.seed}.")
    name = training_args.hub_model_id or Path(training_args.output_dir).name
    base_model = model_args.base_model or model_args.model_name_or_path
    return write_model_card(training_args.output_dir, model_name=name, base_model=base_model,
                            dataset_name=data_args.dataset_name, license=model_args.model_license,
                            config=trainer.model.config, eval_metrics=eval_metrics, test_metrics=test_metrics,
                            widget=widget_examples(classifier), training_summary=summary,
                            figures={key: path.name for key, path in figures.items()},
                            affect_source=Path(data_args.affect_file).name if data_args.affect_file else None,
                            lexicon_source=Path(data_args.lexicon_file).name if data_args.lexicon_file else None,
                            corpora=corpus_descriptions(data_args, trainer.model.config.label_names),
                            teachers=teacher_sentence(data_args, trainer.model.config))


def teacher_sentence(data_args: DataArguments, config) -> str | None:
    """The card's word on distillation: which teachers' targets the model learned, and from which texts."""
    kinds = [f"{kind} from {', '.join(f'`{Path(p).name}`' for p in paths)}" for kind, paths in
             (("emotion", data_args.emotion_teacher), ("valence and arousal", data_args.affect_teacher)) if paths]
    if not kinds:
        return None
    transfer = (f", and on the unlabelled texts of `{Path(data_args.transfer_file).name}` (a transfer set) from the "
                "teachers alone" if data_args.transfer_file else "")
    return (f"It learned its teachers' targets ({'; '.join(kinds)}; born-again multi-task, Clark et al. 2019), mixed "
            f"with the gold labels ({config.distillation_schedule} schedule) on every training text{transfer}.")


def warn_about_cpu_threads() -> None:
    """On a CPU, a step is fastest with one thread per core that nothing else uses (BENCHMARKS.md "Training speed").
    Say so, with the fix, when this run has fewer threads than free cores (`accelerate launch --cpu` pins one thread
    unless given --num_cpu_threads_per_process) or more (other processes busy on the cores)."""
    if torch.cuda.is_available():
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    threads = torch.get_num_threads()
    used, busy = cores_used_by_others()
    free = max(1, int(cores - used + 0.5) // processes)
    if threads > free:
        logger.warning(f"other processes are using about {used:.1f} of the {cores} cores ({', '.join(busy)}): with "
                       f"{threads} threads each step waits for the thread that shares a core (measured: 3.1x slower "
                       f"per step with one of 2 cores busy). Stop them, or run with OMP_NUM_THREADS={free}; timings "
                       "taken now are not this machine's speed")
    elif threads == 1 and cores // processes > 1:
        logger.warning(f"training on 1 CPU thread of {cores} cores (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
                       "as `accelerate launch --cpu` sets it): add `--num_cpu_threads_per_process "
                       f"{cores // processes}` to the launcher, or run `python train.py ...`")


def class_names(value: str) -> list[str]:
    """--class_names "a, b,c" -> ["a", "b", "c"]: names stripped; an empty or repeated name is an error."""
    names = [name.strip() for name in value.split(",")]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise DataError(f"--class_names: expected distinct, non-empty names separated by commas, got {value!r}")
    return names


def run_record(model_args, data_args, cmhl_args, training_args, files: dict, label_names: list[str]) -> dict:
    """What this run is (run_checks.check_run_record): what it reads, by content, and every setting that changes
    its result. Where it writes, how often it logs or saves, and the device are left out."""
    training = ("seed", "data_seed", "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
                "gradient_accumulation_steps", "warmup_steps", "weight_decay", "lr_scheduler_type", "max_grad_norm",
                "adam_beta1", "adam_beta2", "adam_epsilon", "optim", "bf16", "fp16", "label_smoothing_factor",
                "metric_for_best_model", "greater_is_better", "eval_strategy", "train_sampling_strategy",
                "load_best_model_at_end", "neftune_noise_alpha")  # the last two decide the final weights too
    data = {key: value for key, value in asdict(data_args).items()
            if key not in ("emotion_teacher", "affect_teacher", "teacher_cache_dir", "train_file", "validation_file",
                           "test_file", *EXTRA_FILES, "max_predict_samples", "corpus", "corpus_dir")}
    # Test files too: they decide which rows --drop_test_overlap leaves out (and whether the overlap check passes)
    corpora = [{"name": c.name, "train": source_content(c.train), "validation": source_content(c.validation),
                "test": source_content(c.test), "mapping": content(c.mapping), "proportion": c.proportion,
                "holdout": c.holdout}
               for c in parsed_corpora(data_args)]
    return {"model": content(model_args.model_name_or_path), "tokenizer": content(model_args.tokenizer_name),
            "train_file": content(files["train"]), "validation_file": content(files["validation"]),
            "corpora": corpora, "affect_file": content(data_args.affect_file),
            "lexicon_file": content(data_args.lexicon_file), "transfer_file": content(data_args.transfer_file),
            "circumplex_file": content(cmhl_args.circumplex_file),
            "emotion_teacher": [content(p) for p in data_args.emotion_teacher or []],
            "affect_teacher": [content(p) for p in data_args.affect_teacher or []],
            "labels": label_names, "cmhl": {k: v for k, v in asdict(cmhl_args).items() if k != "circumplex_file"},
            "data": data, "training": {k: str(getattr(training_args, k, None)) for k in training},
            "world_size": training_args.world_size}


def parse_arguments(argv: list[str]):
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        # Several processes and no GPU (torchrun, accelerate launch): TrainingArguments must set up
        # CPU DDP (gloo), and it reads this before any flag could be changed.
        os.environ.setdefault("ACCELERATE_USE_CPU", "true")
    parser = HfArgumentParser((ModelArguments, DataArguments, CMHLArguments, CMHLTrainingArguments))
    bf16 = parser._option_string_actions["--bf16"]  # default None (= by hardware): HfArgumentParser then wants a
    bf16.nargs, bf16.const = "?", True              # value; a bare --bf16 means true, as for the stock flag
    if argv and argv[0].endswith((".json", ".yaml", ".yml")):  # a recipe: its settings, then the flags after it
        argv = apply_recipe(parser, argv[0], argv[1:])
    try:
        return parser.parse_args_into_dataclasses(argv)
    except DataError:
        raise
    except ValueError as error:  # HfArgumentParser: arguments no dataclass takes
        renamed = [f"{old} is now {new}" for old, new in RENAMED_ARGUMENTS.items() if old in argv]
        raise DataError(f"{error}{'; ' + '; '.join(renamed) if renamed else ''} (python train.py --help lists every "
                        "argument)") from None


def apply_recipe(parser: HfArgumentParser, path: str, flags: list[str]) -> list[str]:
    """A recipe file (recipes/*.yaml, or any JSON/YAML object of train.py arguments) becomes the parser's defaults,
    so that every flag given after it wins (HF's args files, run_glue: `train.py recipe.yaml --output_dir x`). A
    list argument given as a flag replaces the recipe's whole list (--corpus: every corpus then comes from the
    flags). A key that is no argument is an error naming the file; so is a flag that contradicts the recipe's kind
    of data (--train_file beside a recipe's corpora: load_corpus_splits says so)."""
    settings = read_object(path, "train.py recipe ({\"argument\": value, ...})")
    actions = {action.dest: action for action in parser._actions}
    unknown = sorted(key for key in settings if key not in actions or key == "help")
    if unknown:
        raise DataError(f"{path}: {unknown} are not train.py arguments (python train.py --help lists them)")
    for key, value in settings.items():
        action = actions[key]
        if value is not None and action.type is not None and not isinstance(value, (list, dict)):
            try:  # the flag's own conversion, so that '5e-5' in YAML (a string there) is a number here
                value = action.type(value) if isinstance(value, str) else value
            except (TypeError, ValueError):
                raise DataError(f"{path}: {key}: {value!r} is not a valid value for --{key}") from None
        action.default, action.required = value, False
    return flags


# Arguments of earlier versions: the old intensity head was an arousal head; intensity is now read from both heads.
RENAMED_ARGUMENTS = {"--intensity_weight": "--arousal_weight (intensity is read from valence and arousal)"}


def main(argv: list[str]) -> dict:
    model_args, data_args, cmhl_args, training_args = parse_arguments(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
                        if training_args.should_log else logging.WARNING)
    check_hub_reachable(model_args, data_args)
    check_corpus_settings(data_args)
    fetch_data_files(data_args)
    warn_about_cpu_threads()
    set_seed(training_args.seed)
    training_args.label_names = LABEL_NAMES

    # ---- data: read and check every row before anything trains ----
    files = {"train": data_args.train_file, "validation": data_args.validation_file, "test": data_args.test_file}
    evaluation_only = check_evaluation_only(model_args, data_args, training_args)
    wanted = class_names(data_args.class_names) if data_args.class_names else checkpoint_labels(model_args.model_name_or_path)
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples,
              "test": data_args.max_predict_samples}
    affect, lexicon = read_rated(data_args)  # read first: their texts join the test-overlap check below
    transfer = read_transfer(data_args)
    rated = [TextSplit("--affect_file", split, data_args.affect_file, list(dataset["text"])) for split, dataset in
             affect.items()] + ([TextSplit("--lexicon_file", "train", data_args.lexicon_file, list(lexicon["text"]))]
                                if lexicon is not None else []) + (
        [TextSplit("--transfer_file", "train", data_args.transfer_file, list(transfer["text"]))]
        if transfer is not None else [])
    if data_args.corpus:
        splits, source_names, label_names = load_corpus_splits(data_args, wanted, limits, training_args.seed, rated)
    else:
        splits, label_names = load_splits(files, data_args.dataset_name, wanted, data_args.drop_invalid_rows,
                                          logger.warning, require_train=not evaluation_only, limits=limits)
        if "train" in splits:  # one check of every text that trains against every other source's test split
            own = [TextSplit("--train_file", split, files[split] or f"{data_args.dataset_name} ({split})",
                             list(dataset["text"])) for split, dataset in splits.items()]
            check_test_overlap(own + rated, data_args.drop_test_overlap, logger.info)
            splits = {split.split: kept(splits[split.split], split.keep) for split in own}
        splits, source_names = {split: with_source(dataset, 0) for split, dataset in splits.items()}, None
    affect = {split.split: kept(affect[split.split], split.keep) for split in rated if split.group == "--affect_file"}
    one_split = {split.group: split.keep for split in rated if split.group != "--affect_file"}  # words, transfer
    lexicon = kept(lexicon, one_split["--lexicon_file"]) if lexicon is not None else None
    transfer = kept(transfer, one_split["--transfer_file"]) if transfer is not None else None
    if "validation" not in splits:
        raise DataError("no validation split: give --validation_file (model selection needs one)")
    if affect:  # rated text: trains the valence / arousal heads, evaluated beside the emotion data
        affect = {split: with_source(dataset, -1) for split, dataset in affect.items()}
        if "train" in splits:
            splits["train"] = mix(splits["train"], affect.pop("train"), data_args.affect_proportion, training_args.seed)
        splits.update({f"affect_{split}": dataset for split, dataset in affect.items() if split != "train"})
    if lexicon is not None and "train" in splits:  # rated words: valence-only training rows
        splits["train"] = mix(splits["train"], with_source(lexicon, -1), None, training_args.seed)
    if transfer is not None and "train" in splits:  # unlabelled: the teachers' targets alone (add_teacher_columns)
        splits["train"] = mix(splits["train"], with_source(transfer, -1), None, training_args.seed)

    needs = ("config", "weights") if model_args.tokenizer_name else ("config", "weights", "tokenizer")
    check_save(model_args.model_name_or_path, needs)  # one whole save (saves.py), before anything reads its weights
    check_teachers(data_args.emotion_teacher, data_args.affect_teacher, label_names)
    corpus_files = [path for corpus in parsed_corpora(data_args) for path in corpus.files()]
    inputs = [model_args.model_name_or_path, model_args.tokenizer_name, *files.values(), *corpus_files,
              cmhl_args.circumplex_file,
              data_args.affect_file, data_args.lexicon_file, data_args.transfer_file,
              *(data_args.emotion_teacher or []),
              *(data_args.affect_teacher or [])]
    with training_args.main_process_first(desc="checking the output folder"):
        output = claim_output_dir(training_args, inputs)
    main_process = training_args.process_index == 0
    with output if main_process else contextlib.nullcontext():  # the folder's lock, held by the main process to the end
        if main_process:
            remove_previous_run(output, training_args)
        return train_and_evaluate(model_args, data_args, cmhl_args, training_args, splits, label_names, files,
                                  evaluation_only, source_names)


EXTRA_FILES = ("affect_file", "lexicon_file", "transfer_file")  # training texts beside the corpora, one file each


def check_corpus_settings(data_args: DataArguments) -> None:
    """Settings of several corpora given without --corpus would change nothing: an error, never silently ignored."""
    if data_args.corpus:
        return
    unused = [flag for flag, value in (("--epoch_size", data_args.epoch_size),
                                       ("--drop_test_overlap", data_args.drop_test_overlap
                                        and not any(getattr(data_args, name) for name in EXTRA_FILES))) if value]
    recipe_sources = any(isinstance(getattr(data_args, name), dict) for name in EXTRA_FILES)
    if data_args.corpus_dir is not None and not recipe_sources:
        unused.append("--corpus_dir")
    if unused:
        raise DataError(f"{' and '.join(unused)} apply to several corpora (--corpus, or a recipe's corpus list) and "
                        "there are none here; leave them out, or give the corpora")


def read_transfer(data_args: DataArguments):
    """--transfer_file's texts (a Dataset, or None without one); refused without a teacher to label them."""
    if not data_args.transfer_file:
        return None
    if not (data_args.emotion_teacher or data_args.affect_teacher):
        raise DataError(f"--transfer_file {data_args.transfer_file}: unlabelled texts train only on teachers' targets; "
                        "give --emotion_teacher and/or --affect_teacher, or leave it out")
    columns = [c.strip() for c in data_args.transfer_columns.split(",")] if data_args.transfer_columns else None
    transfer = load_transfer(data_args.transfer_file, data_args.transfer_text_column, columns,
                             data_args.max_transfer_samples)
    logger.info(f"--transfer_file: {len(transfer)} unlabelled texts for the teachers to label")
    return transfer


def read_rated(data_args: DataArguments):
    """--affect_file's splits ({split: Dataset}, {} without one) and --lexicon_file's words (a Dataset or None)."""
    affect = {}
    if data_args.affect_file:
        affect = load_affect(data_args.affect_file, data_args.affect_spec(),
                             {split: data_args.max_affect_samples for split in ("train", "validation", "test")})
    lexicon = None
    if data_args.lexicon_file:
        lexicon, report = load_lexicon(data_args.lexicon_file, data_args.lexicon_spec())
        logger.info(report)
    return affect, lexicon


def kept(dataset, keep):
    """`dataset` with the rows `keep` (corpora.check_test_overlap's mask) marks; itself when every row stays."""
    if keep is None or keep.all():
        return dataset
    return dataset.select(np.flatnonzero(keep).tolist())


def fetch_data_files(data_args: DataArguments) -> None:
    """EXTRA_FILES may be pinned URLs (sources.py) or a recipe's {source, local}: each becomes the local file to read
    (a verified download in the cache, or the copy under --corpus_dir)."""
    for name in EXTRA_FILES:
        value = getattr(data_args, name)
        if value is None:
            continue
        source = Source.parse(local_choice(value, data_args.corpus_dir, f"--{name}"), f"--{name}")
        if source.hub:
            raise DataError(f"--{name} {source}: expected a file (a path or an https:// URL with its sha256); Hub "
                            "data set splits are read by --corpus")
        setattr(data_args, name, str(source.local_path()))


def load_corpus_splits(data_args: DataArguments, wanted: list[str] | None, limits: dict, seed: int,
                       rated: list | None = None):
    """--corpus: every corpus read, mapped and checked (corpora.load_corpora); one epoch's training mix; the
    validation and test splits of the corpora one after another. Returns (splits, corpus names, label names)."""
    if any((data_args.train_file, data_args.validation_file, data_args.test_file)):
        raise DataError("--corpus replaces --train_file/--validation_file/--test_file: give the files of every "
                        "corpus in its --corpus argument (train=..., validation=..., test=...)")
    if data_args.drop_invalid_rows:
        raise DataError("--drop_invalid_rows is for --train_file; with --corpus a bad row stops the run, naming it")
    corpora = parsed_corpora(data_args)
    label_names = list(wanted or DAIR_AI_LABELS)
    columns = load_corpora(corpora, label_names, data_args.drop_test_overlap, logger.info, limits, rated)
    splits = corpus_datasets(columns)
    splits["train"] = epoch_mix(splits["train"], corpora, data_args.epoch_size, seed, logger.info, label_names)
    return splits, [corpus.name for corpus in corpora], label_names


def parsed_corpora(data_args: DataArguments) -> list[Corpus]:
    """--corpus (or a recipe's corpora), each parsed, local copies chosen under --corpus_dir."""
    return [Corpus.parse(value, data_args.corpus_dir) for value in data_args.corpus or []]


def source_content(source: Source | None):
    """What a run record keeps of a source: a local file's sha256, a URL's pinned sha256, a Hub split's name."""
    if source is None:
        return None
    return content(source.path) if source.path is not None else source.identity()


def corpus_descriptions(data_args: DataArguments, label_names: list[str]) -> list[dict]:
    """For the model card: each corpus's name, citation, licence and mapping file (corpora.LabelMapping)."""
    described = []
    for corpus in parsed_corpora(data_args):
        mapping = LabelMapping(corpus.mapping, label_names)
        described.append({"name": corpus.name, "corpus": mapping.corpus or corpus.name, "license": mapping.license,
                          "mapping": corpus.mapping.name, "proportion": corpus.proportion,
                          "source": corpus.published})
    return described


def train_and_evaluate(model_args, data_args, cmhl_args, training_args, splits: dict, label_names: list[str],
                       files: dict, evaluation_only: bool, source_names: list[str] | None) -> dict:
    """Everything after the checks, with --output_dir claimed: the resume, model, Trainer, metrics and card."""
    resume = None if evaluation_only else resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
    if resume:
        check_checkpoint_labels(resume, label_names)
    record = None if evaluation_only else run_record(model_args, data_args, cmhl_args, training_args, files,
                                                      label_names)
    check_run_record(resume, record)  # a resume must be the same work

    # ---- model and tokenizer ----
    try:
        model = build_model(model_args, cmhl_args, label_names)
    except ValueError as error:
        if not str(error).startswith("CMHLConfig."):
            raise
        raise DataError(f"{error} (set it with the CMHL arguments, see --help)") from error
    if resume:
        check_checkpoint_shapes(resume, model)
    if training_args.learning_rate is None:
        training_args.learning_rate = default_learning_rate(model)
        logger.info(f"learning rate {training_args.learning_rate} (default for {model.num_parameters() / 1e6:.1f}M "
                    "parameters; --learning_rate sets it)")
    if not evaluation_only:
        if data_args.emotion_teacher or data_args.affect_teacher:  # every training text scored once, here
            splits["train"] = add_teacher_columns(
                splits["train"], data_args.emotion_teacher, data_args.affect_teacher, label_names,
                model.config.distillation_temperature, data_args.max_seq_length, data_args.teacher_cache_dir,
                "bf16" if training_args.bf16 else "fp32")
        model.config.trained_heads = trained_heads(model.config, splits["train"])
        if model.config.no_emotion_threshold is not None:  # chosen for the weights this run changes
            logger.warning(f"{model_args.model_name_or_path}: its no-emotion threshold was chosen for its own weights; "
                           "this run's model starts uncalibrated (calibrate it again with no_emotion.py)")
            model.config.no_emotion_mix, model.config.no_emotion_threshold = 1.0, None
        set_target_variances(model.config, splits["train"], cmhl_args)
    tokenizer = load_tokenizer(model_args.tokenizer_name or model_args.model_name_or_path,
                               "--tokenizer_name" if model_args.tokenizer_name else "--model_name_or_path")
    tokenized = tokenize(splits, tokenizer, data_args, training_args)
    if training_args.should_save and not evaluation_only:  # checkpoint pushes upload output_dir: code files first
        if not resume or Path(resume).parent.resolve() != Path(training_args.output_dir).resolve():
            write_run_record(training_args.output_dir, record)  # every check passed: the run is what it records
        custom_object_save(model, training_args.output_dir, config=model.config)

    # ---- Trainer ----
    term_logger = LossTermLogger()
    if source_names and training_args.metric_for_best_model == "macro_f1":  # several corpora: their mean (cmhl_metric)
        training_args.metric_for_best_model = "mean_source_macro_f1"
    eval_dataset = tokenized["validation"]
    if "affect_validation" in tokenized:  # Trainer evaluates both every epoch: eval_emotion_*, eval_affect_*
        eval_dataset = {"emotion": tokenized["validation"], "affect": tokenized["affect_validation"]}
        if not training_args.metric_for_best_model.startswith(("emotion_", "affect_", "eval_")):
            training_args.metric_for_best_model = f"emotion_{training_args.metric_for_best_model}"
    trainer = CMHLTrainer(
        model=model, args=training_args, train_dataset=tokenized.get("train"), eval_dataset=eval_dataset,
        processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=CMHLMetrics(model.config, source_names),
    )
    trainer.loss_term_logger = term_logger
    trainer.callback_handler.callbacks.insert(0, term_logger)  # first, so printers and trackers see the terms

    results = {"world_size": training_args.world_size}
    if not evaluation_only:
        train_result = trainer.train(resume_from_checkpoint=resume)
        trainer.save_model()
        if trainer.is_world_process_zero():
            write_manifest(training_args.output_dir)  # the save's parts by content, checked by every loader
        results = {**train_result.metrics, **results}
        trainer.save_metrics("train", results)

    # ---- metrics: best checkpoint on validation, then test once ----
    eval_metrics = trainer.evaluate(tokenized["validation"])
    if "affect_validation" in tokenized:
        eval_metrics.update(trainer.evaluate(tokenized["affect_validation"], metric_key_prefix="eval_affect"))
    trainer.save_metrics("eval", eval_metrics)
    test_metrics = None
    if "test" in tokenized:
        final = trainer.predict(tokenized["test"], metric_key_prefix="test")
        test_metrics = final.metrics
        if "affect_test" in tokenized:
            test_metrics.update(trainer.predict(tokenized["affect_test"], metric_key_prefix="test_affect").metrics)
        trainer.save_metrics("test", test_metrics)
    else:
        final = trainer.predict(tokenized["validation"], metric_key_prefix="eval")
    figures = {}
    if trainer.is_world_process_zero():  # before any push, so that the figures go up with the model
        logits, valence, arousal = final.predictions[:3]
        figures = write_figures(training_args.output_dir, softmax(logits.astype(np.float64)), valence, arousal,
                                final.label_ids[0], trainer.model.config, "test" if test_metrics else "validation")

    # ---- push and card (push_to_hub writes Trainer's generated card: ours replaces it afterwards) ----
    if evaluation_only:  # nothing was trained: metrics and figures only, no model, no card
        return {**results, **eval_metrics, **(test_metrics or {})}
    if training_args.push_to_hub:
        trainer.push_to_hub(commit_message="End of training")
    if trainer.is_world_process_zero():
        card = write_card(trainer, tokenizer, model_args, data_args, training_args, eval_metrics, test_metrics,
                          figures)
        if training_args.push_to_hub:
            upload_file(path_or_fileobj=str(card), path_in_repo="README.md", repo_id=trainer.hub_model_id,
                        token=training_args.hub_token, commit_message="CMHL model card")
    return {**results, **eval_metrics, **(test_metrics or {})}


def interrupted_advice(argv: list[str]) -> str:
    """What Ctrl-C leaves, read from --output_dir now: a finished training (its model is saved: evaluate it), saved
    epochs (resume them), or nothing yet (start again). Advice only for what works."""
    try:
        output_dir = Path(parse_arguments(argv)[-1].output_dir)
    except (DataError, SystemExit):
        return "nothing was trained"
    if any((output_dir / mark).is_file() for mark in FINISHED_MARKS):
        return (f"training had finished and its model is saved in {output_dir}; to evaluate it, run train.py with "
                f"--model_name_or_path {output_dir}, the --validation_file/--test_file, no --train_file, and a new "
                "--output_dir")
    if any(is_complete_checkpoint(path) for path in output_dir.glob("checkpoint-*")):
        return "every epoch saved so far is kept; run the same command with --resume_from_checkpoint last to continue"
    return "no checkpoint was saved yet; run the same command to start again"


def cli(argv: list[str] | None = None) -> None:
    """The command line: entry.run's one-line errors (exit 2), Ctrl-C advice (exit 130), a non-finite loss (exit 3)."""
    arguments = sys.argv[1:] if argv is None else [str(a) for a in argv]
    entry.run(lambda: main(arguments) and None, interrupted=lambda: interrupted_advice(arguments),
              failures={NonFiniteLossError: 3}, writing=lambda: entry.flag_value(arguments, "--output_dir"))


if __name__ == "__main__":
    cli()
