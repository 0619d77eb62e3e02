#!/usr/bin/env bash
# The benchmarks, run by `./run bench` after the build: the model engine against PyTorch on a
# full-size random-weight checkpoint with BiomedCLIP's shapes, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
MODEL=build/bench-model
IMAGES=(../shared/data/images/retina.jpg ../shared/data/images/ihc.png ../shared/data/images/BrainT1Slice.png)
[ -d ../shared/data/images ] || IMAGES=(data/demo/retina.jpg)
REPEATS=${REPEATS:-7}

if [ ! -d tests/reference/.upstream/open_clip-2.23.0 ] && [ -z "${PHENOLIP_UPSTREAM:-}" ]; then
  echo "The PyTorch side needs open_clip v2.23.0 and timm sources in tests/reference/.upstream/;" >&2
  echo "tests/reference/README.md says how to export them from their git repositories." >&2
  exit 1
fi
if [ ! -f "$MODEL/open_clip_pytorch_model.bin" ]; then
  echo "==> Generating a full-size random-weight checkpoint in $MODEL (not committed)" >&2
  $PY tests/reference/make_full_checkpoint.py "$MODEL" >&2
fi

echo "==> This engine" >&2
build/tools/pl-bench-model "$MODEL" "${IMAGES[@]}" --texts tools/bench-texts.json \
  --repeats "$REPEATS" --out build/bench-engine.json
echo "==> PyTorch" >&2
$PY tests/reference/bench_torch.py "$MODEL" --images "${IMAGES[@]}" --texts-json tools/bench-texts.json \
  --threads 1,2 --repeats "$REPEATS" --out build/bench-torch.json >/dev/null
echo "==> Peak memory of phenolip embed-image" >&2
rss_kb=$( { /usr/bin/time -f '%M' build/app/phenolip embed-image "$MODEL" "${IMAGES[0]}" >/dev/null; } 2>&1 | tail -1)
$PY tools/bench-report.py build/bench-engine.json build/bench-torch.json --images "${IMAGES[@]}" \
  --rss-kb "$rss_kb" --checkpoint-bytes "$(stat -c %s "$MODEL/open_clip_pytorch_model.bin")"
