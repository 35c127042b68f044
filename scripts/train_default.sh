#!/usr/bin/env bash
# Build the corpus, train the `default` preset (resumable: rerun to continue), evaluate on held-out voices.
# Usage: scripts/train_default.sh [RUN_DIR]   (nice'd; 2 CPU threads; ≤ 2 h per invocation is typical)
set -euo pipefail
RUN=${1:-runs/default}
PY=${PYTHON:-.venv/bin/python}
nice -n 10 "$PY" -m polyvox.cli data synth --out runs/corpus --hours 3 --languages en,es,fr,de --seed 0 \
  --teacher template --quiet   # the shipped checkpoint's corpus (--teacher llm: replies by the cascade's LLM, ~10x slower)
nice -n 10 "$PY" -m polyvox.cli data synth --out runs/heldout --hours 0.05 --languages en,es,fr,de --seed 101 --split heldout --quiet
nice -n 10 timeout 2h "$PY" -m polyvox.train --preset default --data runs/corpus --out "$RUN" --threads 2 \
  || echo "stopped (time limit or error): rerun to resume from $RUN/state.pt"
nice -n 10 "$PY" scripts/eval_unified.py --checkpoint "$RUN/unified.pt" --data runs/heldout --out "$RUN/eval.json"
sha256sum "$RUN/unified.pt"
