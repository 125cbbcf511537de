#!/usr/bin/env bash
# Build .venv-container: the Python environment of the SageMaker XGBoost 3.0-5 image, in which the
# local mode trains and serves model_code/ (Python 3.10, the image's pins from
# container/requirements.txt, and the image's two post-install steps).
#
# Rebuilt from scratch whenever the lock file or this script changes (the stamp holds their hash).
# Usage: bash scripts/container_env.sh   (the Makefile's `container-env` target runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${MLOPS_CONTAINER_VENV:-.venv-container}
LOCK=container/requirements.txt
STAMP=$VENV/.installed
want=$(cat "$LOCK" "$0" | sha256sum | cut -d' ' -f1)

if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  touch "$STAMP"  # up to date: tell make so
  exit 0
fi

runs_python310() {
  [[ -n $1 ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1
}

find_uv() {
  if command -v uv >/dev/null 2>&1; then
    command -v uv
  elif [[ -x .venv/bin/uv ]]; then
    echo .venv/bin/uv
  fi
}

# Python 3.10: on PATH (a pyenv shim only counts if it runs), among pyenv's versions, or from uv.
find_python310() {
  local candidate
  candidate=$(command -v python3.10 || true)
  if runs_python310 "$candidate"; then echo "$candidate"; return; fi
  local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  if command -v pyenv >/dev/null 2>&1; then pyenv_root=$(pyenv root); fi
  for candidate in $(ls -d "$pyenv_root"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V -r); do
    if runs_python310 "$candidate"; then echo "$candidate"; return; fi
  done
  if [[ -n $UV ]]; then
    candidate=$("$UV" python find 3.10 2>/dev/null || true)
    if runs_python310 "$candidate"; then echo "$candidate"; return; fi
  fi
}

UV=$(find_uv)
PYTHON310=$(find_python310)
if [[ -z $PYTHON310 ]]; then
  echo "container environment: Python 3.10 not found (on PATH, in pyenv's versions, or by uv); install it with \`pyenv install 3.10\` or \`uv python install 3.10\`, then run make again" >&2
  exit 1
fi

# Two builds at once (two `make demo` on a fresh clone) would write the same directory.
exec 9>"$VENV.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then exit 0; fi

echo "building $VENV with $("$PYTHON310" -V) from $LOCK"
rm -rf "$VENV"
if [[ -n $UV ]]; then
  "$UV" venv --quiet --python "$PYTHON310" "$VENV"
  "$UV" pip sync --quiet --python "$VENV/bin/python" --require-hashes "$LOCK"
else
  "$PYTHON310" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$LOCK"
fi

# final/Dockerfile.cpu: `python3 -m pip uninstall -y typing` (sagemaker-containers requires the
# PyPI backport, which the image removes again).
"$VENV/bin/python" -m pip uninstall --quiet --disable-pip-version-check -y typing

# final/Dockerfile.cpu: `sed -i 's/collections\.Mapping/collections.abc.Mapping/g'
# .../site-packages/sagemaker_containers/_mapping.py` (collections.Mapping is gone since Python 3.10).
"$VENV/bin/python" - <<'PY'
import pathlib
import sysconfig

mapping = pathlib.Path(sysconfig.get_paths()["purelib"]) / "sagemaker_containers" / "_mapping.py"
mapping.write_text(mapping.read_text().replace("collections.Mapping", "collections.abc.Mapping"))
PY

"$VENV/bin/python" -c 'import gevent, gunicorn, xgboost, sagemaker_containers.beta.framework'
echo "$want" >"$STAMP"
echo "built $VENV"
