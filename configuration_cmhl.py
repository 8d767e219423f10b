"""Configuration of CMHL (Contrastive Multi-Head Learning, Elgabry, Hamdi & Shaban, arXiv 2603.14078).

Only the paper's abstract is public. Every choice the abstract leaves open is a field below whose
docstring says where its default comes from, so that it can be changed and ablated.

On disk the config is the encoder's own config with the CMHL fields added (`model_type` is the encoder's,
e.g. "roberta"), so that stock loaders without custom code read a CMHL checkpoint as the encoder's
`...ForSequenceClassification` (the emotion classifier); in memory the encoder's part is `encoder_config`.
"""

import math
from typing import ClassVar

from transformers import AutoConfig, PretrainedConfig
from transformers.configuration_utils import SubConfigSpec

# dair-ai/emotion's label order, as the Hub copy of the data set numbers it (0-5).
DAIR_AI_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")

# Valence / arousal of the six label words on a 1-9 scale: Warriner, Kuperman & Brysbaert (2013),
# "Norms of valence, arousal, and dominance for 13,915 English lemmas", Behavior Research Methods 45.
WARRINER_2013 = {
    "sadness": (2.40, 2.81),
    "joy": (8.21, 5.55),
    "love": (8.00, 5.36),
    "anger": (2.50, 5.93),
    "fear": (2.93, 6.14),
    "surprise": (7.44, 6.57),
}
WARRINER_2013_SCALE = (1.0, 9.0)

# The label of texts with no clear emotion (GoEmotions' and MELD's "neutral", Demszky et al. 2020, Poria et al. 2019).
# It sits at the circumplex's centre, the scale's midpoint (valence 0, arousal 0.5 on the heads' scales, intensity 0):
# Russell (1980) places the absence of affect at the origin, and intensity is the distance from it (Reisenzein 1994).
NEUTRAL_LABEL = "neutral"
CIRCUMPLEX_CENTRE = (5.0, 5.0)  # on WARRINER_2013_SCALE
DEFAULT_COORDINATES = {**WARRINER_2013, NEUTRAL_LABEL: CIRCUMPLEX_CENTRE}  # labels with default coordinates

REGRESSION_LOSSES = ("mse", "smooth_l1")
INTENSITY_DEFINITIONS = ("circumplex_distance", "arousal")
DIMENSIONAL_FEATURES = ("emotion_head", "mean_tokens")
# Keys that PretrainedConfig handles itself, never the encoder's (the flat on-disk form is split by these).
_BASE_KWARGS = {"num_labels", "name_or_path", "_name_or_path", "_commit_hash", "attn_implementation",
                "experts_implementation", "output_attentions", "torch_dtype", "per_layer_config", "auto_map",
                "transformers_version", "architectures"}
CONTRADICTION_MODES = ("margin", "mass")
CONSISTENCY_FORMS = ("squared", "sign_disagreement")
DISTILLATION_SCHEDULES = ("linear", "constant", "off")
HEADS = ("emotion", "valence", "arousal")


# The largest public encoders have 48 layers (DeBERTa-v2-xxlarge); a config asking for far more is a damaged or
# hostile file, refused before a model of that size is built.
MAX_ENCODER_LAYERS = 128


def check_encoder_config(encoder: dict, fail) -> None:
    """The encoder's fields that build the model, checked before it is built (every CMHL config, every tool):
    sizes >= 1 (layers at most MAX_ENCODER_LAYERS), hidden_size divisible by num_attention_heads, an activation
    transformers knows, dropout probabilities in [0, 1), layer_norm_eps > 0. Absent fields are the class's business.
    `fail(field, expected, got)` raises."""
    from transformers.activations import ACT2FN

    def whole(field, low=1, high=None):
        value = encoder.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            fail(f"encoder_config.{field}", f"a whole number in [{low}, {high if high is not None else 'inf'}]", value)
        return value

    for field in ("vocab_size", "hidden_size", "intermediate_size", "max_position_embeddings"):
        whole(field)
    whole("num_hidden_layers", 1, MAX_ENCODER_LAYERS)
    heads, hidden = whole("num_attention_heads"), encoder.get("hidden_size")
    if heads and isinstance(hidden, int) and hidden % heads:
        fail("encoder_config.num_attention_heads", f"a divisor of hidden_size {hidden}", heads)
    act = encoder.get("hidden_act", encoder.get("hidden_activation"))
    if isinstance(act, str) and act not in ACT2FN:
        fail("encoder_config.hidden_act", f"an activation transformers knows ({', '.join(sorted(ACT2FN)[:8])}, ...)",
             act)
    for field in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        value = encoder.get(field)
        if value is not None and not (isinstance(value, (int, float)) and 0 <= value < 1):
            fail(f"encoder_config.{field}", "a probability in [0, 1)", value)
    eps = encoder.get("layer_norm_eps")
    if eps is not None and not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        fail("encoder_config.layer_norm_eps", "a finite number > 0", eps)


