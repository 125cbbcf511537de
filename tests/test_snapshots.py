"""Snapshot of every stack's template, with asset and content hashes normalized."""

import json
import re

import pytest

# Asset hashes, content-hashed keys and job names change with every edit of the code or data.
_HASH = re.compile(r"[0-9a-f]{12,64}")


def normalized(value: dict) -> dict:
    """The value with content hashes replaced by a placeholder.

    CDK orders a statement's resources by their rendered text, hashes included, so the order of
    the asset ARNs would follow every edit of the code; the order of resources means nothing to IAM.
    """
    return _sort_resources(json.loads(_HASH.sub("<hash>", json.dumps(value, sort_keys=True))))


def _sort_resources(value):
    if isinstance(value, dict):
        return {
            key: sorted(item, key=json.dumps) if key == "Resource" and isinstance(item, list) else _sort_resources(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_sort_resources(item) for item in value]
    return value


@pytest.mark.parametrize("suffix", ["storage", "registry", "endpoint", "observability"])
def test_stack_template_matches_its_snapshot(synthesized, snapshot, suffix):
    assert normalized(synthesized.template(suffix)) == snapshot
