#!/usr/bin/env bash
# Renders screenshots of PhenoLIP Explorer's main views into docs/screenshots/ under Xvfb with
# ImageMagick's `import`: analysis, ontology, term page, dark style, a narrow (360 px) window, and the
# Evaluate view (light and dark) after two runs of the fixture benchmark.
#   tools/screenshots.sh [BUILD_DIR]      (default: build; needs xvfb-run and imagemagick)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
build=${1:-build}
out=docs/screenshots
mkdir -p "$out"
exe="$build/ui/pl-screenshot"
[ -x "$exe" ] || { echo "missing $exe: build first (ninja -C $build)" >&2; exit 1; }
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT

shoot () {
  local name=$1 width=$2 height=$3; shift 3
  XDG_DATA_HOME="$home" GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/ui/data" GTK_USE_PORTAL=0 \
  PL_DEMO_DIR="$PWD/data/demo" PL_SHARED_DATA_DIR="$PWD/../shared/data" \
    xvfb-run -a -s "-screen 0 ${width}x${height}x24" \
    "$exe" --view "$@" --width "$width" --height "$height" --output "$out/$name.png"
  echo "$out/$name.png"
}

shoot analysis 1200 800 analysis
shoot ontology 1200 800 ontology
shoot term     1200 800 term
shoot dark     1200 800 analysis --dark
shoot narrow   360  720 analysis
shoot evaluate 1200 900 evaluate
shoot evaluate-dark 1200 900 evaluate --dark
