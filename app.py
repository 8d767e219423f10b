"""Demo page of a CMHL checkpoint, of the kind a Hugging Face Space runs (Gradio).

    python app.py --model_name_or_path runs/cmhl          # or CMHL_MODEL=user/cmhl-roberta python app.py

A text box; the six emotion probabilities as a bar chart; the text's valence and arousal placed on the circumplex
beside the labels' coordinates; the consistency flag; and, for a checkpoint calibrated by no_emotion.py, whether
the text shows no clear emotion. A Space sets `CMHL_MODEL` (a Hub id or a folder)
and runs this file; it listens on `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` (Gradio's own variables).
"""

import argparse
import os
from pathlib import Path

import numpy as np

import entry
import plots
from data import DataError, check_text_encodable
from predict import Predictor

EXAMPLES = ["i feel so grateful to have friends who show up when it matters",
            "i am furious that they cancelled again without telling anyone",
            "i feel nervous walking home alone this late"]


def describe(predictor: Predictor, text: str):
    """One text -> (summary markdown, probability bars, circumplex figure). A text no encoder can read (a lone UTF-16
    surrogate pasted from a broken source) gets one sentence instead of scores."""
    try:
        check_text_encodable("the text", text)
    except DataError as error:
        return f"### {error}", None, None
    result = predictor([text])
    probabilities, valence, arousal = result["probabilities"][0], result["valence"][:1], result["arousal"][:1]
    intensity = result["intensity"][:1]
    top = int(probabilities.argmax())
    names = predictor.label_names
    config = predictor.config
    anchors = config.circumplex_targets() if config.circumplex_coordinates is not None else None
    consistent = bool(result["consistent"][0])
    shown = predictor.dimensions  # only heads that were trained
    summary = (f"### Top emotion: {names[top]} ({probabilities[top]:.1%})\n\n"
               + (f"valence **{valence[0]:+.2f}** (-1 unpleasant ... +1 pleasant) · " if "valence" in shown else "")
               + (f"arousal **{arousal[0]:.2f}** (0 calm ... 1 excited) · " if "arousal" in shown else "")
               + (f"intensity **{intensity[0]:.2f}** (distance from neutral, 0 ... 1) · " if "intensity" in shown
                  else "")
               + ("" if "intensity" in shown else "valence / arousal: not trained for this model · ")
               + ("consistent: **yes**" if consistent else
                  "consistent: **no** (incompatible emotions both likely, or valence disagrees with the emotion)")
               + no_emotion_line(predictor, result))
    bars = plots.probability_bars(probabilities, names)
    circumplex = (plots.circumplex_figure(valence, arousal, np.array([top]), names, anchors,
                                          title="This text on the circumplex") if "intensity" in shown else None)
    return summary, bars, circumplex


def no_emotion_line(predictor: Predictor, result: dict) -> str:
    """The no-clear-emotion verdict: a model's own `neutral` label, or a checkpoint calibrated by no_emotion.py; nothing
    for a six-label checkpoint without calibration."""
    if not predictor.no_emotion_fields:
        return ""
    score, threshold = float(result["no_emotion"][0]), predictor.config.no_emotion_threshold
    if threshold is None:  # the model's neutral class: p(neutral), flagged when it is the top label
        verdict = "**yes**: `neutral` is the top label" if result["no_emotion_flag"][0] else "**no**"
        return f"\n\nno clear emotion: {verdict} (p(neutral) {score:.2f})"
    verdict = "**yes**: the top emotion is only the closest guess" if result["no_emotion_flag"][0] else "**no**"
    return f"\n\nno clear emotion: {verdict} (score {score:.2f}; flagged from {threshold:.2f})"


def model_title(model_name_or_path: str) -> str:
    """The model's name for the page: the card's `model_name` where the folder has a card, else the folder's last
    part, or the Hub id as given; never a path of the machine serving it."""
    folder = Path(model_name_or_path)
    if not folder.is_dir():
        return model_name_or_path  # a Hub id
    card = folder / "README.md"
    if card.is_file():
        from huggingface_hub import ModelCard

        name = ModelCard.load(card).data.to_dict().get("model_name")
        if name:
            return str(name)
    return folder.resolve().name


def build_demo(model_name_or_path: str):
    """The gr.Blocks page (gradio imported here: it reads $GRADIO_SERVER_PORT when imported, checked first)."""
    import gradio as gr

    predictor = Predictor(model_name_or_path)
    with gr.Blocks(title="CMHL emotion classifier") as demo:
        gr.Markdown(f"# CMHL emotion classifier\n`{model_title(model_name_or_path)}`: emotion, valence, arousal and intensity "
                    "of a text.")
        text = gr.Textbox(label="Text", lines=3, placeholder="i feel ...", elem_id="text")
        button = gr.Button("Classify", variant="primary", elem_id="classify")
        summary = gr.Markdown(elem_id="summary")
        with gr.Row():
            bars = gr.Plot(label="Emotion probabilities", elem_id="probabilities", format="png")
            circumplex = gr.Plot(label="Circumplex", elem_id="circumplex", format="png")
        gr.Examples(EXAMPLES, inputs=text)
        outputs = [summary, bars, circumplex]
        button.click(lambda t: describe(predictor, t), inputs=text, outputs=outputs)
        text.submit(lambda t: describe(predictor, t), inputs=text, outputs=outputs)
    return demo


def port_number(value: str) -> int:
    """argparse type of --port (and $GRADIO_SERVER_PORT): a TCP port, 1-65535."""
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise DataError(f"--port / GRADIO_SERVER_PORT: expected a port number 1-65535, got {value!r}")
    return port


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name_or_path", default=os.environ.get("CMHL_MODEL"),
                        help="CMHL checkpoint folder or Hub id (default: $CMHL_MODEL)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                        help="TCP port (default: $GRADIO_SERVER_PORT, else 7860)")
    args = parser.parse_args(argv)
    if os.environ.get("GRADIO_SERVER_PORT") is not None:  # gradio reads it when imported: checked before that
        port_number(os.environ["GRADIO_SERVER_PORT"])
    if not args.model_name_or_path:
        parser.error("give --model_name_or_path or set CMHL_MODEL")
    port = port_number(args.port)
    demo = build_demo(args.model_name_or_path)  # a folder that is not one whole save: a DataError, one line
    try:
        demo.launch(server_name=args.host, server_port=port, share=False)
    except OSError as error:  # gradio's "Cannot find empty port": the port is taken
        raise DataError(f"--port {port}: cannot serve there ({str(error).splitlines()[0]}); another program uses "
                        "it? give another --port") from None


def cli(argv=None) -> None:
    entry.run(lambda: main(argv), interrupted="the demo page stopped")


if __name__ == "__main__":
    cli()
