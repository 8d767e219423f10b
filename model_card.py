"""The model card (README.md) of a trained CMHL checkpoint: Hub metadata that makes the Hub pick the
text-classification widget, widget examples carrying the model's real outputs, test metrics as a
`model-index`, and a body that says what the model is and how it was trained."""

from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

WIDGET_TEXTS = (
    "i feel so grateful to have friends who show up when it matters",
    "i am furious that they cancelled again without telling anyone",
    "i feel nervous walking home alone this late",
)

# (metrics key, display name, model-index metric type, averaging)
HEADLINE = (("accuracy", "Accuracy", "accuracy", None), ("macro_f1", "Macro F1", "f1", "macro"),
            ("weighted_f1", "Weighted F1", "f1", "weighted"))


NEUTRAL_WIDGET_TEXT = "the team meeting moves to room 4 at 3 pm on thursday"  # for a model with `neutral`


def widget_examples(classifier, texts=WIDGET_TEXTS, top_k: int = 3) -> list[dict]:
    """Widget entries whose `output` is what `classifier` (a text-classification pipeline) predicts; a model with a
    `neutral` label also gets a text with no emotion."""
    if "neutral" in classifier.model.config.label2id and texts == WIDGET_TEXTS:
        texts = (*texts, NEUTRAL_WIDGET_TEXT)
    examples = []
    for text in texts:
        scores = classifier(text, top_k=top_k)
        examples.append({"text": text, "output": [{"label": s["label"], "score": round(float(s["score"]), 4)}
                                                  for s in scores]})
    return examples


# Metrics read from a head's outputs: shown only for a checkpoint whose heads named here were trained.
HEAD_METRICS = {"valence_agreement": ("valence",), "intensity_spread": ("valence", "arousal"),
                "affect_valence_pearson": ("valence",), "affect_valence_mae": ("valence",),
                "affect_arousal_pearson": ("arousal",), "affect_arousal_mae": ("arousal",)}


def _metric_table(metrics: dict, prefix: str, config) -> str:
    rows = ["| metric | value |", "|---|---|"]
    keys = ["accuracy", "macro_f1", "weighted_f1", *(f"f1_{n}" for n in config.label_names), "contradiction_rate",
            "valence_agreement", "intensity_spread", "ece", "affect_valence_pearson", "affect_arousal_pearson",
            "affect_valence_mae", "affect_arousal_mae"]
    keys = [k for k in keys if all(config.head_is_trained(h) for h in HEAD_METRICS.get(k, ()))]
    for key in keys:
        value = metrics.get(f"{prefix}_{key}")
        if value is not None:
            rows.append(f"| {key} | {value:.4f} |")
    return "\n".join(rows)


FIGURE_TITLES = {"confusion_counts": "Confusion matrix (counts)",
                 "confusion_normalised": "Confusion matrix (row-normalised)",
                 "circumplex": "Texts on the circumplex (predicted valence and arousal)",
                 "reliability": "Reliability diagram (calibration; ECE among the metrics)"}


def _figure_section(figures: dict, split: str) -> str:
    if not figures:
        return ""
    lines = [f"Figures ({split} split):", ""]
    lines += [f"![{FIGURE_TITLES[key]}]({name})" for key, name in figures.items()]
    return "\n".join(lines) + "\n"


def _neutral_section(config) -> str:
    if config.neutral_index is None or config.no_emotion_threshold is not None:
        return ""
    return """## No clear emotion

`neutral` is one of the labels: texts with no clear emotion (a meeting reminder) get it like any other label, in
the widget and the pipeline. predict.py and app.py flag `no_emotion` when `neutral` is the top label and report
p(neutral) as `no_emotion_score`; no calibration step is needed.
"""


def _source_cell(source: str | None) -> str:
    """A corpus's public source for the card: a Hub data set as a link, a URL with its pinned sha256, a local file
    by name only (its path says nothing to a reader of the card)."""
    if not source:
        return "not stated"
    if source.startswith("hub:"):
        dataset = source[4:].rpartition(":")[0].partition("@")[0]
        return f"[{source[4:]}](https://huggingface.co/datasets/{dataset})"
    if source.startswith("https://"):
        url, _, sha256 = source.partition("#sha256=")
        return f"<{url}> (sha256 `{sha256[:12]}...`)"
    return f"a local file, `{source.replace(chr(92), '/').rsplit('/', 1)[-1].split('#')[0]}`"


