#!/usr/bin/env bash
# Issue 17's "Done when", re-runnable: in a fresh virtual environment holding only keras and jax (no TensorFlow),
# `pip install <this checkout>` installs the library without pulling TensorFlow, and examples/own_model.py (two
# Information Dropout layers, ReLU and Softplus with batch norm: fit with AlphaMonitor, .keras save and load,
# mc_predict) runs on the installed package with KERAS_BACKEND=jax; then the same example on TensorFlow with
# TF_PYTHON (default: .venv/bin/python, the environment `make setup` makes; the checkout on its path).
#   tools/check_install.sh [work-folder]     (default: a new temporary folder, removed at the end)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-$(mktemp -d)}"
[ $# -ge 1 ] || trap 'rm -rf "$WORK"' EXIT
KERAS_VERSION="${KERAS_VERSION:-3.15.1}"
JAX_VERSION="${JAX_VERSION:-0.10.2}"
TF_PYTHON="${TF_PYTHON:-$REPO/.venv/bin/python}"

echo "== fresh venv with keras $KERAS_VERSION and jax $JAX_VERSION only, in $WORK/venv"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "keras==$KERAS_VERSION" "jax[cpu]==$JAX_VERSION"
echo "== pip install $REPO"
"$WORK/venv/bin/pip" install --quiet "$REPO"
if "$WORK/venv/bin/pip" list 2>/dev/null | grep -iE '^(tensorflow|tf-keras|torch) '; then
    echo "FAIL: installing the library pulled the package(s) above" >&2
    exit 1
fi
"$WORK/venv/bin/pip" show infodropout | grep -E '^(Name|Version|Requires):'
echo "no tensorflow installed: OK"

echo "== KERAS_BACKEND=jax, the installed package (run from $WORK, not from the checkout)"
(cd "$WORK" && KERAS_BACKEND=jax JAX_PLATFORMS=cpu "$WORK/venv/bin/python" "$REPO/examples/own_model.py")

echo "== KERAS_BACKEND=tensorflow with $TF_PYTHON"
(cd "$WORK" && KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH="$REPO" "$TF_PYTHON" "$REPO/examples/own_model.py")
echo "check_install: OK"
