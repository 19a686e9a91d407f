"""Helpers shared by the upstream document builders: stable ids, Java-style rendering."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

ECS_VERSION = "8.11.0"


def digest(*parts: object, size: int = 16) -> bytes:
    """A stable digest of `parts` (same input, same bytes, on every machine and run)."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=size).digest()


def stable_uuid(*parts: object) -> str:
    """A UUID-formatted id derived from `parts`."""
    return _uuid_format(digest(*parts).hex())


def stable_uuid_pair(*parts: object) -> tuple[str, str]:
    """Two different UUID-formatted ids derived from `parts` (one hash)."""
    h = digest(*parts, size=32).hex()
    return _uuid_format(h[:32]), _uuid_format(h[32:])


def _uuid_format(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def stable_hex(length: int, *parts: object) -> str:
    """`length` lower-case hex characters derived from `parts`."""
    return digest(*parts, size=(length + 1) // 2).hex()[:length]


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def stable_letters(length: int, *parts: object) -> str:
    """`length` mixed-case letters derived from `parts` (the suffix style of Secrets Manager ARNs)."""
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest(*parts, size=max(length, 1))[:length])


@lru_cache(maxsize=16384)
def stable_key(length: int, *parts: object) -> str:
    """`length` characters from A-Z and 2-7 (the style of AWS principal and access key ids)."""
    return "".join(_UPPER_DIGITS[b % 32] for b in digest(*parts, size=max(length, 1))[:length])


@lru_cache(maxsize=65536)
def is_ip(value: str | None) -> bool:
    """True when `value` is an IPv4 or IPv6 address (what the integrations' grok/convert accept)."""
    if not value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# Java's java.util.HashMap iteration order -------------------------------------------------------
# The ingest `json` processor parses CloudTrail's requestParameters into a HashMap, and the AWS
# pipeline stores `requestParameters.toString()`. Iteration order is by hash bucket, then insertion.


def _java_string_hash(s: str) -> int:
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


_ORDER_CACHE: dict[tuple[str, ...], tuple[str, ...]] = {}


def java_hashmap_order(keys: Sequence[str]) -> tuple[str, ...]:
    """The order in which a `java.util.HashMap` filled with `keys` (in that order) iterates them."""
    key = keys if isinstance(keys, tuple) else tuple(keys)
    cached = _ORDER_CACHE.get(key)
    if cached is not None:
        return cached
    capacity = 16
    while len(key) > capacity * 0.75:
        capacity *= 2

    def bucket(item: tuple[int, str]) -> tuple[int, int]:
        h = _java_string_hash(item[1])
        return ((h ^ (h >> 16)) & (capacity - 1), item[0])

    ordered = tuple(k for _, k in sorted(enumerate(key), key=bucket))
    if len(_ORDER_CACHE) < 4096:
        _ORDER_CACHE[key] = ordered
    return ordered


def java_to_string(value: Any) -> str:
    """Render parsed JSON the way Java's `Map.toString()` / `List.toString()` do.

    `{"secretId": "x", "versionStage": "AWSCURRENT"}` -> `{secretId=x, versionStage=AWSCURRENT}`.
    """
    if isinstance(value, dict) and all(type(v) is str for v in value.values()):
        order = java_hashmap_order(tuple(value))
        return "{" + ", ".join([f"{k}={value[k]}" for k in order]) + "}"
    if isinstance(value, Mapping):
        order = java_hashmap_order(tuple(value))
        return "{" + ", ".join([f"{k}={java_to_string(value[k])}" for k in order]) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(java_to_string(v) for v in value) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def data_stream(dataset: str) -> dict[str, str]:
    """The `data_stream` object of a document in `logs-<dataset>-default`."""
    return {"type": "logs", "dataset": dataset, "namespace": "default"}


def now_utc() -> datetime:
    """The current time (only for callers that want it; builders never read the clock)."""
    return datetime.now(UTC)
