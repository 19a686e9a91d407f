"""The chunked reader of run.py finds exactly the lines, numbers and indices of the line-by-line reader."""

from __future__ import annotations

import io
import random

import pytest

from cloud_secrets.backtest import run
from cloud_secrets.backtest.prefilter import line_test


def _by_lines(data: bytes, found: list[bytes] | None) -> tuple[list[tuple[int, int, bytes]], int]:
    scan = run._Scan(None)
    got = [(n, i, line.rstrip(b"\n")) for n, i, line in scan.lines(io.BytesIO(data), line_test(found))]
    return got, scan.documents


def _by_chunks(data: bytes, found: list[bytes] | None) -> tuple[list[tuple[int, int, bytes]], int]:
    scan = run._Scan(None)
    got = [(n, i, line.rstrip(b"\n")) for n, i, line in scan.chunks(io.BytesIO(data), found)]
    return got, scan.documents


def _random_file(rng: random.Random) -> bytes:
    kinds = [b'{"event":{"action":"GetSecretValue"}}', b'{"event":{"action":"DescribeInstances"}}',
             b'{"event":{"action":"SecretList"}}', b'{"a":"ListSecrets","b":"Secret"}', b"", b"  ", b"\r",
             b' {"event":{"action":"SecretGet"}}', b'{"x":"' + b"y" * rng.randrange(1, 300) + b'"}']
    weights = rng.choice([[5, 30, 3, 2, 1, 1, 1, 1, 10], [5, 30, 3, 2, 0, 0, 0, 0, 10], [1, 80, 0, 1, 0, 0, 0, 0, 30]])
    lines = rng.choices(kinds, weights, k=rng.randrange(0, 400))
    data = b"\n".join(lines)
    return data + b"\n" if rng.random() < 0.7 else data


@pytest.mark.parametrize("found", [[b"Secret"], [b"GetSecretValue", b"SecretList"], [b"zzz"], [], None])
def test_chunks_equal_lines_on_random_files(monkeypatch: pytest.MonkeyPatch, found: list[bytes] | None) -> None:
    sparse_regions = 0
    hits = run._Scan._region_hits

    def counted(*args: object) -> object:
        nonlocal sparse_regions
        sparse_regions += 1
        return hits(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(run._Scan, "_region_hits", staticmethod(counted))
    rng = random.Random(5)
    for _ in range(200):
        monkeypatch.setattr(run, "CHUNK", rng.choice([1, 7, 64, 500, 1 << 20]))
        data = _random_file(rng)
        assert _by_chunks(data, found) == _by_lines(data, found)
    assert found is None or sparse_regions > 100  # both readers of a region were exercised
