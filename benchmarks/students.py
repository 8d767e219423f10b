"""The teachers table (issue 27): each single-task teacher, CMHL today and the CMHL students side by side, from the
result files the other benchmarks write (quality.py: dair-ai; dimensional.py: EmoBank r and the contrast pairs, test
and dev; ensemble.py: seed ensembles). Nothing is trained or scored here.

    python benchmarks/students.py                       # print the table
    python benchmarks/students.py --markdown BENCHMARKS.md

A row is (title, tag, cell, seeds) of the runs it averages (mean ± sd over their seeds), an ensemble row the name
its ensemble was scored under (ensemble.py / dimensional.py `--name`); a plain classifier's valence and arousal are
read from its emotion distribution ("from p", dimensional.py), an EmoBank regression has no dair-ai columns. A row
with no results yet is left out.
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

ROWS = (  # title, tag, cell, seeds (None: every seed recorded)
    ("plain fine-tuning = the emotion teacher", "teacher-e4-lr1e-4", "plain", (42,)),
    ("plain fine-tuning", "recipe-e4-lr1e-4", "plain", None),
    ("EmoBank regression = the affect teacher", "teacher-e4-lr1e-4", "emobank_regression", (42,)),
    ("EmoBank regression", "anchor-e4-lr1e-4", "emobank_regression", None),
    ("CMHL today, with EmoBank", "recipe-e4-lr1e-4", "cmhl_emobank", None),
    ("CMHL today, with EmoBank and VADER's words", "recipe-e4-lr1e-4", "cmhl_emobank_lexicon", None),
    ("CMHL student of both teachers, linear annealing (BAM)", "bam-linear", "student", None),
    ("**CMHL student of both teachers, constant mix 0.5 (chosen on validation)**", "bam-constant0.5", "student", None),
    ("plain student of the emotion teacher, linear annealing", "bam-linear", "plain_student", None),
    ("CMHL student of both teachers' 3-seed ensembles, constant mix 0.5", "bam-ensembles-constant0.5", "student", None),
)
ENSEMBLES = (  # title, name given to ensemble.py / dimensional.py (--name), the members' cell
    ("plain fine-tuning, 3-seed ensemble (the emotion teacher and seeds 43, 44)", "teacher-e4-lr1e-4-plain-ensemble",
     "plain"),
    ("EmoBank regression, 3-seed ensemble (the affect teacher and seeds 43, 44)",
     "teacher-e4-lr1e-4-emobank_regression-ensemble", "emobank_regression"),
)
COLUMNS = ("seeds", "validation macro F1", "EmoBank dev r V / A", "test acc / macro / weighted F1",
           "test F1 love / surprise", "test contradiction rate", "EmoBank test r V / A", "pairs ordered test / dev")


def records(folder: str, tag: str, cell: str) -> dict[int, dict]:
    """{seed: record} of one tag and cell in benchmarks/results/<folder>."""
    found = {}
    for path in sorted((RESULTS / folder).glob(f"{tag}-{cell}-seed*.json")):
        record = json.loads(path.read_text())
        if record.get("tag") == tag and record.get("cell") == cell:
            found[record["seed"]] = record
    return found


def mean_sd(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.fmean(values):.{digits}f}{spread}"


def joined(*parts: str) -> str:
    return " / ".join(parts) if any(p != "-" for p in parts) else "-"


def line(title: str, seeds: str, cell: str, results: list[dict], test: list[dict], dev: list[dict]) -> str:
    """One table line: `results` are quality.py's metrics (eval_*, test_*) per model, `test` and `dev` the
    dimensional.py scores per model; each column is their mean ± sd."""
    def q(key, digits=4):
        return mean_sd([r[key] for r in results if key in r], digits)

    def d(found, key, digits=3):
        return mean_sd([scores[key] for scores in found if key in scores], digits)

    plain = cell in ("plain", "plain_student")  # its valence and arousal come from p(emotion)
    regression = cell == "emobank_regression"  # no emotion head: no dair-ai columns
    source = "from_emotions" if plain else "heads"
    note = " (from p)" if plain else ""
    cells = [seeds, "n/a" if regression else q("eval_macro_f1"),
             joined(d(dev, f"emobank_valence_r_{source}"), d(dev, f"emobank_arousal_r_{source}")) + note,
             *(["n/a"] * 3 if regression else [joined(q("test_accuracy"), q("test_macro_f1"), q("test_weighted_f1")),
                                                joined(q("test_f1_love", 3), q("test_f1_surprise", 3)),
                                                q("test_contradiction_rate", 3)]),
             joined(d(test, f"emobank_valence_r_{source}"), d(test, f"emobank_arousal_r_{source}")) + note,
             joined(d(test, f"pairs_ordered_{source}", 2), d(dev, f"pairs_ordered_{source}", 2)) + note]
    return f"| {title} | " + " | ".join(cells) + " |"


def row(title: str, tag: str, cell: str, only: tuple[int, ...] | None) -> str | None:
    """The line of the runs of one tag and cell (seeds `only`, or all), None before any has a result."""
    quality, test, dev = (records(folder, tag, cell) for folder in ("quality", "dimensional", "dimensional_dev"))
    seeds = sorted((set(quality) | {s for s, r in test.items() if "dimensional" in r}) & set(only or range(10**6)))
    if not seeds:
        return None
    return line(f"{title} (`{tag}`)", ",".join(map(str, seeds)), cell,
                [quality[s]["results"] for s in seeds if s in quality],
                *([found[s]["dimensional"] for s in seeds if "dimensional" in found.get(s, {})]
                  for found in (test, dev)))


def ensemble_row(title: str, name: str, cell: str) -> str | None:
    """The line of a seed ensemble: dair-ai from ensemble.py's file, EmoBank and pairs from dimensional.py's."""
    emotion = RESULTS / "ensemble" / f"{name}.json"
    scores = {split: RESULTS / folder / f"{name}.json" for split, folder in
              (("test", "dimensional"), ("dev", "dimensional_dev"))}
    found = [json.loads(p.read_text()) for p in (emotion, *scores.values()) if p.exists()]
    if not found:
        return None
    members = [Path(m).name for record in found[:1] for m in record.get("members", [])]
    seeds = [re.search(r"seed(\d+)$", m) for m in members]
    seeds = ",".join(s.group(1) for s in seeds) if seeds and all(seeds) else f"{len(members)} models"
    results = []
    if emotion.exists():
        record = json.loads(emotion.read_text())
        results = [{**{f"eval_{k}": v for k, v in record.get("validation", {}).items()},
                    **{f"test_{k}": v for k, v in record.get("test", {}).items()}}]
    test, dev = ([json.loads(p.read_text()).get("dimensional", {})] if p.exists() else [] for p in scores.values())
    return line(f"{title} (`{name}`)", f"ensemble of {seeds}", cell, results, test, dev)


def table() -> str:
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    found = [row(*spec) for spec in ROWS] + [ensemble_row(*spec) for spec in ENSEMBLES]
    lines += [text for text in found if text]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", type=Path, help="also write the table between the teachers markers of this file")
    args = parser.parse_args(argv)
    text = table()
    print(text)
    if args.markdown:
        sys.path.insert(0, str(Path(__file__).parent))
        from quality import write_between_markers

        write_between_markers(args.markdown, "teachers", text)


if __name__ == "__main__":
    main()
