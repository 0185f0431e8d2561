#!/usr/bin/env bash
# Python client checks, run by `npm test` (script test:py). Creates two
# virtualenvs under python/ (gitignored), installs pinned packages from PyPI,
# then:
#   ours:      ruff check, ruff format --check, mypy --strict, and pytest over
#              tests/ (unit, interop, interop_ours) with our client installed
#              from a freshly built wheel;
#   published: pytest over tests/interop with runtimeuse-client==0.15.1, the
#              same end-to-end suite, proving ours is a drop-in.
#   py310:     when a Python 3.10 is found (python3.10 on PATH or pyenv's),
#              pytest over tests/ again with our client on it, since 3.10 is
#              the oldest Python we support (websockets 15 there).
# Assumes the JS side is built (npm install / npm ci ran): the interop tests
# start packages/runtimeuse/bin/runtimeuse.js, and dist/release/runtimeuse.mjs
# (the runtime as one file), which this script builds first.
# Env: PYTHON (default python3, must be >= 3.11), PYTHON310 (a 3.10
# interpreter; "none" skips that stage), PYTEST_ARGS (extra pytest args).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY_DIR="$ROOT/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

say() { printf '\n== %s\n' "$*"; }
die() { printf 'test-python: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON to a Python >= 3.11)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$("$PYTHON" --version 2>&1) is too old: the published 0.15.1 client needs Python >= 3.11"
[ -f "$ROOT/packages/runtimeuse/dist/cli/main.js" ] ||
  die "the runtime is not built; run 'npm install' (or 'npm ci') at $ROOT first"
command -v node >/dev/null || die "node not found; the interop tests start the runtime CLI"

# make_venv DIR REQUIREMENTS [INTERPRETER]: (re)create DIR when the pins or the interpreter changed.
make_venv() {
  local dir="$1" requirements="$2" python="${3:-$PYTHON}" stamp
  stamp="$("$python" --version 2>&1) $(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    return
  fi
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --requirement "$requirements"
  echo "$stamp" >"$dir/.stamp"
}

# run_pytest VENV LABEL ARGS...: pytest's exit code 5 (no tests collected) counts as failure.
run_pytest() {
  local venv="$1" label="$2" status=0
  shift 2
  (cd "$PY_DIR" && RUNTIMEUSE_EXPECT_CLIENT="$label" "$venv/bin/python" -m pytest -p no:cacheprovider \
    ${PYTEST_ARGS:-} "$@") || status=$?
  if [ "$status" -eq 5 ]; then die "pytest ($label) collected no tests"; fi
  [ "$status" -eq 0 ] || die "pytest ($label) failed with exit code $status"
}

OURS="$PY_DIR/.venv-ours"
PUBLISHED="$PY_DIR/.venv-published"

say "runtimeuse.mjs, the runtime as one file (npm run release -- --only onefile)"
node "$ROOT/scripts/release/index.mjs" --only onefile

say "virtualenv for our client ($OURS)"
make_venv "$OURS" "$PY_DIR/requirements-dev.txt"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
"$OURS/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" "$PY_DIR"
"$OURS/bin/python" -m pip install --quiet --no-deps --force-reinstall "$WHEELS"/runtimeuse_client-*.whl

say "virtualenv for the published runtimeuse-client 0.15.1 ($PUBLISHED)"
make_venv "$PUBLISHED" "$PY_DIR/requirements-published.txt"

say "ruff"
(cd "$PY_DIR" && "$OURS/bin/ruff" check . && "$OURS/bin/ruff" format --check .)

say "mypy --strict"
(cd "$PY_DIR" && "$OURS/bin/mypy")

say "pytest: our client (unit, interop, interop_ours)"
run_pytest "$OURS" ours tests

say "pytest: published runtimeuse-client 0.15.1 (interop)"
run_pytest "$PUBLISHED" published tests/interop

find_python310() {
  if [ -n "${PYTHON310:-}" ]; then
    [ "$PYTHON310" = none ] || echo "$PYTHON310"
    return
  fi
  local candidate
  for candidate in "$(command -v python3.10 || true)" "$HOME"/.pyenv/versions/3.10*/bin/python; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
}
PY310="$(find_python310)"
if [ -n "$PY310" ]; then
  say "pytest: our client on $("$PY310" --version 2>&1)"
  make_venv "$PY_DIR/.venv-py310" "$PY_DIR/requirements-py310.txt" "$PY310"
  "$PY_DIR/.venv-py310/bin/python" -m pip install --quiet --no-deps --force-reinstall "$WHEELS"/runtimeuse_client-*.whl
  run_pytest "$PY_DIR/.venv-py310" ours tests
else
  say "no Python 3.10 found: the 3.10 stage is skipped (set PYTHON310 to run it)"
fi

say "python: all checks passed"
