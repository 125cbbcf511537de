#!/usr/bin/env bash
# checkov over the synthesized CloudFormation templates, with the skips of checkov/config.yaml.
#
# checkov's dependencies conflict with the project's pins (it would downgrade boto3 and
# packaging), so it runs in its own environment, synced from uv.lock's `checkov-tool` member
# (tools/checkov/); uv makes that a no-op when nothing changed.
#
# Usage: scripts/checkov.sh [ASSEMBLY_DIR]   (default: cdk.out; run `make synth` first)
# Env:   UV (the Makefile's pinned uv), CHECKOV_VENV (default .venv-checkov)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
assembly="${1:-$root/cdk.out}"
venv="${CHECKOV_VENV:-$root/.venv-checkov}"
uv="${UV:-$root/.uv/bin/uv}"

if [[ ! -x "$uv" ]]; then
    echo "scripts/checkov.sh: uv not found at $uv; run 'make install' first" >&2
    exit 2
fi
(cd "$root" && UV_PROJECT_ENVIRONMENT="$venv" UV_PREVIEW_FEATURES=package-conflicts \
    "$uv" sync --locked --quiet --package checkov-tool)

shopt -s nullglob
templates=("$assembly"/*.template.json)
if ((${#templates[@]} == 0)); then
    echo "scripts/checkov.sh: no *.template.json in $assembly; run 'make synth' first" >&2
    exit 2
fi

exec "$venv/bin/checkov" --config-file "$root/checkov/config.yaml" --file "${templates[@]}"
