"""The data set's CSV reader, the same for the training job (train.py) and the synth-time check (dataset/).

Every case runs through both entry points, `model_code.train.read_csv_file` and
`dataset.validate_labeled_csv`, which must agree on every file: the same numbers, or the same
one-line message naming the file, the line and the column.
"""

from __future__ import annotations

import itertools
import math
import os
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dataset import DatasetError, FeatureSpec, Schema, load_schema, validate_labeled_csv
from model_code import train as train_script
from model_code.csv_table import FLOAT32_MAX
from model_code.number_syntax import NUMBER, number_problem, parse_number, parse_whole_number

SCHEMA = Schema(label="y", features=(FeatureSpec("a", 0.0, 1.0), FeatureSpec("b", 0.0, 1.0)))
TRAIN_SCHEMA = train_script.Schema(label="y", features=["a", "b"], ranges=[(0.0, 1.0)] * 2, raw={})
FILE = "data.csv"


def read_both(directory: Path, content: str | bytes) -> tuple[object, object]:
    """What each reader makes of one file: (features, labels) as lists, or its error message."""
    path = directory / FILE
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    results: list[object] = []
    try:
        features, labels = train_script.read_csv_file(path, TRAIN_SCHEMA)
        results.append((features.tolist(), labels.tolist()))
    except train_script.DataError as exc:
        results.append(str(exc))
    previous = Path.cwd()
    os.chdir(directory)  # so that dataset names the file as train.py does
    try:
        data = validate_labeled_csv(FILE, SCHEMA, min_rows=0)  # train.py counts rows per channel
        results.append((data.features.tolist(), data.labels.tolist()))
    except DatasetError as exc:
        results.append(str(exc))
    finally:
        os.chdir(previous)
    return results[0], results[1]


GOOD = [
    ("a,b,y\n1,2,0\n", [[1.0, 2.0]], [0]),
    ('"a","b","y"\r\n"1","2.5","1"\r\n', [[1.0, 2.5]], [1]),  # spreadsheets and pandas quote
    ('a, b ,y\n 1 ,"",1\n', [[1.0, math.nan]], [1]),  # blanks around cells, "" is missing
    ("\ufeffa,b,y\n-1.5e3,.5,1.0\n\n\n", [[-1500.0, 0.5]], [1]),  # BOM, trailing blank lines
    ("b,extra,a,y\n2,9,1,0\n", [[1.0, 2.0]], [0]),  # columns found by name, extras ignored
    ('a,b,y,"note, with comma"\n1,2,0,3\n', [[1.0, 2.0]], [0]),
    ("a,b,y\n3.4028234e38,-3.4e38,0\n", [[3.4028234e38, -3.4e38]], [0]),  # float32's edge still fits
]


@pytest.mark.parametrize(("content", "features", "labels"), GOOD)
def test_both_readers_read_standard_csv_to_the_same_numbers(
    tmp_path: Path, content: str, features: list[list[float]], labels: list[int]
) -> None:
    from_train, from_dataset = read_both(tmp_path, content)
    expected = (features, labels)
    for result in (from_train, from_dataset):
        assert isinstance(result, tuple), result
        np.testing.assert_array_equal(np.array(result[0]), np.array(expected[0]))
        assert result[1] == expected[1]


