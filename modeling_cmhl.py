"""CMHL: one encoder with its stock classification head (emotion) and two more heads (valence, arousal).

    input_ids (B, T) -> the encoder family's stock ...ForSequenceClassification        logits (B, L)
                          (BERT: first token, dense, tanh, dropout, linear; RoBERTa alike)
        features (B, F) = what enters that head's last linear layer (after its dropout), or with
                          config.dimensional_features "mean_tokens" the mean of the last hidden states (B, H)
        -> tanh(valence_head(features))       valence    (B,)  in [-1, 1]
        -> sigmoid(arousal_head(features))    arousal    (B,)  in [0, 1]
        -> circumplex_intensity(valence, arousal)  intensity (B,) in [0, 1]: distance from the neutral centre

The stock classifier's modules are this model's own children under their stock names (`bert.*`,
`classifier.*`, ...), so a CMHL checkpoint is also a stock checkpoint of the emotion classifier:
`AutoModelForSequenceClassification.from_pretrained(path)` without custom code reads it and drops only
`valence_head.*` / `arousal_head.*` (README, "Serving"). With all auxiliary weights at 0, training is
exactly stock fine-tuning. Elgabry, Hamdi & Shaban, "Contrastive Multi-Head Learning for Emotionally
Consistent Text Classification", arXiv 2603.14078 (abstract only public).
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING
from transformers.utils import ModelOutput, logging

try:  # relative imports: save_pretrained copies these files next to this one (trust_remote_code)
    from .configuration_cmhl import CMHLConfig
    from .loss import CMHLLoss, cmhl_loss, incompatibility_matrix, teacher_annealing
except ImportError:  # imported as a top-level module, e.g. by train.py
    from configuration_cmhl import CMHLConfig
    from loss import CMHLLoss, cmhl_loss, incompatibility_matrix, teacher_annealing

logger = logging.get_logger(__name__)


@dataclass
class CMHLOutput(ModelOutput):
    """Output of [`CMHLForSequenceClassification`].

    loss: () weighted CMHL loss, when `labels` are given.
    logits: (B, L) emotion logits; softmax gives the emotion probabilities.
    valence: (B,) predicted valence in [-1, 1] (negative = unpleasant, 0 neutral).
    arousal: (B,) predicted arousal in [0, 1] (0 calm, 0.5 neutral, 1 excited).
    intensity: (B,) how strongly the text feels, in [0, 1], read from valence and arousal as
        `config.intensity_definition` says (default: distance from the circumplex's neutral centre).
    no_emotion: (B,) the "no clear emotion" score in [0, 1] (`no_emotion_score` with `config.no_emotion_mix`);
        the text is flagged when it is >= `config.no_emotion_threshold` (a calibrated checkpoint).
    loss_terms: each unweighted loss term by name, when `labels` are given.
    hidden_states / attentions: the encoder's, when asked for.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    valence: torch.FloatTensor | None = None
    arousal: torch.FloatTensor | None = None
    intensity: torch.FloatTensor | None = None
    no_emotion: torch.FloatTensor | None = None
    loss_terms: dict[str, torch.Tensor] | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


def circumplex_intensity(valence: torch.Tensor, arousal: torch.Tensor, definition: str = "circumplex_distance"):
    """Intensity in [0, 1] from valence in [-1, 1] and arousal in [0, 1] (CMHLConfig.intensity_definition):
    "circumplex_distance": sqrt(v^2 + (2a - 1)^2) / sqrt(2), the distance from the neutral centre (0, 0.5),
    reaching 1 at the circle's corners; "arousal": a.   valence, arousal: (B,) -> (B,)"""
    if definition == "arousal":
        return arousal
    return torch.sqrt(valence.float() ** 2 + (2 * arousal.float() - 1) ** 2 + 1e-12) / 2 ** 0.5


def no_emotion_score(probabilities: torch.Tensor, intensity: torch.Tensor, mix: float = 1.0,
                     neutral_index: int | None = None) -> torch.Tensor:
    """How little emotion a text shows, in [0, 1] (CMHLConfig.no_emotion_mix = w):
    w * u + (1 - w) * (1 - intensity), with u = p_neutral for a model with a `neutral` label (its own answer to the
    question) and u = 1 - max_k p_k otherwise (the maximum-softmax-probability baseline, Hendrycks & Gimpel 2017);
    w = 0 is the distance from the circumplex's neutral centre alone.   probabilities: (B, L), intensity: (B,) -> (B,)"""
    probabilities = probabilities.float()
    unsure = probabilities[:, neutral_index] if neutral_index is not None else 1 - probabilities.amax(-1)  # (B,)
    if mix >= 1:  # intensity may be untrained (or NaN, from a stock classifier): never let it in
        return unsure
    return mix * unsure + (1 - mix) * (1 - intensity.float())


def no_emotion_flags(probabilities: torch.Tensor, score: torch.Tensor, threshold: float | None,
                     neutral_index: int | None) -> torch.Tensor | None:
    """(B,) bool "no clear emotion": score >= threshold for a checkpoint calibrated by no_emotion.py; else, for a model
    with a `neutral` label, `neutral` is its top label (no calibration needed: the widget shows the same answer);
    None when neither holds.   probabilities: (B, L), score: (B,)"""
    if threshold is not None:
        return score >= threshold
    if neutral_index is not None:
        return probabilities.argmax(-1) == neutral_index
    return None


def _build_stock_classifier(encoder_config) -> PreTrainedModel:
    """The encoder family's own `...ForSequenceClassification`, built on the very config object (so that
    attention-implementation and dtype settings made on the CMHL config reach it)."""
    try:
        classifier_class = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(encoder_config)]
    except KeyError:
        raise ValueError(f"CMHLConfig.encoder_config: expected an encoder with a stock sequence-classification "
                         f"class, got model_type {encoder_config.model_type!r}") from None
    return classifier_class(encoder_config)


