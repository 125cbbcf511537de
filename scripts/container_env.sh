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

# uv: the Makefile's pinned one (it exports UV), else one on PATH, else pip.
if [[ -z ${UV:-} || ! -x ${UV:-} ]]; then
  UV=$(command -v uv || true)
fi
# Python 3.10: on PATH (a pyenv shim only counts if it runs), among pyenv's versions, or from uv.
if ! PYTHON310=$(scripts/find_python.sh 3.10 2>&1); then
  echo "container environment: $PYTHON310" >&2
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
