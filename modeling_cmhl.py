"""CMHL: one encoder, a shared pooled representation, and three heads (emotion, valence, intensity).

    input_ids (B, T) -> encoder -> token states (B, T, H) -> pool -> (B, H)
        -> shared = tanh(projection(dropout(pooled)))                     (B, H)
        -> emotion_head(dropout(shared))            logits     (B, L)
        -> tanh(valence_head(dropout(shared)))      valence    (B,)  in [-1, 1]
        -> sigmoid(intensity_head(dropout(shared))) intensity  (B,)  in [0, 1]

With `pooling="cls"` the emotion path computes exactly what the stock RoBERTa / BERT classification
heads compute (dense, tanh, dropout, linear on the first token), so the auxiliary heads are the only
additions. Elgabry, Hamdi & Shaban, "Contrastive Multi-Head Learning for Emotionally Consistent Text
Classification", arXiv 2603.14078 (abstract only public).
"""

import inspect
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_MAPPING
from transformers.utils import ModelOutput, logging

try:  # relative imports: save_pretrained copies these files next to this one (trust_remote_code)
    from .configuration_cmhl import CMHLConfig
    from .loss import CMHLLoss, cmhl_loss, incompatibility_matrix
except ImportError:  # imported as a top-level module, e.g. by train.py
    from configuration_cmhl import CMHLConfig
    from loss import CMHLLoss, cmhl_loss, incompatibility_matrix

logger = logging.get_logger(__name__)


