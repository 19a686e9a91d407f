"""How run_lines reads lines: blank lines are not documents, and the prefilter's one or two substrings."""

from __future__ import annotations

import orjson

from backtest_helpers import rule
from cloud_secrets.evaluation.backtest import run_lines
from cloud_secrets.evaluation.backtest.prefilter import line_test


def _doc(second: int, action: str) -> bytes:
    return orjson.dumps({"@timestamp": f"2026-03-02T00:00:{second:02d}Z", "event": {"action": action},
                         "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"}})


def test_blank_and_indented_lines() -> None:
    lines = [_doc(0, "GetSecretValue") + b"\n", b"\n", b"  \t\r\n", b"", b"  " + _doc(1, "GetSecretValue") + b"\n",
             _doc(2, "DescribeInstances") + b"\n", b"\r\n", _doc(3, "GetSecretValue")]
    r = rule("eql", 'any where event.action == "GetSecretValue"')
    result = run_lines(lines, "t", [r])
    assert result.documents == 4 and result.parsed == 3
    assert [(a.events, a.lines) for a in result.alerts] == [([0], [1]), ([1], [5]), ([3], [8])]


def test_two_substrings() -> None:
    test = line_test([b"Secret", b"cloud_secrets.identity_hourly"])
    assert test is not None
    assert test(b'{"a":"GetSecretValue"}') and test(b'{"d":"cloud_secrets.identity_hourly"}')
    assert not test(b'{"a":"DescribeInstances","ua":"secretsmanager"}')
