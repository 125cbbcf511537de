"""Snapshot of every stack's template, with asset and content hashes normalized."""

import json
import re

import pytest

# Asset hashes, content-hashed keys and job names change with every edit of the code or data.
_HASH = re.compile(r"[0-9a-f]{12,64}")


def normalized(value: dict) -> dict:
    """The value with content hashes replaced by a placeholder."""
    return json.loads(_HASH.sub("<hash>", json.dumps(value, sort_keys=True)))


@pytest.mark.parametrize("suffix", ["storage", "registry", "endpoint", "observability"])
def test_stack_template_matches_its_snapshot(synthesized, snapshot, suffix):
    assert normalized(synthesized.template(suffix)) == snapshot