def _last_linear(classifier: PreTrainedModel, num_labels: int) -> str:
    """Name of the head's last linear layer, the one producing the (B, L) logits."""
    names = [name for name, module in classifier.named_modules()
             if isinstance(module, nn.Linear) and module.out_features == num_labels
             and name.split(".")[0] != classifier.base_model_prefix]
    if not names:
        raise ValueError(f"{type(classifier).__name__}: no linear layer with {num_labels} outputs in its head")
    return names[-1]


def _max_input_tokens(encoder) -> int | None:
    """Longest input the encoder's position table can take: max_position_embeddings, less the offset of
    RoBERTa-style position ids, which start after the padding index (RoBERTa, MPNet: 514 -> 512)."""
    positions = getattr(encoder.config, "max_position_embeddings", None)
    padding_idx = getattr(getattr(encoder, "embeddings", None), "padding_idx", None)
    if positions is None:
        return None
    return positions - (padding_idx + 1 if isinstance(padding_idx, int) else 0)


class CMHLForSequenceClassification(PreTrainedModel):
    """Three-head CMHL emotion classifier; the text-classification pipeline reads its `logits`."""

    config_class = CMHLConfig
    base_model_prefix = "encoder"  # per instance: the stock classifier's (`bert`, `roberta`, ...)
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _auto_class = "AutoModelForSequenceClassification"  # save_pretrained copies the code files
    # forward takes `num_items_in_batch`: Trainer then normalises over the whole accumulated batch
    accepts_loss_kwargs = True

    def __init__(self, config: CMHLConfig):
        super().__init__(config)
        config.check()  # a config edited after construction is checked again here
        config.sync_encoder_config()
        classifier = _build_stock_classifier(config.encoder_config)
        # Its modules become ours under their stock names (so the state dict is a stock one); the wrapper
        # itself stays out of the module tree and only lends its forward.
        for name, module in classifier.named_children():
            if hasattr(self, name):
                raise ValueError(f"{type(classifier).__name__}.{name} clashes with a CMHL attribute")
            self.add_module(name, module)
        self.__dict__["stock_classifier"] = classifier
        self.base_model_prefix = classifier.base_model_prefix
        self.emotion_output_layer = _last_linear(classifier, config.num_labels)  # e.g. "classifier.out_proj"
        last_linear = classifier.get_submodule(self.emotion_output_layer)
        last_linear.register_forward_hook(self._keep_head_features)
        self._head_features = None
        features = last_linear.in_features
        if config.dimensional_features == "mean_tokens":
            classifier.base_model.register_forward_hook(self._keep_token_states)
            features = config.encoder_config.hidden_size
        self._token_states = None
        self.valence_head = nn.Linear(features, 1)
        self.arousal_head = nn.Linear(features, 1)
        self.max_input_tokens = _max_input_tokens(classifier.base_model)
        self.post_init()

    def _keep_head_features(self, module, args, output):
        self._head_features = args[0]  # (B, F): the input of the emotion head's last linear layer

    def _keep_token_states(self, module, args, output):
        self._token_states = output[0]  # (B, T, H): the encoder's last hidden states

    def _init_weights(self, module):
        self.stock_classifier._init_weights(module)  # the encoder family's initialisation, heads included

    def get_input_embeddings(self):
        return self.stock_classifier.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.stock_classifier.set_input_embeddings(value)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        valence_labels: torch.FloatTensor | None = None,
        arousal_labels: torch.FloatTensor | None = None,
        teacher_probs: torch.FloatTensor | None = None,
        teacher_valence: torch.FloatTensor | None = None,
        teacher_arousal: torch.FloatTensor | None = None,
        training_progress: float | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
    ) -> CMHLOutput:
        """labels: (B,) emotion indices; -1 for a row without an emotion label (a rated text: it trains the
        valence and arousal heads only), -100 to ignore a row. valence_labels / arousal_labels: (B,) per-row
        ratings on the heads' scales, NaN where the data give none (then the gold label's circumplex coordinate,
        weighted by `config.label_target_weight`). teacher_probs (B, L), teacher_valence / teacher_arousal (B,):
        the teachers' targets of each row, NaN where none, mixed with the gold ones by `config.distillation_schedule`
        at `training_progress` (the share of training done, in [0, 1]; without it, gold only). num_items_in_batch:
        rows that count in the whole accumulated batch (loss.py).

        Inputs longer than `max_input_tokens` (what the encoder's position table allows, e.g. 512) keep
        their first `max_input_tokens` tokens, so that any text, however long, gets a prediction; the
        tokenizer's `truncation=True` does the same and keeps the closing special token."""
        limit = self.max_input_tokens
        if limit is not None:  # (B, T) -> (B, min(T, limit)); inputs_embeds (B, T, H) likewise
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds = (
                t[:, :limit] if t is not None else None
                for t in (input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds))
        inputs = {
            "input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
            "position_ids": position_ids, "inputs_embeds": inputs_embeds,
            "output_attentions": output_attentions, "output_hidden_states": output_hidden_states,
        }
        self.stock_classifier.training = self.training
        self._head_features = self._token_states = None
        stock = self.stock_classifier(**{k: v for k, v in inputs.items() if v is not None}, return_dict=True)
        features, self._head_features = self._head_features, None  # (B, F), set by the hook
        if self.config.dimensional_features == "mean_tokens":
            states, self._token_states = self._token_states, None  # (B, T, H)
            mask = (attention_mask if attention_mask is not None
                    else torch.ones(states.shape[:2], device=states.device))[:, :states.shape[1], None].to(states.dtype)
            features = (states * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, H): mean over the text's tokens
        logits = stock.logits  # (B, L)
        valence = torch.tanh(self.valence_head(features)).squeeze(-1)  # (B,)
        arousal = torch.sigmoid(self.arousal_head(features)).squeeze(-1)  # (B,)

        loss = None
        if labels is not None:
            teachers = {"teacher_probs": teacher_probs, "teacher_valence": teacher_valence,
                        "teacher_arousal": teacher_arousal}
            gold_weight = 1.0
            if training_progress is None or self.config.distillation_schedule == "off":
                teachers = {}
            else:
                gold_weight = teacher_annealing(training_progress, self.config.distillation_schedule,
                                                self.config.distillation_gold_weight)
            loss = self.compute_cmhl_loss(logits, valence, arousal, labels, valence_labels, arousal_labels,
                                          num_items_in_batch, gold_weight=gold_weight, **teachers)
        intensity = circumplex_intensity(valence, arousal, self.config.intensity_definition)  # (B,)
        return CMHLOutput(
            loss=loss.total if loss is not None else None,
            logits=logits,
            valence=valence,
            arousal=arousal,
            intensity=intensity,
            no_emotion=no_emotion_score(logits.detach().softmax(-1), intensity.detach(), self.config.no_emotion_mix,
                                        self.config.neutral_index),
            loss_terms=loss.terms() if loss is not None else None,
            hidden_states=stock.hidden_states,
            attentions=stock.attentions,
        )

    def compute_cmhl_loss(self, logits, valence, arousal, labels, valence_labels=None, arousal_labels=None,
                          num_items=None, **teachers) -> CMHLLoss:
        """`loss.cmhl_loss` with this model's weights and circumplex tables (built from the config on each call:
        they are a few numbers, and the config stays their only source); `teachers`: the teacher targets and
        gold_weight, as cmhl_loss takes them."""
        config = self.config
        label_valence = label_arousal = None
        if config.circumplex_coordinates is not None:
            valence_table, arousal_table = config.circumplex_targets()
            label_valence = torch.tensor(valence_table, device=logits.device)  # (L,)
            label_arousal = torch.tensor(arousal_table, device=logits.device)  # (L,)
        incompatible = None
        if config.contradiction_weight > 0:
            incompatible = incompatibility_matrix(config.num_labels, config.incompatible_index_pairs(),
                                                  device=logits.device)  # (L, L)
        return cmhl_loss(
            logits, valence, arousal, labels,
            label_valence=label_valence, label_arousal=label_arousal, incompatible=incompatible,
            valence_labels=valence_labels, arousal_labels=arousal_labels,
            emotion_weight=config.emotion_weight, valence_weight=config.valence_weight,
            arousal_weight=config.arousal_weight, contradiction_weight=config.contradiction_weight,
            valence_consistency_weight=config.valence_consistency_weight,
            valence_consistency_form=config.valence_consistency_form,
            label_target_weight=config.label_target_weight,
            valence_variance=config.valence_target_variance, arousal_variance=config.arousal_target_variance,
            regression_kind=config.regression_loss, contradiction_mode=config.contradiction_mode,
            contradiction_margin=config.contradiction_margin, label_smoothing=config.label_smoothing,
            num_items=num_items, **teachers,
        )

    @classmethod
    def from_backbone(cls, name_or_path: str, output_loading_info: bool = False, **config_overrides):
        """A new CMHL model whose encoder (and pooler, where the stock classifier has one) carries the
        pretrained weights of a stock checkpoint (a Hub id or a local folder), loaded exactly as
        `AutoModelForSequenceClassification.from_pretrained` loads them; the classification head and the
        valence / intensity heads are newly initialised. `config_overrides` go to `CMHLConfig` (labels,
        weights, ...). Logs, and with `output_loading_info=True` also returns, what was loaded."""
        config = CMHLConfig(encoder_config=AutoConfig.from_pretrained(name_or_path), **config_overrides)
        model = cls(config)
        stock, stock_info = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, config=config.encoder_config, dtype=torch.float32, output_loading_info=True,
            ignore_mismatched_sizes=True)  # a stock classifier with another label count: its head starts afresh
        missing, unexpected = model.load_state_dict(stock.state_dict(), strict=False)
        extra_heads = {n for n in missing if n.split(".")[0] in ("valence_head", "arousal_head")}
        if unexpected or set(missing) != extra_heads:
            raise ValueError(f"{name_or_path}: the stock classifier does not match CMHL's "
                             f"(missing {sorted(set(missing) - extra_heads)}, unexpected {unexpected})")
        info = {
            "newly_initialized": sorted(set(stock_info["missing_keys"])
                                        | {key for key, *_ in stock_info["mismatched_keys"]}) + sorted(extra_heads),
            "unused_checkpoint_tensors": sorted(stock_info["unexpected_keys"]),
        }
        logger.warning(f"CMHL from backbone {name_or_path}: newly initialised {info['newly_initialized']}; "
                       f"unused checkpoint tensors: {info['unused_checkpoint_tensors'] or 'none'}")
        model.config.name_or_path = name_or_path
        return (model, info) if output_loading_info else model


