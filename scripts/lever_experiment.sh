#!/usr/bin/env bash
# One augmentation/training lever, measured on real recordings, without re-synthesising speech.
#
#   scripts/lever_experiment.sh BASE_OUTPUT_DIR PHRASE NAME SUITE [hydra overrides...]
#
# BASE_OUTPUT_DIR is the output_dir of a finished default run for PHRASE (stage 1's clips are
# hard-linked from it, so this costs no synthesis and no extra disk). The lever's run goes to
# $EXP_ROOT/NAME (default: logs/levers/NAME), runs stages augment + train with the overrides,
# and the exported model is scored with `python -m wakeforge.benchmark` on SUITE (e.g. a folder
# laid out like ../shared/realworld-dev). Training never reads SUITE: it is only passed to the
# benchmark after the model is exported.
#
# LEVER_STAGES=train: a training-only lever (head, loss, feature-level augmentation): stage 2's
# features are hard-linked too and only stage 3 runs (~3 min on 2 cores instead of ~6).
#
# Example (the "positive_rounds" lever of issue #12):
#   scripts/lever_experiment.sh /tmp/base computer prounds3 ../shared/realworld-dev \
#       augmentation.positive_rounds=3
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 BASE_OUTPUT_DIR PHRASE NAME SUITE [overrides...]" >&2; exit 2; }
base=$1 phrase=$2 name=$3 suite=$4
shift 4
here=$(cd "$(dirname "$0")/.." && pwd)
py=${PY:-$here/.venv/bin/python}
slug=$(printf '%s' "$phrase" | tr 'A-Z ' 'a-z_')
root=${EXP_ROOT:-$here/logs/levers}
src=$base/$slug
dst=$root/$name/$slug
[ -f "$src/generate_report.json" ] || { echo "error: $src has no finished stage 1 (generate_report.json); run the default command for '$phrase' with output_dir=$base first" >&2; exit 2; }
mkdir -p "$dst"
for d in positive_train positive_test negative_train negative_test; do
  [ -d "$dst/$d" ] || cp -al "$src/$d" "$dst/$d"
done
cp "$src/generate_report.json" "$dst/"
stages=${LEVER_STAGES:-augment,train}
if [ "$stages" = train ]; then
  [ -d "$src/features" ] || { echo "error: $src has no stage-2 features; LEVER_STAGES=train needs a finished augment stage" >&2; exit 2; }
  [ -d "$dst/features" ] || cp -al "$src/features" "$dst/features"
fi
start=$(date +%s)
"$py" -m wakeforge.train "data.phrase=$phrase" "output_dir=$root/$name" "stages=[$stages]" \
  logger=none "$@" > "$root/$name.log" 2>&1
echo "$stages: $(( $(date +%s) - start )) s (log: $root/$name.log)"
"$py" -m wakeforge.benchmark --suite "$suite" --model "$name=$dst/$slug.onnx" --phrase "$phrase" \
  --out "$root/bench_$name"