def _case_hint(names, known) -> str:
    """'; label 'Joy' differs from the known 'joy' only by case or spaces' for names that are known but for case:
    labels compared by name must match exactly (a checkpoint's 'joy' is not a run's 'Joy')."""
    alike = {n: k for n in names for k in known if n != k and n.strip().casefold() == str(k).strip().casefold()}
    return "".join(f"; label {n!r} differs from the known {k!r} only by case or spaces" for n, k in alike.items())


class CMHLConfig(PretrainedConfig):
    r"""Configuration of [`CMHLForSequenceClassification`]: an encoder, a shared pooled representation and
    three heads (emotion, valence, arousal; intensity is read from the last two) trained with

        L = emotion_weight * CE + valence_weight * L_valence + arousal_weight * L_arousal
            + contradiction_weight * L_contradiction + valence_consistency_weight * L_consistency

    (see `loss.py`). A weight of 0 switches its term off; all three auxiliary weights at 0 is plain
    fine-tuning of the same architecture.

    The emotion labels live in the standard `id2label` / `label2id` fields; by default they are
    dair-ai/emotion's six labels in dair-ai's order.

    Example:
        >>> config = CMHLConfig(encoder_config={"model_type": "bert", "hidden_size": 64, ...})
        >>> config = CMHLConfig(contradiction_weight=0.0)  # ablation without the contradiction loss
    """

    model_type = "cmhl"
    sub_configs_defaults = {"encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="roberta")}
    # Trainer drops these output fields when it gathers predictions for metrics.
    _auto_class: ClassVar[str | None] = "AutoConfig"  # save_pretrained copies this file
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["hidden_states", "attentions", "loss_terms"]

    encoder_config: PretrainedConfig | dict | None = None
    """Config of the encoder, any model with a stock `AutoModelForSequenceClassification` class (BERT, RoBERTa,
    MPNet, DeBERTa-v2, ModernBERT, ...). That class's head is the emotion path, so pooling and the head's
    layers are the encoder family's own (first token, dense, tanh for BERT and RoBERTa). Default: RoBERTa-base's
    architecture, the paper's 125M backbone (abstract)."""

    circumplex_coordinates: dict | None = None
    """Per label name, its `[valence, arousal]` on the scale `circumplex_scale`. Default: Warriner et al.
    (2013) word norms for the label words, when every label is found there; otherwise None, which is
    allowed only while no term needs coordinates. The paper cites Russell's circumplex but not its
    numbers."""

    circumplex_scale: list | None = None
    """`[low, high]` of the coordinate scale, used to map valence to [-1, 1] and arousal to [0, 1] (the scale's
    midpoint is neutral: valence 0, arousal 0.5).
    Default: [1, 9], Warriner et al.'s rating scale."""

    classifier_dropout: float | None = None
    """Dropout of the classification head (the encoder config's own `classifier_dropout`, which the stock
    BERT / RoBERTa / ModernBERT heads read). None: the stock convention (`hidden_dropout_prob`)."""

    emotion_weight: float = 1.0
    """Weight of the emotion cross-entropy."""

    valence_weight: float = 0.5
    """Weight of the valence regression. Targets: a text's own valence rating where the data give one (e.g.
    EmoBank, Buechel & Hahn 2017), else its gold label's circumplex valence weighted by `label_target_weight`.
    The paper's weights are not public; 0.5 is our starting point."""

    arousal_weight: float = 0.5
    """Weight of the arousal regression (targets as for valence: a text's arousal rating, else its label's
    circumplex arousal). Our starting point, as above."""

    valence_target_variance: float = 1.0
    """Divisor of the valence regression term: the variance of the training ratings on the head's scale, so that
    the term is a mean squared error in units of the ratings' spread (a z-scored MSE) whatever the corpus's scale.
    train.py sets it from --affect_file's training rows; 1.0 leaves the term in absolute units. Why: EmoBank's
    valence ratings have a standard deviation of about 0.18 on [-1, 1] and its arousal ratings about 0.07 on
    [0, 1], so an unnormalised MSE is 0.03 and 0.004 before anything is learned, a gradient that the
    cross-entropy drowns (BENCHMARKS.md, "Dimensional heads": test r arousal 0.09 without it). Our choice."""

    arousal_target_variance: float = 1.0
    """Divisor of the arousal regression term; as `valence_target_variance`."""

    label_target_weight: float = 0.0
    """Weight, relative to a rated text, of the gold label's circumplex coordinates as the valence / arousal
    target of an emotion-labelled text without ratings (the paper's "auxiliary supervision from Russell's
    circumplex", abstract). 0 (default): rated text alone (train.py --affect_file, e.g. EmoBank) shapes the
    heads, so that texts of one label spread by how strongly they feel. 1.0: every emotion text is pulled to
    its label's point, the training of earlier versions and all the heads can learn without rated text
    (BENCHMARKS.md, "Dimensional heads", compares the two)."""

    valence_consistency_weight: float = 0.0
    """Weight of the consistency term (sum_k p_k v_k - sg(valence head))^2 (loss.valence_consistency_loss):
    the valence the emotion distribution implies is pulled towards the valence head, so that what the head
    learned from rated text reaches the emotion decision. Our proposal (issue "Valence and intensity that mean
    something", item 4, after VADEC's joint training, Mishra et al. 2021); 0 (off) until it earns its place on
    validation."""

    valence_consistency_form: str = "squared"
    """Form of the consistency term, with u = sum_k p_k v_k (the valence the emotion distribution implies, on the
    label points' scale) and h = sg(valence head) (on the rated corpus's scale): "squared", (u - h)^2, which
    also pulls when both agree in sign but differ in size, and the two scales differ (EmoBank's sentence
    ratings are compressed: a strongly sad text is rated about -0.4, the sadness point is -0.65; BENCHMARKS.md
    records 0.9116 against 0.9132 without the term, seed 42, validation); "sign_disagreement", max(0, -u h),
    which is 0 whenever the two agree in sign and otherwise grows with both magnitudes, so it does not depend on
    the two scales matching. Our proposal, after that result; measured with VADER's words at weight 0.5, seed 42:
    0.9176 against 0.9200 without it, dev pairs 81% against 89% (BENCHMARKS.md), so neither form is on by
    default."""

    dimensional_features: str = "mean_tokens"
    """What the valence and arousal heads read. "mean_tokens" (default): the mean of the encoder's last hidden
    states over the text's tokens (attention mask), the pooling sentence encoders such as all-MiniLM-L6-v2 are
    trained with (Reimers & Gurevych 2019), which the emotion head's first-token features need not keep.
    "emotion_head": the features that enter the emotion head's last linear layer (BERT / RoBERTa: the first
    token, through the stock dense + tanh), so the three heads share one vector. Not in the abstract; our
    choice, on validation (BENCHMARKS.md, "Dimensional heads": MiniLM-L6 with EmoBank, seeds 42-44, dair-ai
    validation macro F1 0.9014 and EmoBank dev r about .72 / .55 with mean tokens, against 0.8955 and
    .706 / .527 with the emotion head's features at seed 42). A config.json written before this field existed
    reads as "emotion_head", the features its heads were trained on."""

    intensity_definition: str = "circumplex_distance"
    """How intensity (B,) in [0, 1] is read from predicted valence v in [-1, 1] and arousal a in [0, 1]:
    "circumplex_distance": sqrt(v^2 + (2a - 1)^2) / sqrt(2), the distance from the circumplex's neutral centre
    (v = 0, a = 0.5: the midpoint of the rating scale), scaled to [0, 1]; Reisenzein (1994), "Pleasure-arousal
    theory and the intensity of emotions" (J. Pers. Soc. Psychol. 67), and Russell (1980): the strength of an
    affect is its distance from the centre, its kind the angle. So "devastated" (very unpleasant, calm) is
    intense, which arousal alone would call mild (Mohammad & Bravo-Marquez 2017: intensity is not arousal).
    "arousal": intensity = a, the reading of earlier versions."""

    contradiction_weight: float = 0.1
    """Weight of the contrastive contradiction loss. Chosen on validation (BENCHMARKS.md, MiniLM-L6 on
    dair-ai/emotion, 3 seeds): 0.1 gives validation macro F1 0.894 +- 0.006 against 0.887 +- 0.013 at our
    first choice 0.5, and 0.889 for the "mass" form at 0.5; 0 (plain fine-tuning of the same model) is still
    ahead on F1, while 0.1 keeps the contradiction rate lower."""

    regression_loss: str = "mse"
    """Loss of the valence and arousal heads: "mse" or "smooth_l1" (Huber, beta 1). Not in the abstract."""

    contradiction_mode: str = "margin"
    """Form of the contradiction loss (loss.contradiction_loss): "margin", a contrastive softplus of
    incompatible logits against the gold logit with a margin (after SpanEmo's label-correlation loss,
    Alhuzali & Ananiadou 2021), or "mass", -log(1 - probability mass on incompatible labels)."""

    contradiction_margin: float = 1.0
    """Logit margin of the "margin" mode: an incompatible label is penalised until its logit is this far
    below the gold one. Our choice (a logit gap of 1 is a probability ratio of e)."""

    incompatible_pairs: list | None = None
    """Explicit `[label_a, label_b]` pairs that must not be predicted together. None: every pair whose
    circumplex valences have opposite signs (Russell 1980: pleasure and displeasure are opposite poles)."""

    neutral_contradicts_emotions: bool = True
    """With a `neutral` label (NEUTRAL_LABEL) and no explicit `incompatible_pairs`: `neutral` is incompatible with
    every other label, since "no clear emotion" and an emotion cannot both hold (Russell 1980: the centre of the
    circumplex is the absence of affect). Its valence is the scale's midpoint, so the valence rule alone would make
    it compatible with everything and the contradiction loss would never separate it. Our choice (issue "The text
    people write", item 3); False leaves `neutral` out of the pairs, for the ablation."""

    contradiction_threshold: float = 0.3
    """Evaluation only: a prediction is a contradiction when two incompatible labels both get at least
    this probability. Our choice; must be in (0, 0.5] for two labels to reach it."""

    label_smoothing: float = 0.0
    """Label smoothing of the emotion cross-entropy (dair-ai's labels are distant supervision, so noisy)."""

    distillation_schedule: str = "linear"
    """How a row's target mixes its gold value with its teachers' (train.py --emotion_teacher, --affect_teacher;
    loss.py): target = lambda * gold + (1 - lambda) * teacher, for the emotion distribution (one-hot gold) and for
    valence and arousal; a row without gold takes the teacher's target alone, a row without teacher its gold alone.
    "linear" (default): lambda rises from 0 to 1 over training, the "teacher annealing" of Clark et al., "BAM!
    Born-Again Multi-Task Networks for Natural Language Understanding" (ACL 2019), so the student starts as a
    copy of its teachers and ends on the gold labels; "constant": lambda = `distillation_gold_weight` throughout;
    "off": the teacher targets are ignored (gold only, today's training). Without teachers nothing changes."""

    distillation_gold_weight: float = 0.5
    """lambda of the "constant" schedule, in [0, 1]: the gold target's share of a row's target. 0.5: the
    middle, our choice (BAM reports constant mixing below annealing, without giving its lambda)."""

    distillation_temperature: float = 1.0
    """Temperature T of the emotion teachers' distribution, softmax(z / T), applied when their targets are
    computed (before training); T > 1 softens it (Hinton, Vinyals & Dean 2015). 1: BAM's setting."""

    no_emotion_mix: float = 1.0
    """How the "no clear emotion" score (B,) in [0, 1] is made from the emotion distribution p and the intensity i
    (modeling_cmhl.no_emotion_score): w * (1 - max_k p_k) + (1 - w) * (1 - i), with w this field. w = 1: the
    maximum-softmax-probability baseline of Hendrycks & Gimpel (ICLR 2017); w = 0: intensity alone, the distance
    from the circumplex's neutral centre (Reisenzein 1994), which a plain classifier does not have. A value < 1
    needs trained valence and arousal heads. Chosen per checkpoint on a validation set with neutral texts by
    `no_emotion.py` (GoEmotions dev, Demszky et al. 2020: `neutral` comments against those whose labels map to
    the six emotions; BENCHMARKS.md, "No clear emotion"); 1.0 until a checkpoint is calibrated."""

    no_emotion_threshold: float | None = None
    """A text is flagged "no clear emotion" when its no-emotion score is >= this threshold. Chosen with
    `no_emotion_mix` by `no_emotion.py` on the validation set (the threshold of best F1 for the neutral class
    there, never on test). None (an uncalibrated checkpoint): no flag; predict.py, app.py and the card leave it
    out."""

    trained_heads: list | None = None
    """Which heads of this checkpoint were trained, a subset of ["emotion", "valence", "arousal"], written by
    train.py from what supervised each head (emotion labels; ratings, word ratings, an affect teacher or the
    labels' circumplex points). A head not listed was never trained: predict.py, app.py, the card and the ONNX
    export leave its outputs out, and it is refused as a teacher. None (checkpoints of earlier versions): read
    from the loss weights."""

    def __post_init__(self, **kwargs):
        model_type = kwargs.pop("model_type", self.model_type)
        if model_type != self.model_type:  # the on-disk (flat) form: the encoder's fields sit at top level
            if self.encoder_config is not None:
                raise ValueError(f"CMHLConfig.encoder_config: expected either a nested encoder_config or the "
                                 f"encoder's fields at top level (model_type {model_type!r}), got both")
            encoder_fields = {k: kwargs.pop(k) for k in list(kwargs) if k not in _BASE_KWARGS}
            self.encoder_config = {**encoder_fields, "model_type": model_type}
        num_labels = kwargs.get("num_labels")
        if num_labels is not None and self.id2label is not None and num_labels != len(self.id2label):
            raise ValueError(f"CMHLConfig.num_labels: expected {len(self.id2label)} (the length of id2label "
                             f"{self.id2label}), got {num_labels!r}")
        if self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(enumerate(DAIR_AI_LABELS))
        if self.id2label is not None and self.label2id is None:
            self.label2id = {name: int(i) for i, name in self.id2label.items()}
        if self.problem_type is None:
            self.problem_type = "single_label_classification"
        if self.circumplex_scale is None:
            self.circumplex_scale = list(WARRINER_2013_SCALE)
        super().__post_init__(**kwargs)
        self._check_labels()
        self.sync_encoder_config()
        if getattr(self, "pad_token_id", None) is None:  # the tokenizer's padding id, as the encoder knows it
            self.pad_token_id = getattr(self.encoder_config, "pad_token_id", None)
        if self.circumplex_coordinates is None and all(n in DEFAULT_COORDINATES for n in self.label_names):
            self.circumplex_coordinates = {n: list(DEFAULT_COORDINATES[n]) for n in self.label_names}
        self.auto_map = {
            "AutoConfig": "configuration_cmhl.CMHLConfig",
            "AutoModel": "modeling_cmhl.CMHLForSequenceClassification",
            "AutoModelForSequenceClassification": "modeling_cmhl.CMHLForSequenceClassification",
            **(getattr(self, "auto_map", None) or {}),
        }
        self.check()

    def sync_encoder_config(self):
        """Copy the label set and the head's dropout into `encoder_config`, from which the stock
        classification head is built (called at construction and again when a model is built)."""
        encoder = self.encoder_config
        if isinstance(encoder, PretrainedConfig):
            encoder.id2label = dict(self.id2label)
            encoder.label2id = dict(self.label2id)
            encoder.problem_type = self.problem_type
            if self.classifier_dropout is None:  # one value on disk: the encoder's own, if it has one
                self.classifier_dropout = getattr(encoder, "classifier_dropout", None)
            else:
                encoder.classifier_dropout = self.classifier_dropout

    def to_dict(self) -> dict:
        """The on-disk form: the encoder's config with the CMHL fields added and the encoder's `model_type`,
        which stock loaders (no custom code) read as the encoder's classifier config."""
        output = super().to_dict()
        encoder = output.pop("encoder_config")
        return {**encoder, **output, "model_type": encoder["model_type"]}

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        """Read config.json and nest the encoder's fields under `encoder_config` (the in-memory form)."""
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        if "id2label" not in config_dict:  # never fall back to dair-ai's names for a checkpoint's head
            raise ValueError(f"CMHLConfig.id2label: the config.json of {pretrained_model_name_or_path} names no labels "
                             "(id2label missing); a CMHL checkpoint's head rows mean nothing without their names")
        config_dict.setdefault("dimensional_features", "emotion_head")  # checkpoints from before the field
        if config_dict.get("model_type", cls.model_type) != cls.model_type and "encoder_config" not in config_dict:
            own = set(cls.__dataclass_fields__) | _BASE_KWARGS
            encoder = {k: v for k, v in config_dict.items() if k not in own or k == "model_type"}
            config_dict = {k: v for k, v in config_dict.items() if k in own}
            config_dict.update(encoder_config=encoder, model_type=cls.model_type)
        return config_dict, kwargs

    @property
    def label_names(self) -> list[str]:
        """Label names in index order."""
        return [self.id2label[i] for i in range(len(self.id2label))]

    @property
    def neutral_index(self) -> int | None:
        """Index of the `neutral` label (NEUTRAL_LABEL), or None for a model without one."""
        return self.label2id.get(NEUTRAL_LABEL) if self.label2id else None

    def head_is_trained(self, head: str) -> bool:
        """Whether `head` ("emotion", "valence", "arousal") was trained: `trained_heads` where written, else
        (checkpoints of earlier versions) its loss weight > 0."""
        if self.trained_heads is not None:
            return head in self.trained_heads
        return getattr(self, f"{head}_weight") > 0

    def circumplex_targets(self) -> tuple[list[float], list[float]]:
        """Per label, valence scaled to [-1, 1] and arousal scaled to [0, 1]:
        v' = 2 (v - low) / (high - low) - 1,  a' = (a - low) / (high - low)."""
        if self.circumplex_coordinates is None:
            raise ValueError(
                "circumplex_coordinates: no coordinates for the labels "
                f"{self.label_names}; give [valence, arousal] per label."
            )
        low, high = self.circumplex_scale
        coords = [self.circumplex_coordinates[name] for name in self.label_names]
        valence = [2.0 * (v - low) / (high - low) - 1.0 for v, _ in coords]
        arousal = [(a - low) / (high - low) for _, a in coords]
        return valence, arousal

    def incompatible_index_pairs(self) -> list[tuple[int, int]]:
        """Index pairs (i < j) of labels that contradict each other: `incompatible_pairs` when given,
        else the pairs of opposite circumplex valence (a valence exactly at the scale's middle is compatible with
        everything), and with `neutral_contradicts_emotions` the `neutral` label paired with every other label."""
        if self.incompatible_pairs is not None:
            return sorted({tuple(sorted((self.label2id[a], self.label2id[b]))) for a, b in self.incompatible_pairs})
        valence, _ = self.circumplex_targets()
        n = len(valence)
        pairs = {(i, j) for i in range(n) for j in range(i + 1, n) if valence[i] * valence[j] < 0}
        neutral = self.neutral_index
        if neutral is not None and getattr(self, "neutral_contradicts_emotions", True):
            pairs |= {tuple(sorted((neutral, k))) for k in range(n) if k != neutral}
        return sorted(pairs)

    # ---- validation: every field checked, errors name the field and what was expected ----

    def check(self):
        """Raise ValueError naming the first field that is out of range."""
        def fail(field, expected, got):
            raise ValueError(f"CMHLConfig.{field}: expected {expected}, got {got!r}")

        if not isinstance(self.encoder_config, PretrainedConfig) or not hasattr(self.encoder_config, "hidden_size"):
            fail("encoder_config", "an encoder config with a hidden_size", self.encoder_config)
        check_encoder_config(self.encoder_config.to_dict(), fail)
        names = self._check_labels()
        if {str(k): int(v) for k, v in (self.label2id or {}).items()} != {n: i for i, n in enumerate(names)}:
            fail("label2id", f"the inverse of id2label {dict(enumerate(names))}", self.label2id)
        for field in ("emotion_weight", "valence_weight", "arousal_weight", "contradiction_weight",
                      "valence_consistency_weight", "label_target_weight", "contradiction_margin"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                fail(field, "a finite number >= 0", value)
        for field in ("valence_target_variance", "arousal_target_variance"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                fail(field, "a finite number > 0", value)
        weights = ("emotion_weight", "valence_weight", "arousal_weight", "contradiction_weight",
                   "valence_consistency_weight")
        if not any(getattr(self, name) > 0 for name in weights):
            fail("emotion_weight", f"at least one of {weights} > 0 (with all 0 there is nothing to train)", 0)
        if not 0 < self.contradiction_threshold <= 0.5:
            fail("contradiction_threshold", "a probability in (0, 0.5]", self.contradiction_threshold)
        if not 0 <= self.label_smoothing < 1:
            fail("label_smoothing", "a number in [0, 1)", self.label_smoothing)
        if self.classifier_dropout is not None and not 0 <= self.classifier_dropout < 1:
            fail("classifier_dropout", "None or a number in [0, 1)", self.classifier_dropout)
        for field, allowed in (("regression_loss", REGRESSION_LOSSES), ("intensity_definition", INTENSITY_DEFINITIONS),
                               ("contradiction_mode", CONTRADICTION_MODES),
                               ("valence_consistency_form", CONSISTENCY_FORMS),
                               ("dimensional_features", DIMENSIONAL_FEATURES)):
            if getattr(self, field) not in allowed:
                fail(field, f"one of {allowed}", getattr(self, field))
        if self.distillation_schedule not in DISTILLATION_SCHEDULES:
            fail("distillation_schedule", f"one of {DISTILLATION_SCHEDULES}", self.distillation_schedule)
        value = self.distillation_gold_weight
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            fail("distillation_gold_weight", "a number in [0, 1]", value)
        value = self.distillation_temperature
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            fail("distillation_temperature", "a finite number > 0", value)
        value = self.no_emotion_mix
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            fail("no_emotion_mix", "a number in [0, 1]", value)
        if value < 1 and self.trained_heads is not None and not {"valence", "arousal"} <= set(self.trained_heads):
            fail("no_emotion_mix", "1 for a checkpoint whose valence / arousal heads were not trained (trained_heads "
                 f"{self.trained_heads}): intensity comes from them", value)
        value = self.no_emotion_threshold
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
            fail("no_emotion_threshold", "None or a number in [0, 1]", value)
        if self.trained_heads is not None and (not isinstance(self.trained_heads, (list, tuple))
                                               or any(head not in HEADS for head in self.trained_heads)):
            fail("trained_heads", f"None or a list of heads of {HEADS}", self.trained_heads)
        scale = self.circumplex_scale
        if (not isinstance(scale, (list, tuple)) or len(scale) != 2
                or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in scale) or scale[0] >= scale[1]):
            fail("circumplex_scale", "[low, high] with finite low < high", scale)
        self._check_coordinates(names, fail)
        self._check_pairs(names, fail)

    def _check_labels(self) -> list[str]:
        names = sorted(self.id2label)
        if names != list(range(len(names))):
            raise ValueError(f"CMHLConfig.id2label: expected indices 0..num_labels-1, got {names}")
        names = self.label_names
        if len(names) < 2 or len(set(names)) != len(names):
            raise ValueError(f"CMHLConfig.id2label: expected at least 2 unique label names, got {names}")
        return names

    def _check_coordinates(self, names, fail):
        coords = self.circumplex_coordinates
        needs = [f for f in ("valence_weight", "arousal_weight") if getattr(self, f) > 0 and self.label_target_weight > 0]
        if self.valence_consistency_weight > 0:
            needs.append("valence_consistency_weight")
        if self.contradiction_weight > 0 and self.incompatible_pairs is None:
            needs.append("contradiction_weight (pairs derived from valence)")
        if coords is None:
            if needs:
                fail("circumplex_coordinates", f"[valence, arousal] for each of {names}, needed by {needs} "
                     f"(or set those weights to 0){_case_hint(names, DEFAULT_COORDINATES)}", None)
            return
        if not isinstance(coords, dict):
            fail("circumplex_coordinates", "a dict label -> [valence, arousal]", coords)
        missing = [n for n in names if n not in coords]
        unknown = [n for n in coords if n not in names]
        if missing:
            fail("circumplex_coordinates", f"an entry for every label; missing {missing}"
                 f"{_case_hint(missing, [*coords, *DEFAULT_COORDINATES])}", coords)
        if unknown:
            fail("circumplex_coordinates", f"only labels of id2label {names}; unknown {unknown}", coords)
        low, high = self.circumplex_scale
        for name in names:
            point = coords[name]
            ok = (isinstance(point, (list, tuple)) and len(point) == 2
                  and all(isinstance(x, (int, float)) and math.isfinite(x) and low <= x <= high for x in point))
            if not ok:
                fail(f"circumplex_coordinates[{name!r}]", f"[valence, arousal], finite, within {[low, high]}", point)

    def _check_pairs(self, names, fail):
        if self.incompatible_pairs is None:
            return
        for pair in self.incompatible_pairs:
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] == pair[1]
                    or any(p not in names for p in pair)):
                fail("incompatible_pairs", f"pairs of two different labels of {names}", pair)
