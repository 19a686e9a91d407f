"""A byte test on raw lines that skips, before JSON parsing, lines that no rule can match.

Each compiled rule reports the literal strings one of which any event it can match must contain
(`Literals`: derived from its parsed query, e.g. the values of `event.action in (...)`), or None when it
cannot tell. The pack's test is the union of its rules' literals, as they appear inside a JSON string.
The literals are then covered greedily by a few shared substrings of at least 6 characters (`Secret`
covers `GetSecretValue`, `ListSecrets` and `SecretGet`): a line without any of the cover's substrings
contains none of the literals, and a few searches are cheaper than many. Shorter shared parts are
common in lines no rule reads: `ecret`, which would also cover the dataset `cloud_secrets.identity_hourly`,
is in every `secretsmanager` ARN and user agent, and made 98% of the lines of a production mix candidates for parsing
(`make bench`'s mix: the full pack ran at 68,000 documents/s with `ecret`, 275,000/s with `Secret` and
`cloud_secrets.identity_hourly`).

JSON may spell any character of a string as `\\uXXXX` (and `/` as `\\/`), so a literal can hide in a line
without its plain spelling: lines with such an escape are candidates too, and parsing decides. An ASCII
character's escape starts with `\\u00`, which is rare in text (a bare `\\u` is not: it would make the
compiled reader's search stop at every backslash, 15% slower on the production mix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import lru_cache

from .conditions import Literals, Whole

LineTest = Callable[[bytes], bool]


def _json_fragment(literal: str) -> bytes:
    """The literal as it appears in a JSON line: between quotes when it is a whole value (`Whole`)."""
    text = json.dumps(literal, ensure_ascii=False)
    return (text if isinstance(literal, Whole) else text[1:-1]).encode("utf-8")


@lru_cache(maxsize=64)
def cover(words: tuple[bytes, ...], minimum: int = 6, longest: int = 16) -> list[bytes]:
    """Few substrings such that every word contains one: greedy, most words covered first, longer first.
    (A few milliseconds for a rule pack's literals: computed once per set of words.)"""
    left = sorted(set(words))
    out: list[bytes] = []
    while left:
        candidates = {w[i:i + n] for w in left for n in range(minimum, min(longest, len(w)) + 1)
                      for i in range(len(w) - n + 1)}
        best = max(candidates, key=lambda s: (sum(s in w for w in left), len(s)), default=None)
        if best is None or sum(best in w for w in left) < 2:
            out.extend(left)  # short or unrelated words stand for themselves
            break
        out.append(best)
        left = [w for w in left if best not in w]
    return sorted(out, key=len)


def needles(literal_sets: Iterable[Literals]) -> list[bytes] | None:
    """The byte strings a line must contain one of, or None (no test: every line may matter)."""
    union: set[bytes] = set()
    for lits in literal_sets:
        if lits is None:
            return None
        union |= {_json_fragment(x) for x in lits}
    if not union:
        return []
    return [*cover(tuple(sorted(union))), *_escapes(union)]


def _escapes(fragments: set[bytes]) -> list[bytes]:
    """The escapes a JSON text may spell the fragments' characters with: any character as \\uXXXX (an ASCII
    one as \\u00XX), `/` also as \\/."""
    out = [b"\\u00" if all(w.isascii() for w in fragments) else b"\\u"]
    if any(b"/" in w for w in fragments):
        out.append(b"\\/")
    return out


def line_test(found: list[bytes] | None) -> LineTest | None:
    if found is None:
        return None
    if len(found) == 2:  # the usual case: one shared substring and the escape
        first, second = found
        return lambda line: first in line or second in line
    return lambda line: any(n in line for n in found)
