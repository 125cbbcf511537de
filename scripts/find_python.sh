#!/usr/bin/env bash
# Print the path of a working Python interpreter for a name or version, or fail with one line.
#
# Usage: scripts/find_python.sh python3.13 | 3.13 | /path/to/python
# Looks on PATH first (a pyenv shim that is not active does not count), then among pyenv's
# installed versions, then asks uv for one it manages (`uv python find`, with UV set).
set -euo pipefail

want="${1:?usage: scripts/find_python.sh NAME_OR_VERSION}"
name="$want"
[[ "$want" =~ ^[0-9]+\.[0-9]+$ ]] && name="python$want"
version="${name#python}"

works() { "$1" -c 'import sys' >/dev/null 2>&1; }
# The interpreter itself, not a shim in front of it: uv would rebuild an environment made from
# the shim every time, since the two paths differ.
real() { "$1" -c 'import sys; print(sys.executable)'; }

if [[ "$want" == */* ]]; then
    works "$want" && { real "$want"; exit 0; }
elif command -v "$name" >/dev/null 2>&1 && works "$name"; then
    real "$name"
    exit 0
fi

if command -v pyenv >/dev/null 2>&1 && [[ "$version" =~ ^3(\.[0-9]+)?$ ]]; then
    root="$(pyenv root)"
    for candidate in $(ls -d "$root"/versions/"$version"* 2>/dev/null | sort -V -r); do
        if works "$candidate/bin/$name"; then
            real "$candidate/bin/$name"
            exit 0
        fi
    done
fi

if [[ -n "${UV:-}" && -x "${UV}" && "$version" =~ ^3\.[0-9]+$ ]]; then
    found="$("$UV" python find --no-project "$version" 2>/dev/null || true)"
    [[ -n "$found" ]] && works "$found" && { real "$found"; exit 0; }
fi

echo "no Python '$want' found on PATH, among pyenv's versions or uv's; install it (e.g. 'uv python install ${version#python}' or 'pyenv install ${version#python}') or pass PYTHON=/path/to/python" >&2
exit 1
