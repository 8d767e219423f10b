"""Figures of a CMHL model's predictions (matplotlib, no display needed): the confusion matrix, the
circumplex, the reliability diagram, and the probability bars of one text (the demo page).

Every function returns a matplotlib Figure; `save` writes it as PNG and closes it.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files and web pages only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = plt.get_cmap("tab10").colors


def save(figure, path: Path) -> Path:
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def confusion_figure(confusion: np.ndarray, label_names: list[str], normalise: bool):
    """confusion: (L, L) counts, rows = true label, columns = predicted label."""
    shown = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1) if normalise else confusion
    figure, axes = plt.subplots(figsize=(1.1 * len(label_names) + 2, 1.0 * len(label_names) + 1.5))
    image = axes.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    figure.colorbar(image, ax=axes, label="share of the true label's texts" if normalise else "texts")
    ticks = range(len(label_names))
    axes.set_xticks(ticks, label_names, rotation=45, ha="right")
    axes.set_yticks(ticks, label_names)
    axes.set_xlabel("predicted emotion")
    axes.set_ylabel("true emotion")
    axes.set_title("Confusion matrix, row-normalised" if normalise else "Confusion matrix, counts")
    for i in ticks:
        for j in ticks:
            value = f"{shown[i, j]:.2f}" if normalise else f"{int(shown[i, j])}"
            dark = shown[i, j] > 0.6 * (shown.max() or 1)
            axes.text(j, i, value, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    return figure


def circumplex_figure(valence: np.ndarray, arousal: np.ndarray, predicted: np.ndarray, label_names: list[str],
                      anchors: tuple[list[float], list[float]] | None, title: str = "Circumplex"):
    """Texts placed by predicted (valence, arousal), coloured by predicted emotion; each label's circumplex
    coordinate (`anchors`: valence list, arousal list, as CMHLConfig.circumplex_targets) drawn as a star; dashed
    circles of equal intensity (distance from the neutral centre (0, 0.5), modeling_cmhl.circumplex_intensity).
    valence, arousal, predicted: (N,)"""
    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    for level in (0.25, 0.5, 0.75):
        radius = level * 2 ** 0.5  # intensity = distance / sqrt(2) on axes of half-widths 1 (valence), 0.5 (arousal)
        angle = np.linspace(0, 2 * np.pi, 200)
        axes.plot(radius * np.cos(angle), 0.5 + radius * np.sin(angle) / 2, linestyle=":", color="grey",
                  linewidth=0.7, zorder=1)
        axes.annotate(f"intensity {level}", (0, 0.5 + radius / 2), fontsize=7, color="grey", ha="center",
                      va="bottom")
    for index, name in enumerate(label_names):
        color = COLORS[index % len(COLORS)]
        members = predicted == index
        if members.any() and len(valence) == 1:  # one text (the demo page): a large marker above the stars
            axes.scatter(valence, arousal, s=260, color=color, edgecolor="black", linewidth=2, zorder=4,
                         label=f"this text ({name})")
        elif members.any():
            axes.scatter(valence[members], arousal[members], s=10, alpha=0.45, color=color, label=name)
        if anchors is not None:
            axes.scatter(anchors[0][index], anchors[1][index], s=220, marker="*", color=color, edgecolor="black",
                         linewidth=1.0, zorder=3)
            axes.annotate(name, (anchors[0][index], anchors[1][index]), xytext=(6, 6), textcoords="offset points",
                          fontsize=9, weight="bold")
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.axhline(0.5, color="grey", linewidth=0.8)
    axes.set_xlim(-1.05, 1.05)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("valence (predicted, -1 unpleasant ... +1 pleasant)")
    axes.set_ylabel("arousal (predicted, 0 calm ... 1 excited)")
    axes.set_title(title + ("; stars: label coordinates" if anchors is not None else ""))
    axes.legend(title="predicted emotion", fontsize=8, loc="lower left", markerscale=2 if len(valence) > 1 else 0.6)
    return figure


def reliability_figure(bins: list, ece: float):
    """bins: (low, high, count, accuracy, confidence) per non-empty bin (metrics.expected_calibration_error)."""
    figure, axes = plt.subplots(figsize=(5.5, 5.0))
    for low, high, count, accuracy, confidence in bins:
        axes.bar(low, accuracy, width=high - low, align="edge", color="tab:blue", edgecolor="black", alpha=0.8)
        axes.bar(low, confidence - accuracy, bottom=accuracy, width=high - low, align="edge", color="tab:red",
                 alpha=0.3, edgecolor="none")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    axes.bar(0, 0, color="tab:blue", label="accuracy in bin")
    axes.bar(0, 0, color="tab:red", alpha=0.3, label="gap to mean confidence")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (top predicted probability)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Reliability diagram (ECE {ece:.4f}, {len(bins)} non-empty bins)")
    axes.legend(loc="upper left", fontsize=8)
    return figure


def probability_bars(probabilities: np.ndarray, label_names: list[str]):
    """probabilities: (L,) of one text, as horizontal bars."""
    figure, axes = plt.subplots(figsize=(5.5, 0.45 * len(label_names) + 1.0))
    order = np.argsort(probabilities)
    axes.barh([label_names[i] for i in order], probabilities[order],
              color=[COLORS[i % len(COLORS)] for i in order])
    for position, i in enumerate(order):
        axes.text(probabilities[i] + 0.01, position, f"{probabilities[i]:.1%}", va="center", fontsize=9)
    axes.set_xlim(0, 1.12)
    axes.set_xlabel("probability")
    axes.set_title("Emotion probabilities")
    return figure


FIGURES = {"confusion_counts": "confusion_matrix_counts.png", "confusion_normalised": "confusion_matrix_normalised.png",
           "circumplex": "circumplex.png", "reliability": "reliability_diagram.png"}


def figure_paths(output_dir) -> list[Path]:
    """The files `write_figures` writes into `output_dir`."""
    return [Path(output_dir) / name for name in FIGURES.values()]


def write_figures(output_dir, probabilities: np.ndarray, valence: np.ndarray, arousal: np.ndarray,
                  labels: np.ndarray, config, split: str) -> dict[str, Path]:
    """The evaluation figures of one split as PNG files in `output_dir` (names in FIGURES): the circumplex only for
    a model whose valence and arousal heads were trained (an untrained head's points say nothing).
    probabilities: (N, L) · valence, arousal, labels: (N,)"""
    from metrics import expected_calibration_error

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = config.label_names
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    anchors = config.circumplex_targets() if config.circumplex_coordinates is not None else None
    ece, bins = expected_calibration_error(probabilities, labels)
    paths = {
        "confusion_counts": confusion_figure(confusion, names, normalise=False),
        "confusion_normalised": confusion_figure(confusion, names, normalise=True),
        "reliability": reliability_figure(bins, ece),
    }
    if all(config.head_is_trained(head) for head in ("valence", "arousal")):
        paths["circumplex"] = circumplex_figure(valence, arousal, predicted, names, anchors,
                                                title=f"{split} texts by predicted valence and arousal")
    return {key: save(figure, output_dir / FIGURES[key]) for key, figure in paths.items()}
