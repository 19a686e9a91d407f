"""The compiled reader (native/) against the Python reader: the same documents, lines and errors, and flat
documents in which every field the rules read has the values its getter reads in the whole document."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from backtest_helpers import rule
from cloud_secrets.errors import UserError
from cloud_secrets.evaluation.backtest import run_file
from cloud_secrets.evaluation.backtest.readers import LineReader, NativeReader, native_available
from cloud_secrets.fieldpath import FlatDoc, _slow, compile_getter, values_of

WORDS = ["event", "action", "user", "name", "source", "ip", "cloud_secrets", "secret", "id", "a", "b"]


def test_it_is_installed() -> None:
    assert native_available(), "the native reader is not built: run `make bootstrap`"


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth > 3 or kind < 0.45:
        return rng.choice(["GetSecretValue", "ünï\"cødé\\", "", "192.0.2.7", 0, -3, 2**63 + 5, 1.5e-7, True, None])
    if kind < 0.7:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return _object(rng, depth + 1)


def _object(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(rng.randrange(5)):
        key = ".".join(rng.choice(WORDS) for _ in range(rng.choice([1, 1, 1, 2, 3])))
        out[key] = _value(rng, depth)
    return out


def _paths(rng: random.Random) -> list[str]:
    return sorted({".".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 4))) for _ in range(rng.randrange(1, 6))})


@pytest.mark.parametrize("seed", range(40))
def test_a_flat_document_holds_every_value_of_the_wanted_fields(seed: int) -> None:
    """Random documents with dotted keys, arrays of objects, nulls, escapes and big numbers: a flat document
    holds each wanted field's values as the field's getter reads them in the whole document (one value as
    itself, several as a list, none: no key), and the cut-down nested document reads the same."""
    from cloud_secrets_scan import parse_line

    rng = random.Random(seed)
    for _ in range(50):
        doc = _object(rng, 0)
        line = orjson.dumps(doc)
        fields = _paths(rng)
        flat = FlatDoc(orjson.loads(parse_line(line, fields, True)))
        assert flat == {f: v for f in fields if (v := compile_getter(f)(doc)) is not None}, (line, fields)
        projected = parse_line(line, fields)
        for field in fields:
            assert values_of(flat, field) == values_of(projected, field) == values_of(doc, field), (line, field)
        assert parse_line(line, None) == orjson.loads(line)


@pytest.mark.parametrize("seed", range(20))
def test_getters_read_nested_documents_as_the_general_walk_does(seed: int) -> None:
    """The getters' fast paths (a walk down nested objects) give what the general walk over every spelling
    of the path gives, on random documents where several spellings meet."""
    rng = random.Random(seed)
    for _ in range(100):
        doc = _object(rng, 0)
        for field in _paths(rng):
            assert compile_getter(field)(doc) == _slow(doc, tuple(field.split("."))), (doc, field)


def test_the_reader_hands_over_flat_documents_with_the_values_of_whole_ones(tmp_path: Path) -> None:
    rng = random.Random(7)
    docs = [_object(rng, 0) for _ in range(2000)]
    path = _write(tmp_path / "random.ndjson", [orjson.dumps(d) + b"\n" for d in docs])
    fields = sorted({f for _ in range(10) for f in _paths(rng)} | {"event.action", "source.ip"})
    flat = list(NativeReader(str(path), path.name, None, frozenset(fields)))
    with path.open("rb") as handle:
        whole = list(LineReader(handle, path.name, None))
    assert [(i, n) for i, n, _ in flat] == [(i, n) for i, n, _ in whole]
    assert any(len(d) > 2 for _, _, d in flat)
    for (_, _, got), (_, _, doc) in zip(flat, whole, strict=True):
        assert type(got) is FlatDoc
        assert got == {f: v for f in fields if (v := compile_getter(f)(doc)) is not None}


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def _doc(second: int, action: str, pad: int = 0) -> bytes:
    return orjson.dumps({"@timestamp": f"2026-03-02T00:00:{second:02d}Z", "event": {"action": action},
                         "pad": "x" * pad,
                         "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"}})


def _both(path: Path, needles: list[bytes] | None) -> tuple[list[Any], list[Any], int, int]:
    native = NativeReader(str(path), path.name, needles, None)
    got_native = list(native)
    with path.open("rb") as handle:
        python = LineReader(handle, path.name, needles)
        got_python = list(python)
    return got_native, got_python, native.documents, python.documents


def test_same_documents_and_line_numbers_as_the_python_reader(tmp_path: Path) -> None:
    """Blank and whitespace lines, CRLF, indented documents, lines longer than the 1 MiB block, a last line
    without a newline."""
    lines = [_doc(0, "GetSecretValue") + b"\n", b"\n", b"  \t\r\n", b"  " + _doc(1, "GetSecretValue") + b"\r\n",
             _doc(2, "DescribeInstances") + b"\n", _doc(3, "ListSecrets", pad=3 << 20) + b"\n", b"\x0b\n",
             _doc(4, "GetSecretValue") + b"\n"]
    path = _write(tmp_path / "mixed.ndjson", lines * 3)
    path.write_bytes(path.read_bytes()[:-1])
    for needles, candidates in (([b"Secret"], 12), ([b"GetSecretValue", b"ListSecrets"], 12), (None, 15), ([], 0)):
        native, python, n_docs, p_docs = _both(path, needles)
        assert native == python and n_docs == p_docs == 15
        assert len(native) == candidates


def test_a_malformed_candidate_names_its_line_after_the_documents_before_it(tmp_path: Path) -> None:
    lines = [_doc(i, "GetSecretValue") + b"\n" for i in range(5)]
    lines.insert(3, b'{"event": {"action": "GetSecretValue"}, "oops": [1,,2]}\n')
    lines.insert(1, b'{"event": {"action": "DescribeInstances"}, "not json\n')  # no rule reads it: skipped
    path = _write(tmp_path / "bad.ndjson", lines)
    seen: list[int] = []
    reader = NativeReader(str(path), path.name, [b"Secret"], frozenset({"@timestamp", "event.action"}))
    with pytest.raises(UserError, match=r"^bad\.ndjson:5: not valid JSON \(expected value at line 1 column 52\)"):
        for _, number, _ in reader:
            seen.append(number)
    assert seen == [1, 3, 4]


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    r = [rule("eql", 'any where event.action == "GetSecretValue"')]
    array = _write(tmp_path / "array.ndjson", [_doc(0, "GetSecretValue") + b"\n", b'["GetSecretValue"]\n'])
    with pytest.raises(UserError, match=r"^array\.ndjson:2: expected a JSON object, got list$"):
        run_file(str(array), r, native=True)
    with pytest.raises(UserError, match=r"^cannot read .*missing\.ndjson: No such file or directory$"):
        run_file(str(tmp_path / "missing.ndjson"), r, native=True)
    with pytest.raises(UserError, match=r"^cannot read .*: Is a directory"):
        run_file(str(tmp_path), r, native=True)


def test_runs_give_the_same_result_with_either_reader(tmp_path: Path) -> None:
    lines = [_doc(i % 60, "GetSecretValue" if i % 3 else "ListSecrets") + b"\n" for i in range(60)]
    path = _write(tmp_path / "run.ndjson", sorted(lines))
    r = [rule("eql", 'sequence with maxspan=1m [any where event.action == "ListSecrets"] '
                     '[any where event.action == "GetSecretValue"]')]
    native, python = run_file(str(path), r, native=True), run_file(str(path), r, native=False)
    assert [a.to_json() for a in native.alerts] == [a.to_json() for a in python.alerts] and native.alerts
    assert (native.documents, native.parsed) == (python.documents, python.parsed) == (60, 60)


def test_an_action_spelled_with_json_escapes_is_still_read(tmp_path: Path) -> None:
    """Elasticsearch unescapes `\\u0047etSecretValue` to GetSecretValue: the prefilter lets the line through."""
    escaped = _doc(1, "GetSecretValue").replace(b"GetSecretValue", b"\\u0047etSecretValue")
    path = _write(tmp_path / "escaped.ndjson", [_doc(0, "DescribeInstances") + b"\n", escaped + b"\n"])
    r = [rule("eql", 'any where event.action == "GetSecretValue"')]
    for native in (True, False):
        assert [a.lines for a in run_file(str(path), r, native=native).alerts] == [[2]]
