from __future__ import annotations

from model_code.failure_reason import MARKER, MAX_REASON_CHARS, find_reason, reason_line


def test_the_reason_line_is_one_marked_line_cut_to_what_failure_reason_keeps() -> None:
    line = reason_line("train.csv line 5,\n column 'age':\t'abc' is not a number " + "x" * 2000)
    assert line.startswith(MARKER) and "\n" not in line
    assert len(line) == len(MARKER) + MAX_REASON_CHARS


def test_the_last_marked_line_wins_and_log_prefixes_are_allowed() -> None:
    log = [
        "2026-11-27 12:00:00 INFO - starting",
        "algo-1 " + reason_line("first"),
        "Traceback (most recent call last):",
        "[stderr] " + reason_line("train.csv line 3: 1 fields, the header has 16"),
        "ExecuteUserScriptError: Command ...",
    ]
    assert find_reason(log) == "train.csv line 3: 1 fields, the header has 16"


def test_a_log_without_the_marker_has_no_reason() -> None:
    assert find_reason(['ExecuteUserScriptError: Command "/usr/bin/python3 -m train"', ""]) is None
    assert find_reason([MARKER.strip()]) is None