def _corpus_section(corpora: list[dict], eval_metrics: dict, test_metrics: dict | None) -> str:
    """The corpora, their licences and label mappings, and each one's own metrics (cmhl_metric)."""
    lines = ["## Data and license", "", "Trained on several corpora, each mapped onto the labels by a file in the "
             "repository's `mappings/` (its `description` states every decision):", "",
             "| corpus | source (training split) | license | mapping | share of an epoch |", "|---|---|---|---|---|"]
    for c in corpora:
        share = f"{c['proportion']:.2f}" if c["proportion"] is not None else "its share of the rows"
        lines.append(f"| {c['corpus']} | {_source_cell(c.get('source'))} | {c['license'] or 'not stated'} | "
                     f"`{c['mapping']}` | {share} |")
    lines += ["", "Check each corpus's license before any use beyond research.", "",
              "Each corpus on its own (macro and weighted F1 over the corpus's labels, argmax over all labels; "
              "`own labels`: argmax over the corpus's labels alone):", "",
              "| corpus | split | accuracy | macro F1 | weighted F1 | own labels macro F1 | neutral AUROC |",
              "|---|---|---|---|---|---|---|"]
    for prefix, metrics in (("eval", eval_metrics), ("test", test_metrics or {})):
        for c in corpora:
            key = f"{prefix}_{c['name']}"
            if f"{key}_macro_f1" not in metrics:
                continue
            cells = [metrics.get(f"{key}_{m}") for m in ("accuracy", "macro_f1", "weighted_f1",
                                                          "own_labels_macro_f1", "neutral_auroc")]
            lines.append(f"| {c['name']} | {'validation' if prefix == 'eval' else 'test'} | "
                         + " | ".join("-" if v is None else f"{v:.4f}" for v in cells) + " |")
    return "\n".join(lines) + "\n"


