"""The teachers table (issue 27): each single-task teacher, CMHL today and the CMHL students side by side, from the
result files the other benchmarks write (quality.py: dair-ai; dimensional.py: EmoBank r and the contrast pairs, test
and dev; ensemble.py: seed ensembles). Nothing is trained or scored here.

    python benchmarks/students.py                       # print the table
    python benchmarks/students.py --markdown BENCHMARKS.md

A row is (title, tag, cell) of the runs it averages (mean ± sd over their seeds); a plain classifier's valence and
arousal are read from its emotion distribution ("from p", dimensional.py), an EmoBank regression has no dair-ai
columns. A row with no results yet is left out.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

ROWS = (  # title, tag, cell
    ("plain fine-tuning = the emotion teacher", "teacher-e4-lr1e-4", "plain"),
    ("plain fine-tuning", "recipe-e4-lr1e-4", "plain"),
    ("EmoBank regression = the affect teacher", "teacher-e4-lr1e-4", "emobank_regression"),
    ("EmoBank regression", "anchor-e4-lr1e-4", "emobank_regression"),
    ("CMHL today, with EmoBank", "recipe-e4-lr1e-4", "cmhl_emobank"),
    ("CMHL today, with EmoBank and VADER's words", "recipe-e4-lr1e-4", "cmhl_emobank_lexicon"),
    ("CMHL student of both teachers, linear annealing (BAM)", "bam-linear", "student"),
    ("**CMHL student of both teachers, constant mix 0.5 (chosen on validation)**", "bam-constant0.5", "student"),
    ("plain student of the emotion teacher, linear annealing", "bam-linear", "plain_student"),
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


def row(title: str, tag: str, cell: str) -> str | None:
    quality, test, dev = (records(folder, tag, cell) for folder in ("quality", "dimensional", "dimensional_dev"))
    seeds = sorted(set(quality) | {s for s, r in test.items() if "dimensional" in r})
    if not seeds:
        return None
    results = [quality[s]["results"] for s in seeds if s in quality]

    def q(key, digits=4):
        return mean_sd([r[key] for r in results if key in r], digits)

    def d(found, key, digits=3):
        return mean_sd([r["dimensional"][key] for r in found.values() if key in r.get("dimensional", {})], digits)

    plain = cell in ("plain", "plain_student")  # its valence and arousal come from p(emotion)
    regression = cell == "emobank_regression"  # no emotion head: no dair-ai columns
    source = "from_emotions" if plain else "heads"
    note = " (from p)" if plain else ""
    cells = [",".join(map(str, seeds)), "n/a" if regression else q("eval_macro_f1"),
             joined(d(dev, f"emobank_valence_r_{source}"), d(dev, f"emobank_arousal_r_{source}")) + note,
             *(["n/a"] * 3 if regression else [joined(q("test_accuracy"), q("test_macro_f1"), q("test_weighted_f1")),
                                                joined(q("test_f1_love", 3), q("test_f1_surprise", 3)),
                                                q("test_contradiction_rate", 3)]),
             joined(d(test, f"emobank_valence_r_{source}"), d(test, f"emobank_arousal_r_{source}")) + note,
             joined(d(test, f"pairs_ordered_{source}", 2), d(dev, f"pairs_ordered_{source}", 2)) + note]
    return f"| {title} (`{tag}`) | " + " | ".join(cells) + " |"


def ensemble_rows() -> list[str]:
    lines = []
    for path in sorted((RESULTS / "ensemble").glob("*.json")):
        record = json.loads(path.read_text())
        test, dev = record.get("test", {}), record.get("validation", {})
        dims = {split: json.loads(p.read_text()).get("dimensional", {}) for split, p in
                (("test", RESULTS / "dimensional" / path.name), ("dev", RESULTS / "dimensional_dev" / path.name))
                if p.exists()}

        def r(split, key, digits=3):
            value = dims.get(split, {}).get(key)
            return "-" if value is None else f"{value:.{digits}f}"

        def m(block, key, digits=4):
            return "-" if key not in block else f"{block[key]:.{digits}f}"

        lines.append(f"| ensemble `{record['name']}` | {len(record['members'])} models | {m(dev, 'macro_f1')} | "
                     f"{joined(r('dev', 'emobank_valence_r_heads'), r('dev', 'emobank_arousal_r_heads'))} | "
                     f"{joined(m(test, 'accuracy'), m(test, 'macro_f1'), m(test, 'weighted_f1'))} | "
                     f"{joined(m(test, 'f1_love', 3), m(test, 'f1_surprise', 3))} | {m(test, 'contradiction_rate', 3)} | "
                     f"{joined(r('test', 'emobank_valence_r_heads'), r('test', 'emobank_arousal_r_heads'))} | "
                     f"{joined(r('test', 'pairs_ordered_heads', 2), r('dev', 'pairs_ordered_heads', 2))} |")
    return lines


def table() -> str:
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    lines += [line for line in (row(*spec) for spec in ROWS) if line] + ensemble_rows()
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
