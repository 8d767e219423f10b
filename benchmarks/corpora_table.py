"""The table of BENCHMARKS.md "The text people write" from the runs of benchmarks/corpora.sh (train.py --corpus, test
read once at the end of each run) and from evaluate_cmhl.py's results for today's dair-ai-only student:

    python benchmarks/corpora_table.py                      # prints the table, writes benchmarks/results/corpora.json

Cells: runs/corpora/<cell>-seed<N>/all_results.json (cmhl-e45k, plain-e45k, ...: benchmarks/corpora.sh). Today's
student: runs/corpora/student-seed<N>-<corpus>/cross_domain_results.json (evaluate_cmhl.py with
mappings/goemotions_to_dair_emotion.json and mappings/meld_to_dair_emotion.json on each test split), with its dair-ai
test and EmoBank numbers from its own run (runs/quality/fast-bam-constant0.5-student-seed<N>: the README's student
recipe under today's defaults, benchmarks/quality.py).
Mean ± sample standard deviation over the seeds found.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from outputs import write_json  # noqa: E402

# (column, key in a multi-corpus run's all_results.json)
RUN_COLUMNS = [
    ("dair-ai acc (6-way)", "test_dair_ai_own_labels_accuracy"),
    ("dair-ai macro F1 (6-way)", "test_dair_ai_own_labels_macro_f1"),
    ("dair-ai weighted F1 (6-way)", "test_dair_ai_own_labels_weighted_f1"),
    ("dair-ai macro F1 (7-way)", "test_dair_ai_macro_f1"),
    ("GoEmotions macro F1 (7-way)", "test_goemotions_macro_f1"),
    ("GoEmotions neutral F1", "test_goemotions_neutral_f1"),
    ("GoEmotions neutral AUROC", "test_goemotions_neutral_auroc"),
    ("MELD neutral AUROC", "test_meld_neutral_auroc"),
    ("MELD macro F1 (7-way)", "test_meld_macro_f1"),
    ("MELD weighted F1", "test_meld_weighted_f1"),
    ("EmoBank r V", "test_affect_valence_pearson"),
    ("EmoBank r A", "test_affect_arousal_pearson"),
    ("mean per-corpus macro F1 (test)", "test_mean_source_macro_f1"),
    ("mean per-corpus macro F1 (validation)", "eval_mean_source_macro_f1"),
    ("CPU min", "train_runtime"),
]


def run_values(folder: Path) -> dict:
    results = json.loads((folder / "all_results.json").read_text())
    values = {column: results.get(key) for column, key in RUN_COLUMNS}
    if values["CPU min"] is not None:
        values["CPU min"] = values["CPU min"] / 60
    return values


def student_values(runs: Path, seed: int) -> dict | None:
    """Today's student: dair-ai test and EmoBank from its own run, GoEmotions and MELD from evaluate_cmhl.py (six
    labels: neutral texts are not counted in its F1; its no-emotion score is 1 - max p)."""
    own = REPO / "runs" / "quality" / f"fast-bam-constant0.5-student-seed{seed}" / "test_results.json"
    go = runs / f"student-seed{seed}-goemotions" / "cross_domain_results.json"
    meld = runs / f"student-seed{seed}-meld" / "cross_domain_results.json"
    if not (own.is_file() and go.is_file() and meld.is_file()):
        return None
    own, go, meld = (json.loads(path.read_text()) for path in (own, go, meld))
    return {"dair-ai acc (6-way)": own["test_accuracy"], "dair-ai macro F1 (6-way)": own["test_macro_f1"],
            "dair-ai weighted F1 (6-way)": own["test_weighted_f1"],
            "GoEmotions macro F1 (6-way, neutral not counted)": go["corpus_macro_f1"],
            "GoEmotions neutral AUROC": go["no_emotion"]["checkpoint"]["auroc"],
            "GoEmotions neutral AUROC (1 - intensity)": go["no_emotion"]["intensity"]["auroc"],
            "MELD macro F1 (6-way, neutral not counted)": meld["corpus_macro_f1"],
            "MELD weighted F1 (6-way, neutral not counted)": meld["corpus_weighted_f1"],
            "MELD neutral AUROC": meld["no_emotion"]["checkpoint"]["auroc"],
            "MELD neutral AUROC (1 - intensity)": meld["no_emotion"]["intensity"]["auroc"],
            "EmoBank r V": own.get("test_affect_valence_pearson"),
            "EmoBank r A": own.get("test_affect_arousal_pearson")}


def summary(values: list[dict]) -> dict:
    """column -> (mean, sd or None, n)."""
    table = {}
    for column in values[0]:
        numbers = [v[column] for v in values if v.get(column) is not None]
        if numbers:
            table[column] = (statistics.mean(numbers), statistics.stdev(numbers) if len(numbers) > 1 else None,
                             len(numbers))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "corpora")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "corpora.json")
    args = parser.parse_args()
    cells = {}
    for folder in sorted(args.runs.glob("*-seed*")):
        if (folder / "all_results.json").is_file() and not folder.name.startswith("student"):
            cell = cells.setdefault(folder.name.rsplit("-seed", 1)[0], {"runs": {}})
            cell["runs"][folder.name] = run_values(folder)
    for cell in cells.values():
        cell["seeds"] = sorted(cell["runs"])
        cell["summary"] = summary(list(cell["runs"].values()))
    student = {seed: student_values(args.runs, seed) for seed in (43, 44, 45)}
    student = {f"seed{seed}": values for seed, values in student.items() if values}
    if student:
        cells["student"] = {"seeds": sorted(student), "runs": student, "summary": summary(list(student.values()))}
    for name, cell in cells.items():
        print(f"\n{name} ({len(cell['seeds'])} seeds: {', '.join(cell['seeds'])})")
        for column, (mean, sd, n) in cell["summary"].items():
            print(f"  {column}: {mean:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") + f" (n={n})")
    write_json(args.output, cells)


if __name__ == "__main__":
    main()
