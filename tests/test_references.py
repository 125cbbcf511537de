"""Code, comments, docs and tests cite only what a reader of the repository can open."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("*.py", "*.md", "*.ipynb", "*.yml", "*.yaml", "*.toml", "*.sh")
SKIPPED = {".git", ".venv", ".venv-container", ".uv", "node_modules", "cdk.out", "demo-output", "__pycache__"}
# Design notes and fact sheets kept outside the repository, by section or by file.
OUTSIDE = re.compile(r"\b(DESIGN|FACTS)(\.md| §)|\.\./shared\b")


def test_no_file_cites_a_document_outside_the_repository() -> None:
    files = []
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED and not d.endswith(".egg-info")]
        files += [Path(directory, n) for n in names if any(fnmatch.fnmatch(n, p) for p in SCANNED)]
    assert len(files) > 100
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert cited == []