@dataclass
class CMHLOutput(ModelOutput):
    """Output of [`CMHLForSequenceClassification`].

    loss: () weighted CMHL loss, when `labels` are given.
    logits: (B, L) emotion logits; softmax gives the emotion probabilities.
    valence: (B,) predicted valence in [-1, 1] (negative = unpleasant).
    intensity: (B,) predicted intensity (circumplex arousal) in [0, 1].
    loss_terms: each unweighted loss term by name, when `labels` are given.
    hidden_states / attentions: the encoder's, when asked for.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    valence: torch.FloatTensor | None = None
    intensity: torch.FloatTensor | None = None
    loss_terms: dict[str, torch.Tensor] | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


def _build_encoder(encoder_config) -> PreTrainedModel:
    """The bare encoder, without its pooler where the class allows it: CMHL pools itself, and an
    unused pooler would only be dead weight (and unused parameters under DDP)."""
    encoder_class = MODEL_MAPPING[type(encoder_config)]
    if "add_pooling_layer" in inspect.signature(encoder_class.__init__).parameters:
        return encoder_class(encoder_config, add_pooling_layer=False)
    return encoder_class(encoder_config)


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
    base_model_prefix = "encoder"
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
        hidden = config.encoder_config.hidden_size
        dropout = config.classifier_dropout
        if dropout is None:
            dropout = getattr(config.encoder_config, "hidden_dropout_prob", 0.1)
        self.encoder = _build_encoder(config.encoder_config)
        self.max_input_tokens = _max_input_tokens(self.encoder)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(hidden, hidden)
        self.emotion_head = nn.Linear(hidden, config.num_labels)
        self.valence_head = nn.Linear(hidden, 1)
        self.intensity_head = nn.Linear(hidden, 1)
        self.post_init()

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.encoder.set_input_embeddings(value)

    def pool(self, token_states, attention_mask):
        """(B, T, H), (B, T) -> (B, H): first token ("cls") or masked mean ("mean")."""
        if self.config.pooling == "cls":
            return token_states[:, 0]
        if attention_mask is None:
            return token_states.mean(dim=1)
        mask = attention_mask[..., None].to(token_states.dtype)  # (B, T, 1)
        return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        valence_labels: torch.FloatTensor | None = None,
        intensity_labels: torch.FloatTensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
    ) -> CMHLOutput:
        """labels: (B,) emotion indices (-100 to ignore). valence_labels / intensity_labels: (B,)
        per-example targets on the heads' scales, NaN where the data give none (then the gold label's
        circumplex coordinate is the target). num_items_in_batch: rows in the whole accumulated batch.

        Inputs longer than `max_input_tokens` (what the encoder's position table allows, e.g. 512) keep
        their first `max_input_tokens` tokens, so that any text, however long, gets a prediction; the
        tokenizer's `truncation=True` does the same and keeps the closing special token."""
        limit = self.max_input_tokens
        if limit is not None:  # (B, T) -> (B, min(T, limit)); inputs_embeds (B, T, H) likewise
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds = (
                t[:, :limit] if t is not None else None
                for t in (input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds))
        encoder_inputs = {
            "input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
            "position_ids": position_ids, "inputs_embeds": inputs_embeds,
            "output_attentions": output_attentions, "output_hidden_states": output_hidden_states,
        }
        encoded = self.encoder(**{k: v for k, v in encoder_inputs.items() if v is not None}, return_dict=True)
        pooled = self.pool(encoded.last_hidden_state, attention_mask)  # (B, H)
        shared = self.dropout(torch.tanh(self.projection(self.dropout(pooled))))  # (B, H)
        logits = self.emotion_head(shared)  # (B, L)
        valence = torch.tanh(self.valence_head(shared)).squeeze(-1)  # (B,)
        intensity = torch.sigmoid(self.intensity_head(shared)).squeeze(-1)  # (B,)

        loss = None
        if labels is not None:
            loss = self.compute_cmhl_loss(logits, valence, intensity, labels, valence_labels, intensity_labels,
                                          num_items_in_batch)
        return CMHLOutput(
            loss=loss.total if loss is not None else None,
            logits=logits,
            valence=valence,
            intensity=intensity,
            loss_terms=loss.terms() if loss is not None else None,
            hidden_states=encoded.hidden_states,
            attentions=encoded.attentions,
        )

    def compute_cmhl_loss(self, logits, valence, intensity, labels, valence_labels=None, intensity_labels=None,
                          num_items=None) -> CMHLLoss:
        """`loss.cmhl_loss` with this model's weights and circumplex tables (built from the config on
        each call: they are a few numbers, and the config stays their only source)."""
        config = self.config
        needs_circumplex = config.valence_weight > 0 or config.intensity_weight > 0 or (
            config.contradiction_weight > 0 and config.incompatible_pairs is None)
        label_valence = label_intensity = None
        if needs_circumplex or config.circumplex_coordinates is not None:
            valence_table, intensity_table = config.circumplex_targets()
            label_valence = torch.tensor(valence_table, device=logits.device)  # (L,)
            label_intensity = torch.tensor(intensity_table, device=logits.device)  # (L,)
        incompatible = None
        if config.contradiction_weight > 0:
            incompatible = incompatibility_matrix(config.num_labels, config.incompatible_index_pairs(),
                                                  device=logits.device)  # (L, L)
        return cmhl_loss(
            logits, valence, intensity, labels,
            label_valence=label_valence, label_intensity=label_intensity, incompatible=incompatible,
            valence_labels=valence_labels, intensity_labels=intensity_labels,
            emotion_weight=config.emotion_weight, valence_weight=config.valence_weight,
            intensity_weight=config.intensity_weight, contradiction_weight=config.contradiction_weight,
            regression_kind=config.regression_loss, contradiction_mode=config.contradiction_mode,
            contradiction_margin=config.contradiction_margin, label_smoothing=config.label_smoothing,
            num_items=num_items,
        )

    @classmethod
    def from_backbone(cls, name_or_path: str, output_loading_info: bool = False, **config_overrides):
        """A new CMHL model whose encoder carries the pretrained weights of a stock checkpoint (a Hub id or
        a local folder); the heads are newly initialised. With `pooling="cls"`, a pretrained pooler of the
        same shape (BERT's, for instance) initialises `projection`, as it does in the stock classifier.
        `config_overrides` go to `CMHLConfig` (labels, weights, ...). Logs, and with
        `output_loading_info=True` also returns, which weights came from the checkpoint."""
        encoder_config = AutoConfig.from_pretrained(name_or_path)
        model = cls(CMHLConfig(encoder_config=encoder_config, **config_overrides))
        backbone = AutoModel.from_pretrained(name_or_path, config=encoder_config, dtype=torch.float32)
        backbone_state = backbone.state_dict()
        missing, unexpected = model.encoder.load_state_dict(backbone_state, strict=False)
        if missing:
            raise ValueError(f"{name_or_path}: the checkpoint lacks encoder weights {missing}")
        from_pooler = []
        pooler_weight = backbone_state.get("pooler.dense.weight")
        if (model.config.pooling == "cls" and pooler_weight is not None
                and pooler_weight.shape == model.projection.weight.shape):
            with torch.no_grad():
                model.projection.weight.copy_(pooler_weight)
                model.projection.bias.copy_(backbone_state["pooler.dense.bias"])
            from_pooler = ["projection.weight", "projection.bias"]
        new = [n for n, _ in model.named_parameters() if not n.startswith("encoder.") and n not in from_pooler]
        info = {
            "loaded_encoder_tensors": len(backbone_state) - len(unexpected),
            "projection_from_pooler": bool(from_pooler),
            "newly_initialized": new,
            "unused_checkpoint_tensors": sorted(set(unexpected) - {"pooler.dense.weight", "pooler.dense.bias"}
                                               if from_pooler else unexpected),
        }
        logger.warning(
            f"CMHL from backbone {name_or_path}: {info['loaded_encoder_tensors']} encoder tensors loaded"
            f"{', projection from the pretrained pooler' if from_pooler else ''}; newly initialised: {new}; "
            f"unused checkpoint tensors: {info['unused_checkpoint_tensors'] or 'none'}"
        )
        model.config.name_or_path = name_or_path
        return (model, info) if output_loading_info else model


def register_auto_classes():
    """Make `AutoConfig` / `AutoModelForSequenceClassification` (and so the text-classification pipeline)
    know CMHL in this process without remote code; checkpoints never need this (their `auto_map` does it)."""
    from transformers import AutoModelForSequenceClassification

    AutoConfig.register("cmhl", CMHLConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(CMHLConfig, CMHLForSequenceClassification, exist_ok=True)