def write_model_card(output_dir, *, model_name: str, base_model: str, dataset_name: str, license: str,
                     config, eval_metrics: dict, test_metrics: dict | None, widget: list[dict],
                     training_summary: str, figures: dict | None = None, affect_source: str | None = None,
                     lexicon_source: str | None = None, corpora: list[dict] | None = None,
                     teachers: str | None = None) -> Path:
    """Write `output_dir/README.md` and return its path. `figures`: PNG file names in `output_dir` by kind
    (plots.FIGURES), shown in the card. `corpora`: train.py --corpus's corpora (name, corpus, license, mapping,
    proportion), listed with their licences and with their own metrics. `teachers`: a sentence on the teachers
    whose targets it learned (train.py `teacher_sentence`), or None."""
    results = []
    if test_metrics:
        results = [
            EvalResult(task_type="text-classification", task_name="Text Classification", dataset_type=dataset_name,
                       dataset_name=dataset_name, dataset_split="test", metric_type=metric_type, metric_name=name, metric_value=round(test_metrics[f"test_{key}"], 4),
                       metric_args={"average": average} if average else None)
            for key, name, metric_type, average in HEADLINE if f"test_{key}" in test_metrics
        ]
    data = ModelCardData(
        library_name="transformers", pipeline_tag="text-classification", base_model=base_model,
        datasets=[dataset_name], license=license, tags=["cmhl", "emotion", "text-classification"],
        model_name=model_name, eval_results=results or None, widget=widget,
    )
    weights = ", ".join(f"{name} {getattr(config, name)}" for name in
                        ("emotion_weight", "valence_weight", "arousal_weight", "contradiction_weight",
                         "valence_consistency_weight", "label_target_weight"))
    labels = ", ".join(config.label_names)
    dimensional = (f"The valence and arousal heads learned per-text ratings from `{affect_source}`"
                   + (" (EmoBank, Buechel & Hahn 2017, CC-BY-SA 4.0)" if "emobank" in affect_source.lower() else "")
                   + "; `affect_*` metrics are Pearson r and MAE against its held-out ratings."
                   if affect_source else "The valence and arousal heads learned the labels' circumplex points only.")
    untrained = [h for h in ("valence", "arousal") if not config.head_is_trained(h)]
    if untrained:
        dimensional = (f"The {' and '.join(untrained)} head(s) were not trained (no ratings): predict.py, app.py and "
                       "this card leave their outputs out; train with `--affect_file` (e.g. EmoBank) to get them.")
    if lexicon_source:
        dimensional += (f" The valence head also learned word ratings from `{lexicon_source}`"
                        + (" (VADER, Hutto & Gilbert 2014, MIT)" if "vader" in lexicon_source.lower() else "") + ".")
    if teachers:
        dimensional += f" {teachers}"
    data_section = _corpus_section(corpora, eval_metrics, test_metrics) if corpora else f"""## Data and license

Trained on `{dataset_name}`. dair-ai/emotion is licensed for education and research only, and its labels come
from distant supervision (hashtags), so they are noisy. Check the data set's license before any other use.
"""
    body = f"""
# {model_name}

A CMHL emotion classifier (Contrastive Multi-Head Learning, arXiv 2603.14078): the `{base_model}` encoder
with three jointly trained heads, emotion ({labels}), valence in [-1, 1] and arousal in [0, 1], and a
contrastive contradiction loss. Intensity in [0, 1] is read from valence and arousal
(`{config.intensity_definition}`: the distance from the circumplex's neutral centre, Reisenzein 1994), so a
calm but very unpleasant text ("devastated") is intense. {dimensional} Loss weights: {weights};
contradiction mode `{config.contradiction_mode}` (margin {config.contradiction_margin}). The emotion head is the
encoder's stock classification head, so stock loaders read this checkpoint without custom code.

## Use

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="{model_name}")  # stock classes, no custom code
classifier("i feel so grateful today", top_k=None)
```

All three heads: `AutoModel.from_pretrained("{model_name}", trust_remote_code=True)` returns `logits`,
`valence`, `arousal` and `intensity`. Without `trust_remote_code`, the stock `AutoModelForSequenceClassification`
loads the emotion classifier alone (it reports the `valence_head` / `arousal_head` tensors as unused) and gives the
same probabilities.

## Results

Validation (best checkpoint, chosen on validation macro F1):

{_metric_table(eval_metrics, "eval", config)}

Test split (reported once, never used for selection):

{_metric_table(test_metrics or {}, "test", config) if test_metrics else "No test split was given."}

{_figure_section(figures or {}, "test" if test_metrics else "validation")}
Contradiction rate: share of texts where two incompatible emotions (opposite circumplex valence) both get
probability >= {config.contradiction_threshold}. Valence agreement: share of texts where the valence head's
sign matches the circumplex valence of the predicted emotion.

## Training

{training_summary}

{_neutral_section(config)}
{data_section}
"""
    path = Path(output_dir) / "README.md"
    path.write_text(f"---\n{data.to_yaml()}\n---\n{body}")
    return path


def no_emotion_section(config, calibration: dict) -> str:
    """The card's section on the "no clear emotion" flag of a checkpoint calibrated by no_emotion.py: how the score is
    made, where its threshold was chosen, and what it scored there (validation, never test)."""
    chosen = calibration["chosen"]
    mix = config.no_emotion_mix
    how = ("1 - the top emotion probability" if mix >= 1 else
           f"{mix:.2f} x (1 - the top emotion probability) + {1 - mix:.2f} x (1 - intensity)")
    baselines = "; ".join(f"{name} {m['auroc']:.3f}" for name, m in calibration.get("methods", {}).items())
    return f"""## No clear emotion

A six-way classifier gives every text an emotion, a meeting reminder included. This checkpoint also says when a
text shows no clear emotion: its no-emotion score is {how}, and a text is flagged when the score is at least
{config.no_emotion_threshold:.4f} (`no_emotion_mix` and `no_emotion_threshold` in config.json; `no_emotion` in the
outputs of `AutoModel`, columns `no_emotion_score` and `no_emotion` in predict.py). Both were chosen on
`{Path(calibration['validation_file']).name}` ({chosen['positives']} texts labelled neutral alone against
{chosen['negatives']} that map to one of the labels), where the score reached AUROC {chosen['auroc']:.3f} and F1
{chosen['f1']:.3f} for the neutral texts (precision {chosen['precision']:.3f}, recall {chosen['recall']:.3f}); AUROC
there of the single scores: {baselines}. The emotion probabilities are unchanged: the flag is read beside them.
"""