BAD = [
    ("a,b,y\n1,2,0\n1,x2,1\n", "data.csv line 3, column 'b': 'x2' is not a number"),
    ("a,b,y\n1,1_000,1\n", "data.csv line 2, column 'b': '1_000' is not a plain decimal number"),
    ("a,b,y\n1,\u0661\u0662,1\n", "data.csv line 2, column 'b': '\u0661\u0662' is not a plain decimal number"),
    ("a,b,y\n1,\uff11,1\n", "data.csv line 2, column 'b': '\uff11' is not a plain decimal number"),
    ("a,b,y\n1,0x10,1\n", "data.csv line 2, column 'b': '0x10' is not a number"),
    ("a,b,y\n1,inf,1\n", "data.csv line 2, column 'b': 'inf' is not finite"),
    ("a,b,y\n1,-Infinity,1\n", "data.csv line 2, column 'b': '-Infinity' is not finite"),
    ("a,b,y\nNaN,1,1\n", "data.csv line 2, column 'a': 'NaN' is not a number; leave the field empty"),
    ("a,b,y\n1,1e309,1\n", "data.csv line 2, column 'b': '1e309' is too large for a 64-bit float"),
    ("a,b,y\n1,2,0\n1,1e39,1\n", "data.csv line 3, column 'b': '1e39' is too large for XGBoost"),
    ("a,b,y\n1,-1e308,1\n", "data.csv line 2, column 'b': '-1e308' is too large for XGBoost"),
    ("a,a,b,y\n1,2,3,0\n", "data.csv: column 'a' appears twice (columns 1 and 2)"),
    ('a,"a ",b,y\n1,2,3,0\n', "data.csv: column 'a' appears twice"),
    ("a,,b,y\n1,2,3,0\n", "data.csv: column 2 has an empty name"),
    ('a,"x\ny",b,y\n1,2,3,0\n', "data.csv: column 2 name 'x\\ny' holds a control character"),
    ("a,b\n1,2\n", "data.csv: missing column(s) 'y'"),
    ("a,b,y\n1,2,0\n1,2\n", "data.csv line 3: 2 fields, the header has 3"),
    ("a,b,y\n1,2,0\n\n1,2,1\n", "data.csv line 3: empty line inside the data"),
    ('a,b,y\n1,"2\n3",0\n', "data.csv line 2, column 'b': '2\\n3' is not a number"),  # a quoted line break
    ('a,b,y\n1,"2"x,0\n', "data.csv line 2: not valid CSV"),
    ('a,b,y\n1,"2,0\n', "data.csv line 2: not valid CSV"),
    ("a,b,y\n1,2,2\n", "data.csv line 2: label 'y' must be 0 or 1, got '2'"),
    ("a,b,y\n1,2,\n", "data.csv line 2: label 'y' must be 0 or 1, got ''"),
    ("", "data.csv: empty file, expected a header row and data rows"),
    ("\n\n", "data.csv: empty file"),
    (b"a,b,y\n1,2,0\n\xff,2,1\n", "data.csv line 3: not UTF-8 text (byte 12)"),
    ("a,b,y\n1,2,0\n1,\x00,1\n", "data.csv line 3: holds a NUL character"),
]


@pytest.mark.parametrize(("content", "message"), BAD)
def test_both_readers_refuse_a_bad_file_with_the_same_line_naming_file_line_and_column(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    from_train, from_dataset = read_both(tmp_path, content)
    assert from_train == from_dataset
    assert isinstance(from_train, str) and from_train.startswith(message), from_train
    assert "\n" not in from_train.replace("\\n", "")


def test_a_value_beyond_float32_is_refused_before_xgboost_sees_it(tmp_path: Path) -> None:
    # XGBoost turns it into inf and fails with a C++ stack trace; the reader names its place instead.
    message, _ = read_both(tmp_path, f"a,b,y\n1,{FLOAT32_MAX * 1.001!r},0\n")
    assert isinstance(message, str) and message.startswith("data.csv line 2, column 'b':")


# A cell is any of these: numbers Python would take but the contract does not, text, quotes, breaks.
cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["", " ", "0", "1", "nan", "-inf", "1e39", "1e400", "1_0", "\u0661", ".", "-", "e5", "1.", ".5"]),
    st.text(alphabet=string.printable + "\u00a0\u2028\ufeff", max_size=5),
    st.text(max_size=3).map(lambda text: '"' + text.replace('"', '""') + '"'),
)
rows = st.lists(cells, min_size=2, max_size=4).map(",".join)
headers = st.sampled_from(["a,b,y", '"a","b","y"', "y,b,a", "a,b", "a,a,y", "a,b,y,c", ""])
files = st.tuples(headers, st.lists(rows, max_size=4), st.sampled_from(["\n", "\r\n"]), st.booleans()).map(
    lambda parts: parts[2].join([parts[0], *parts[1]]) + (parts[2] if parts[3] else "")
)


