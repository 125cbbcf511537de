#!/usr/bin/env bash
# checkov over the synthesized CloudFormation templates, with the skips of checkov/config.yaml.
#
# checkov's dependencies conflict with the project's pins (it would downgrade boto3 and
# packaging), so it lives in its own venv, installed here from checkov/constraints.txt (exact
# versions) and reinstalled when that file changes.
#
# Usage: scripts/checkov.sh [ASSEMBLY_DIR]   (default: cdk.out; run `make synth` first)
# Env:   PYTHON (default python3, must be 3.9-3.12), CHECKOV_VENV (default .venv-checkov)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assembly="${1:-$root/cdk.out}"
venv="${CHECKOV_VENV:-$root/.venv-checkov}"
python="${PYTHON:-python3}"
constraints="$root/checkov/constraints.txt"
version="$(sed -n 's/^checkov==//p' "$constraints")"
stamp="$venv/.constraints.sha256"
wanted="$(sha256sum "$constraints" | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/checkov" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
    echo "installing checkov $version into $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" "checkov==$version"
    echo "$wanted" > "$stamp"
fi

shopt -s nullglob
templates=("$assembly"/*.template.json)
if ((${#templates[@]} == 0)); then
    echo "scripts/checkov.sh: no *.template.json in $assembly; run 'make synth' first" >&2
    exit 2
fi

exec "$venv/bin/checkov" --config-file "$root/checkov/config.yaml" --file "${templates[@]}"
