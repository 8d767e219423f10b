"""The table of BENCHMARKS.md "Base size" (and README "Results today") from the runs of benchmarks/base_size.sh and
the texts/s of benchmarks/serving_cost.py:

    python benchmarks/base_size_table.py      # prints the table, writes benchmarks/results/base_size/table.json
    python benchmarks/base_size_table.py transfer   # the student with and without the transfer set: transfer.json

Each cell: runs/base/<cell>-seed<N>/all_results.json (train.py, best epoch on validation, test read once at the end
of its run); parameters counted from the run's model.safetensors; CPU minutes are Trainer's train_runtime (teacher
scoring not included: the student's log says how long it took), none for a run that was stopped (SIGSTOP, recorded in
runs/base/<run>.paused) while other jobs ran beside it. Mean ± sample sd over the seeds found.
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from corpora_table import summary  # noqa: E402  (column -> (mean, sd, n))
from outputs import write_json  # noqa: E402

RUNS = REPO / "runs" / "base"
CELLS = [  # (row, cell, texts/s name in serving.json)
    ("MiniLM-L6 CMHL across corpora (today's recipe)", "minilm-cmhl-corpora", "minilm"),
    ("MPNet-base plain, dair-ai only", "mpnet-plain-dair-lr5e-5", "mpnet"),  # same encoder: same cost
    ("MPNet-base CMHL + EmoBank, dair-ai only", "mpnet-cmhl-dair-lr5e-5", "mpnet"),
    ("MPNet-base CMHL across corpora", "mpnet-cmhl-corpora-lr5e-5", "mpnet"),
    ("MiniLM-L6 student of the MPNet teacher, across corpora", "student-mpnet-corpora", "student"),
]
TRANSFER_CELLS = [  # the transfer set (issue 42): one teacher, two students, validation columns first
    ("MPNet-base CMHL across corpora (the teacher)", "mpnet-cmhl-corpora-lr5e-5", "mpnet"),
    ("MiniLM-L6 student, labelled texts", "student-mpnet-corpora", "student"),
    ("MiniLM-L6 student, labelled texts + XED transfer set", "student-mpnet-corpora-xed", "student"),
]
STUDIES = {"base": (CELLS, "table.json"), "transfer": (TRANSFER_CELLS, "transfer.json")}
# column -> keys tried in order (a one-corpus run has no own_labels keys: its labels are the corpus's)
COLUMNS = {
    "dair-ai acc": ["test_dair_ai_own_labels_accuracy", "test_dair_ai_accuracy"],
    "dair-ai macro F1": ["test_dair_ai_own_labels_macro_f1", "test_dair_ai_macro_f1"],
    "dair-ai weighted F1": ["test_dair_ai_own_labels_weighted_f1", "test_dair_ai_weighted_f1"],
    "GoEmotions macro F1": ["test_goemotions_macro_f1"],
    "GoEmotions neutral AUROC": ["test_goemotions_neutral_auroc"],
    "MELD macro F1": ["test_meld_macro_f1"],
    "MELD weighted F1": ["test_meld_weighted_f1"],
    "EmoBank r V": ["test_affect_valence_pearson"],
    "EmoBank r A": ["test_affect_arousal_pearson"],
    "mean per-corpus macro F1 (test)": ["test_mean_source_macro_f1"],
    "mean per-corpus macro F1 (validation)": ["eval_mean_source_macro_f1"],
    "dair-ai weighted F1 (validation)": ["eval_dair_ai_own_labels_weighted_f1", "eval_dair_ai_weighted_f1"],
    "GoEmotions neutral AUROC (validation)": ["eval_emotion_goemotions_neutral_auroc", "eval_goemotions_neutral_auroc"],
    "MELD weighted F1 (validation)": ["eval_emotion_meld_weighted_f1", "eval_meld_weighted_f1"],
    "EmoBank r V (validation)": ["eval_affect_valence_pearson"],
    "train CPU min": ["train_runtime"],
}


def parameters(folder: Path) -> float | None:
    from safetensors import safe_open

    path = folder / "model.safetensors"
    if not path.is_file():
        return None
    with safe_open(str(path), "pt") as handle:
        total = 0
        for name in handle.keys():
            size = 1
            for dim in handle.get_slice(name).get_shape():
                size *= dim
            total += size
    return total / 1e6


def cell_values(folder: Path) -> dict:
    results = json.loads((folder / "all_results.json").read_text())
    values = {column: next((results[k] for k in keys if k in results), None) for column, keys in COLUMNS.items()}
    paused = folder.parent / f"{folder.name}.paused"  # "paused N s ...": a run stopped (SIGSTOP) for N seconds
    # a run that was stopped shared the CPU with other jobs around it: its time is not this machine's, so none is shown
    values["train CPU min"] = values["train CPU min"] / 60 if values["train CPU min"] and not paused.is_file() else None
    values["params (M)"] = parameters(folder)
    return values


def cell(stats: dict, column: str, digits: int = 4) -> str:
    if column not in stats:
        return "n/a"
    mean, sd, _ = stats[column]
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd is not None else "")


def main(study: str = "base"):
    cells, out_name = STUDIES[study]
    serving = REPO / "benchmarks" / "results" / "base_size" / "serving.json"
    speeds = json.loads(serving.read_text())["texts_per_second"] if serving.is_file() else {}
    rows, record = [], {}
    for name, prefix, speed_name in cells:
        folders = sorted(RUNS.glob(f"{prefix}-seed*"))
        folders = [f for f in folders if (f / "all_results.json").is_file()]
        if not folders:
            continue
        stats = summary([cell_values(f) for f in folders])
        seeds = ", ".join(f.name.rsplit("seed", 1)[1] for f in folders)
        speed = speeds.get(speed_name, {}).get("mean") if speed_name else None
        record[name] = {"cell": prefix, "seeds": seeds, "stats": stats, "texts_per_second": speed}
        if study == "transfer":
            rows.append(f"| {name} (seed {seeds}) | {cell(stats, 'mean per-corpus macro F1 (validation)')} | "
                        f"{cell(stats, 'dair-ai weighted F1 (validation)')} | "
                        f"{cell(stats, 'GoEmotions neutral AUROC (validation)')} | "
                        f"{cell(stats, 'MELD weighted F1 (validation)')} | {cell(stats, 'EmoBank r V (validation)', 3)} | "
                        f"{cell(stats, 'mean per-corpus macro F1 (test)')} | {cell(stats, 'dair-ai weighted F1')} | "
                        f"{cell(stats, 'GoEmotions neutral AUROC')} | {cell(stats, 'MELD weighted F1')} | "
                        f"{cell(stats, 'EmoBank r V', 3)} / {cell(stats, 'EmoBank r A', 3)} | "
                        f"{cell(stats, 'train CPU min', 1)} |")
            continue
        rows.append(f"| {name} (seed {seeds}) | {cell(stats, 'params (M)', 1)}M | "
                    f"{cell(stats, 'dair-ai acc')} / {cell(stats, 'dair-ai macro F1')} / "
                    f"{cell(stats, 'dair-ai weighted F1')} | {cell(stats, 'GoEmotions macro F1')} / "
                    f"{cell(stats, 'GoEmotions neutral AUROC')} | {cell(stats, 'MELD macro F1')} / "
                    f"{cell(stats, 'MELD weighted F1')} | {cell(stats, 'EmoBank r V', 3)} / {cell(stats, 'EmoBank r A', 3)} | "
                    f"{cell(stats, 'mean per-corpus macro F1 (test)')} | {cell(stats, 'train CPU min', 1)} | "
                    f"{f'{speed:.0f}' if speed else 'n/a'} |")
    header = ("| model | params | dair-ai test acc / macro / weighted F1 (six-way) | GoEmotions test macro F1 (7-way) / "
              "neutral AUROC | MELD test macro / weighted F1 | EmoBank test r V / A | mean per-corpus macro F1 | "
              "train CPU min | texts/s (predict.py) |\n|---|---|---|---|---|---|---|---|---|")
    if study == "transfer":
        header = ("| model | validation: mean per-corpus macro F1 | dair-ai weighted F1 | GoEmotions neutral AUROC | "
                  "MELD weighted F1 | EmoBank r V | test: mean per-corpus macro F1 | dair-ai weighted F1 | "
                  "GoEmotions neutral AUROC | MELD weighted F1 | EmoBank r V / A | train CPU min |\n"
                  "|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(header + "\n" + "\n".join(rows))
    write_json(REPO / "benchmarks" / "results" / "base_size" / out_name, record)


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1] not in STUDIES):
        sys.exit(f"usage: python benchmarks/base_size_table.py [{' | '.join(STUDIES)}]")
    main(*sys.argv[1:])