@given(content=files)
@example(content="a,b,y\n1,2,0\n1,1e39,1\n")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_file_gets_the_same_answer_from_both_readers_and_never_a_traceback(tmp_path: Path, content: str) -> None:
    from_train, from_dataset = read_both(tmp_path, content)
    if isinstance(from_train, str):
        assert from_train == from_dataset
        assert from_train.startswith(FILE) and "\n" not in from_train
        return
    assert isinstance(from_dataset, tuple)
    np.testing.assert_array_equal(np.array(from_train[0]), np.array(from_dataset[0]))
    assert from_train[1] == from_dataset[1] and set(from_train[1]) <= {0, 1}
    with np.errstate(over="ignore"):
        assert np.all(
            np.isfinite(np.array(from_train[0], dtype=np.float64).astype(np.float32)) | np.isnan(from_train[0])
        )


@given(text=st.text(max_size=12) | st.from_regex(NUMBER, fullmatch=True))
def test_the_number_syntax_accepts_exactly_plain_ascii_decimals_that_are_finite(text: str) -> None:
    problem = number_problem(text)
    plain = NUMBER.fullmatch(text) is not None and text.isascii()
    if problem is None:
        assert plain and math.isfinite(parse_number(text))
    else:
        assert not plain or not math.isfinite(float(text))
        with pytest.raises(ValueError) as raised:
            parse_number(text)
        assert str(raised.value) == problem and problem.startswith(repr(text))


def test_on_number_characters_python_float_takes_exactly_the_number_syntax() -> None:
    # The reader's fast path converts cells of these characters with float() and checks nothing else.
    for length in range(1, 5):
        for chars in itertools.product("09eE.+-", repeat=length):
            text = "".join(chars)
            assert python_reads(text) == (NUMBER.fullmatch(text) is not None), text


def python_reads(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("text", ["12", "-3", "+0", "007"])
def test_a_whole_number_is_ascii_digits_with_an_optional_sign(text: str) -> None:
    assert parse_whole_number(text) == int(text)


@pytest.mark.parametrize("text", ["1.0", "1e3", "1_0", "\u0661", " 1", "", "+", "1" * 19])
def test_anything_else_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError, match="is not a whole number"):
        parse_whole_number(text)


@pytest.mark.parametrize(
    "schema",
    [
        "[]",
        "{",
        '{"features": [{"name": "a", "min": 0, "max": 1}]}',
        '{"label": "y", "features": []}',
        '{"label": "y", "features": [{"name": "a", "min": 2, "max": 1}]}',
        '{"label": "y", "features": [{"name": "a", "min": 0, "max": NaN}]}',
        '{"label": "y", "features": [{"name": "a", "min": 0, "max": 1e999}]}',
        '{"label": "y", "features": [{"name": "a", "min": true, "max": 1}]}',
        '{"label": "y", "features": [{"name": "a", "min": "0", "max": 1}]}',
        '{"label": "y", "features": [{"name": "a", "min": 0, "max": 1' + "0" * 400 + "}]}",
        '{"label": "y", "features": [{"min": 0, "max": 1}]}',
        '{"label": "a", "features": [{"name": "a", "min": 0, "max": 1}]}',
        '{"label": "y", "features": [{"name": "a", "min": 0, "max": 1}, {"name": "a", "min": 0, "max": 1}]}',
        '{"label": "y", "features": [{"name": "a\\u0000", "min": 0, "max": 1}]}',
        "[" * 100_000,
    ],
)
def test_both_schema_readers_refuse_the_same_malformed_schema_json(tmp_path: Path, schema: str) -> None:
    (tmp_path / "schema.json").write_text(schema)
    with pytest.raises(train_script.DataError) as from_train:
        train_script.read_schema(tmp_path)
    with pytest.raises(DatasetError) as from_dataset:
        load_schema(tmp_path / "schema.json")
    for message in (str(from_train.value), str(from_dataset.value)):
        assert "schema.json" in message and "\n" not in message
