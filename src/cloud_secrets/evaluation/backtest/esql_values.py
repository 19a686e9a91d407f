"""ES|QL values and functions, with ES|QL's null and multi-value rules.

- Any scalar function or operator given null returns null; given a multi-valued field it returns null
  too (Elasticsearch adds a warning: "single-value function encountered multi-value"), so a WHERE on a
  multi-valued field drops the row (https://www.elastic.co/guide/en/elasticsearch/reference/current/
  esql-multivalued-fields.html).
- Aggregations see every value of a multi-valued field: COUNT(field) counts values, COUNT_DISTINCT,
  SUM, MIN, MAX and VALUES use them all; a multi-valued BY field puts the row in each value's group.
- MEDIAN, PERCENTILE and MEDIAN_ABSOLUTE_DEVIATION are exact here (linear interpolation between closest
  ranks); Elasticsearch estimates them with a t-digest, exact for small groups. COUNT_DISTINCT is exact
  (Elasticsearch's HyperLogLog is exact up to its precision threshold, 3000 by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ...errors import UserError


class EsDate(int):
    """A date (epoch milliseconds), so that output shows it as a date and date +/- span stays a date."""


class Span(int):
    """A time span literal (`14 days`) in milliseconds."""


SPAN_UNITS = {
    "ms": 1, "millisecond": 1, "milliseconds": 1,
    "s": 1000, "sec": 1000, "second": 1000, "seconds": 1000,
    "m": 60_000, "min": 60_000, "minute": 60_000, "minutes": 60_000,
    "h": 3_600_000, "hour": 3_600_000, "hours": 3_600_000,
    "d": 86_400_000, "day": 86_400_000, "days": 86_400_000,
    "w": 604_800_000, "week": 604_800_000, "weeks": 604_800_000,
}


def span(quantity: int, unit: str) -> Span:
    try:
        return Span(quantity * SPAN_UNITS[unit.lower()])
    except KeyError:
        raise UserError(f"ES|QL: time unit {unit!r} is not supported by the backtest") from None


def scalar(v: Any) -> Any:
    """The value a scalar function sees: None for null and for multi-valued input."""
    return None if type(v) is list else v


def arithmetic(op: str, a: Any, b: Any) -> Any:
    a, b = scalar(a), scalar(b)
    if a is None or b is None or isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return None
    if op == "+":
        out = a + b
    elif op == "-":
        out = a - b
    elif op == "*":
        out = a * b
    elif op == "/":
        if b == 0:
            return None
        out = int(a / b) if isinstance(a, int) and isinstance(b, int) else a / b
    elif op == "%":
        if b == 0:
            return None
        out = math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else int(math.fmod(a, b))
    else:
        raise UserError(f"ES|QL: operator {op} is not supported")
    if (isinstance(a, EsDate) and isinstance(b, Span)) or (isinstance(b, EsDate) and isinstance(a, Span)):
        return EsDate(out)
    return out


def compare(op: str, a: Any, b: Any) -> bool | None:
    a, b = scalar(a), scalar(b)
    if a is None or b is None:
        return None
    numeric = (int, float)
    if isinstance(a, numeric) != isinstance(b, numeric) or isinstance(a, bool) != isinstance(b, bool):
        return None
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def values(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if type(v) is list else [v]


def _numbers(column: Sequence[Any]) -> list[float]:
    out: list[Any] = []
    for v in column:
        out.extend(x for x in values(v) if isinstance(x, (int, float)) and not isinstance(x, bool))
    return out


def percentile(nums: list[float], p: float) -> float | None:
    if not nums:
        return None
    s = sorted(nums)
    rank = (len(s) - 1) * p / 100
    lo = math.floor(rank)
    hi = math.ceil(rank)
    return float(s[lo] + (s[hi] - s[lo]) * (rank - lo))


def _mad(nums: list[float]) -> float | None:
    med = percentile(nums, 50)
    if med is None:
        return None
    return percentile([abs(x - med) for x in nums], 50)


def _typed(like: Any, value: Any) -> Any:
    return EsDate(value) if isinstance(like, EsDate) else value


def _all(column: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in column:
        out.extend(values(v))
    return out


def _min(column: Sequence[Any]) -> Any:
    vals = _all(column)
    return _typed(vals[0], min(vals)) if vals else None


def _max(column: Sequence[Any]) -> Any:
    vals = _all(column)
    return _typed(vals[0], max(vals)) if vals else None


def _sum(column: Sequence[Any]) -> Any:
    nums = _numbers(column)
    return sum(nums) if nums else None


def _avg(column: Sequence[Any]) -> Any:
    nums = _numbers(column)
    return sum(nums) / len(nums) if nums else None


def _values(column: Sequence[Any]) -> Any:
    seen = sorted(set(_all(column)), key=lambda x: (str(type(x)), x))
    if not seen:
        return None
    return seen[0] if len(seen) == 1 else seen


# name -> (function of the argument columns, number of arguments)
AGGREGATES: dict[str, Callable[..., Any]] = {
    "COUNT": lambda column: sum(len(values(v)) for v in column),
    "COUNT_DISTINCT": lambda column, *_: len(set(_all(column))),
    "SUM": _sum,
    "AVG": _avg,
    "MIN": _min,
    "MAX": _max,
    "VALUES": _values,
    "MEDIAN": lambda column: percentile(_numbers(column), 50),
    "MEDIAN_ABSOLUTE_DEVIATION": lambda column: _mad(_numbers(column)),
    "PERCENTILE": lambda column, p: percentile(_numbers(column), float(p)),
}


def mv_append(a: Any, b: Any) -> Any:
    """MV_APPEND(a, b): the values of both, in order (duplicates kept); null when either is null."""
    if a is None or b is None:
        return None
    out = values(a) + values(b)
    return out[0] if len(out) == 1 else out


def floor_to(date: Any, step: Any) -> Any:
    """BUCKET(date, span) and DATE_TRUNC(span, date) for fixed spans."""
    date, step = scalar(date), scalar(step)
    if date is None or step is None or not step:
        return None
    return EsDate(date - date % step)


#: DATE_EXTRACT's date parts (Java's ChronoField names, which ES|QL accepts in any case) of a date in epoch
#: milliseconds, in UTC, the time zone of a rule's ES|QL. ISO weeks: DAY_OF_WEEK is 1 (Monday) to 7 (Sunday).
DATE_PARTS: dict[str, Callable[[int], int]] = {
    "year": lambda ms: _utc(ms).year,
    "month_of_year": lambda ms: _utc(ms).month,
    "day_of_month": lambda ms: _utc(ms).day,
    "day_of_year": lambda ms: _utc(ms).timetuple().tm_yday,
    "day_of_week": lambda ms: _utc(ms).isoweekday(),
    "hour_of_day": lambda ms: ms // 3_600_000 % 24,
    "minute_of_hour": lambda ms: ms // 60_000 % 60,
    "second_of_minute": lambda ms: ms // 1000 % 60,
    "minute_of_day": lambda ms: ms // 60_000 % 1440,
    "epoch_day": lambda ms: ms // 86_400_000,
}


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def date_part(name: Any) -> Callable[[Any], int | None]:
    """DATE_EXTRACT(name, date) for one part: the date's field in UTC; null for null or multi-valued input."""
    get = DATE_PARTS.get(name.lower()) if isinstance(name, str) else None
    if get is None:
        raise UserError(f"ES|QL: DATE_EXTRACT part {name!r} is not supported by the backtest "
                        f"(supported: {', '.join(DATE_PARTS)})")

    def extract(date: Any) -> int | None:
        date = scalar(date)
        if not isinstance(date, int) or isinstance(date, bool):
            return None
        return get(int(date))

    return extract