@torch.no_grad()
def carry_emotion_head(source: CMHLForSequenceClassification, target: CMHLForSequenceClassification) -> list[str]:
    """Give `target` the emotion-head rows of `source` by label name: the output row (weight and bias of the
    head's last linear layer) of each label both models know is copied from `source`, whatever its position
    there; every other row of `target` is freshly initialised. The rest of the head (e.g. RoBERTa's dense
    layer) is label-free and stays as it is. Returns the names carried over, in `target`'s order."""
    old = source.get_submodule(source.emotion_output_layer)  # Linear (L_source, F)
    new = target.get_submodule(target.emotion_output_layer)  # Linear (L_target, F)
    fresh = nn.Linear(new.in_features, new.out_features, dtype=new.weight.dtype, device=new.weight.device)
    target._init_weights(fresh)
    source_index = {name: i for i, name in enumerate(source.config.label_names)}
    carried = []
    for i, name in enumerate(target.config.label_names):
        row = old if name in source_index else fresh
        j = source_index.get(name, i)
        new.weight[i] = row.weight[j]
        if new.bias is not None:
            new.bias[i] = row.bias[j] if row.bias is not None else 0.0
        if name in source_index:
            carried.append(name)
    return carried


def register_auto_classes():
    """Make `AutoModelForSequenceClassification` (and so the text-classification pipeline, given a model
    object) know CMHL in this process; checkpoints never need this (their `auto_map` does it)."""
    AutoConfig.register("cmhl", CMHLConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(CMHLConfig, CMHLForSequenceClassification, exist_ok=True)
