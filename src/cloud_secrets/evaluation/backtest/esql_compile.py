"""ES|QL to a streaming part and a per-run part, compiled from Elasticsearch's own ANTLR grammar.

Parsed with `cloud_secrets.rules.syntax.parse_esql` (esql-parser: the parser generated from
Elasticsearch's ES|QL grammar). The leading WHERE and EVAL commands that do not call NOW() run once per
event as it streams in (`stream_steps`); everything from the first STATS (or the first use of NOW())
runs at each scheduled rule execution over the rows of that execution's time window (`table_steps`).

Rows kept for later runs hold only the columns the query names (`EsqlPlan.materialise`), so KEEP with
a wildcard sees computed columns and those, not every field of the document.

Supported: FROM (index patterns; METADATA ignored), WHERE, EVAL, STATS ... BY (COUNT, COUNT_DISTINCT,
SUM, AVG, MIN, MAX, VALUES, MEDIAN, MEDIAN_ABSOLUTE_DEVIATION, PERCENTILE; `agg WHERE cond`; BY on fields,
BUCKET or DATE_TRUNC), SORT (ASC/DESC, NULLS FIRST/LAST), LIMIT, KEEP, DROP; expressions with AND, OR,
NOT, IS [NOT] NULL, [NOT] IN, ==, !=, <, <=, >, >=, + - * / %, literals, time spans (`14 days`), CASE,
COALESCE, NOW, TO_LOWER, TO_UPPER, MV_COUNT, MV_APPEND, ABS, BUCKET, DATE_TRUNC, DATE_EXTRACT (UTC; the parts in
`esql_values.DATE_PARTS`). Anything else is refused by name.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from antlr4 import ParserRuleContext
from antlr4.tree.Tree import TerminalNode
from esql_parser.EsqlBaseParser import EsqlBaseParser as P

from ...assets.rules.syntax import QuerySyntaxError, parse_esql
from ...errors import UserError
from ...fieldpath import compile_getter, recording
from . import conditions as c
from . import esql_values as v
from .events import Event


class Row:
    """A row: computed columns over an optional source document, and the events it stands for."""

    __slots__ = ("cols", "doc", "events")

    def __init__(self, doc: dict[str, Any] | None, cols: dict[str, Any], events: list[Event]) -> None:
        self.doc = doc
        self.cols = cols
        self.events = events


Expr = Callable[[Row, int], Any]  # (row, now in epoch ms) -> value
RowStep = Callable[[Row], bool]
TableStep = Callable[[list[Row], int], list[Row]]


@dataclass
class EsqlPlan:
    sources: list[str]
    stream_steps: list[RowStep]
    table_steps: list[TableStep]
    aggregating: bool
    literals: c.Literals
    commands: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # what a buffered row keeps of its document
    fields: frozenset[str] = frozenset()  # every field it reads of a document

    def materialise(self, row: Row) -> None:
        """Copy the fields the per-run steps may read into the row and let go of the document: each run
        then reads plain columns, and a buffered row costs a few values, not a whole document. `columns`: for
        a query with STATS, the names the per-run steps up to the first STATS read (STATS makes new rows of
        its own columns, so no later step reads a document); otherwise every name the query reads or writes
        (the columns of a row without STATS are its alert's fields)."""
        cols, doc = row.cols, row.doc
        for name, get in self._getters:
            if name not in cols:
                cols[name] = get(doc)
        row.doc = None

    def __post_init__(self) -> None:
        self._getters = [(n, compile_getter(n)) for n in self.columns]


def _text(ctx: ParserRuleContext) -> str:
    """The source text of a node, spaces included (ES|QL names unnamed columns after it)."""
    stream = ctx.start.getInputStream()
    return stream.getText(ctx.start.start, ctx.stop.stop)


def _string(token_text: str) -> str:
    if token_text.startswith('"""'):
        return token_text[3:-3]
    body = token_text[1:-1]
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in body else body


def _constant(value: Any) -> Expr:
    def const(r: Row, now: int) -> Any:
        return value

    const.constant = value  # type: ignore[attr-defined]
    return const


def _equals_string(probe: Expr, literal: str, equal: bool) -> Expr:
    """`probe == "literal"` (or `!=`), the usual comparison: a string value is compared directly, anything else
    as esql_values.compare does."""
    op = "==" if equal else "!="

    def equals(r: Row, now: int) -> Any:
        x = probe(r, now)
        if type(x) is str:
            return (x == literal) is equal
        return v.compare(op, x, literal)

    return equals


class _Compiler:
    def __init__(self) -> None:
        self.uses_now = False
        self.reads: set[str] = set()  # the column names compiled since it was last emptied

    # ---- expressions -------------------------------------------------------------------------------
    def expr(self, node: Any) -> Expr:
        name = type(node).__name__
        method = getattr(self, "_" + name, None)
        if method is not None:
            return method(node)
        kids = [k for k in (node.children or []) if not isinstance(k, TerminalNode)]
        if len(kids) == 1 and len(node.children) == 1:
            return self.expr(kids[0])
        raise UserError(f"ES|QL: the backtest does not evaluate {_text(node)!r} ({name.removesuffix('Context')})")

    def _ParenthesizedExpressionContext(self, node: Any) -> Expr:
        return self.expr(node.booleanExpression())

    def _LogicalBinaryContext(self, node: Any) -> Expr:
        a, b = self.expr(node.children[0]), self.expr(node.children[2])
        decisive = node.AND() is None  # three-valued logic: False decides an AND, True decides an OR

        def logic(r: Row, now: int) -> Any:
            x = a(r, now)
            if x is decisive:
                return decisive
            y = b(r, now)
            if y is decisive:
                return decisive
            return None if x is None or y is None else not decisive

        return logic

    def _LogicalNotContext(self, node: Any) -> Expr:
        a = self.expr(node.booleanExpression())

        def neg(r: Row, now: int) -> Any:
            x = a(r, now)
            return None if x is None else not x

        return neg

    def _IsNullContext(self, node: Any) -> Expr:
        a = self.expr(node.valueExpression())
        want_null = node.NOT() is None
        return lambda r, now: (a(r, now) is None) == want_null

    def _LogicalInContext(self, node: Any) -> Expr:
        items = [self.expr(x) for x in node.valueExpression()]
        probe, options = items[0], items[1:]
        negated = node.NOT() is not None
        if all(hasattr(o, "constant") for o in options):  # the usual case: a list of literals
            consts = [o.constant for o in options]  # type: ignore[attr-defined]
            strings = frozenset(x for x in consts if isinstance(x, str))
            others = [x for x in consts if not isinstance(x, str)]

            def member_of_literals(r: Row, now: int) -> Any:
                x = v.scalar(probe(r, now))
                if x is None:
                    return None
                found = x in strings if isinstance(x, str) else any(v.compare("==", x, o) for o in others)
                return (not found) if negated else found

            return member_of_literals

        def member(r: Row, now: int) -> Any:
            x = v.scalar(probe(r, now))
            if x is None:
                return None
            found = any(v.compare("==", x, o(r, now)) for o in options)
            return (not found) if negated else found

        return member

    def _ComparisonContext(self, node: Any) -> Expr:
        a, b = self.expr(node.children[0]), self.expr(node.children[2])
        op = node.children[1].getText()
        if op in ("==", "!=") and isinstance(getattr(b, "constant", None), str):
            return _equals_string(a, b.constant, op == "==")  # type: ignore[attr-defined]
        return lambda r, now: v.compare(op, a(r, now), b(r, now))

    def _ArithmeticBinaryContext(self, node: Any) -> Expr:
        a, b = self.expr(node.children[0]), self.expr(node.children[2])
        op = node.children[1].getText()
        return lambda r, now: v.arithmetic(op, a(r, now), b(r, now))

    def _ArithmeticUnaryContext(self, node: Any) -> Expr:
        a = self.expr(node.operatorExpression())
        sign = -1 if node.MINUS() is not None else 1
        return lambda r, now: v.arithmetic("*", sign, a(r, now))

    def _DereferenceContext(self, node: Any) -> Expr:
        return self.column(node.qualifiedName().getText())

    def column(self, name: str) -> Expr:
        name = name.replace("`", "")
        self.reads.add(name)
        get = compile_getter(name)

        def read(r: Row, now: int) -> Any:
            cols = r.cols
            if name in cols:
                return cols[name]
            return get(r.doc) if r.doc is not None else None

        return read

    def _StringLiteralContext(self, node: Any) -> Expr:
        return _constant(_string(node.getText()))

    def _IntegerLiteralContext(self, node: Any) -> Expr:
        return _constant(int(node.getText()))

    def _DecimalLiteralContext(self, node: Any) -> Expr:
        return _constant(float(node.getText()))

    def _NullLiteralContext(self, node: Any) -> Expr:
        return _constant(None)

    def _BooleanLiteralContext(self, node: Any) -> Expr:
        return _constant(node.getText().lower() == "true")

    def _QualifiedIntegerLiteralContext(self, node: Any) -> Expr:
        value = v.span(int(node.integerValue().getText()), node.UNQUOTED_IDENTIFIER().getText())
        return lambda r, now: value

    def _FunctionExpressionContext(self, node: Any) -> Expr:
        fname = node.functionName().getText().upper()
        if fname in v.AGGREGATES:
            raise UserError(f"ES|QL: aggregate {fname} outside STATS")
        args = [self.expr(a) for a in node.booleanExpression()]
        if fname == "NOW":
            self.uses_now = True
            return lambda r, now: v.EsDate(now)
        if fname == "CASE":
            pairs = list(zip(args[0::2], args[1::2], strict=False))
            default = args[-1] if len(args) % 2 else None

            def case(r: Row, now: int) -> Any:
                for cond, then in pairs:
                    if cond(r, now) is True:
                        return then(r, now)
                return default(r, now) if default is not None else None

            return case
        if fname == "COALESCE":
            def coalesce(r: Row, now: int) -> Any:
                for a in args:
                    x = a(r, now)
                    if x is not None:
                        return x
                return None

            return coalesce
        unary: dict[str, Callable[[Any], Any]] = {
            "TO_LOWER": lambda x: x.lower() if isinstance(x, str) else None,
            "TO_UPPER": lambda x: x.upper() if isinstance(x, str) else None,
            "ABS": lambda x: abs(x) if isinstance(x, (int, float)) else None,
        }
        if fname in unary and len(args) == 1:
            fn, a0 = unary[fname], args[0]
            return lambda r, now: None if (x := v.scalar(a0(r, now))) is None else fn(x)
        if fname == "MV_COUNT" and len(args) == 1:
            a0 = args[0]
            return lambda r, now: len(v.values(a0(r, now))) or None
        if fname == "MV_APPEND" and len(args) == 2:
            first, second = args
            return lambda r, now: v.mv_append(first(r, now), second(r, now))
        if fname == "BUCKET" and len(args) == 2:
            date, step = args
            return lambda r, now: v.floor_to(date(r, now), step(r, now))
        if fname == "DATE_TRUNC" and len(args) == 2:
            step, date = args
            return lambda r, now: v.floor_to(date(r, now), step(r, now))
        if fname == "DATE_EXTRACT" and len(args) == 2:
            part, date = args
            if not hasattr(part, "constant"):
                raise UserError(f"ES|QL: DATE_EXTRACT in {_text(node)!r}: the backtest needs the date part as a "
                                "string literal")
            extract = v.date_part(part.constant)  # type: ignore[attr-defined]
            return lambda r, now: extract(date(r, now))
        raise UserError(f"ES|QL: function {fname} is not supported by the backtest")

    # ---- commands -----------------------------------------------------------------------------------
    def where(self, node: Any) -> Expr:
        return self.expr(node.booleanExpression())

    def eval_fields(self, node: Any) -> list[tuple[str, Expr]]:
        out = []
        for f in node.fields().field():
            expr = self.expr(f.booleanExpression())
            name = f.qualifiedName().getText() if f.ASSIGN() is not None else _text(f.booleanExpression())
            out.append((name.replace("`", ""), expr))
        return out


def _row_where(expr: Expr) -> RowStep:
    return lambda r: expr(r, 0) is True


def _row_eval(fields: list[tuple[str, Expr]]) -> RowStep:
    def step(r: Row) -> bool:
        for name, expr in fields:
            r.cols[name] = expr(r, 0)
        return True

    return step


def _table_where(expr: Expr) -> TableStep:
    return lambda rows, now: [r for r in rows if expr(r, now) is True]


def _table_eval(fields: list[tuple[str, Expr]]) -> TableStep:
    def step(rows: list[Row], now: int) -> list[Row]:
        for r in rows:
            for name, expr in fields:
                r.cols[name] = expr(r, now)
        return rows

    return step


Agg = tuple[str, str, Expr | None, Expr | None, list[Any]]  # (column, function, argument, WHERE, extra args)
Groups = dict[tuple[Any, ...], tuple[list[list[Any]], list[Event]]]  # key -> (each aggregate's inputs, events)


class Stats:
    """STATS ... BY as a table step, in two halves: `groups` reads rows into each group's aggregate inputs
    (the argument values of the rows each aggregate takes, in row order) and events; `rows` aggregates
    groups. Groups of consecutive slices of a run's rows, joined in order (`rows([groups(a), groups(b)])`),
    are the groups of the whole (`rows([groups(a + b)])`): values and groups come in the same order, so every
    aggregate gets the same input. When no expression calls NOW() (`uses_now`), the groups of a slice do not
    depend on the run: runners.EsqlRunner reads each row once and joins the slices of each run's window."""

    def __init__(self, aggs: list[Agg], by: list[tuple[str, Expr]], uses_now: bool) -> None:
        self.aggs, self.by, self.uses_now = aggs, by, uses_now

    def __call__(self, rows: list[Row], now: int) -> list[Row]:
        return self.rows([self.groups(rows, now)])

    def groups(self, rows: list[Row], now: int) -> Groups:
        out: Groups = {}
        aggs, by = self.aggs, self.by
        for r in rows:
            keys = [v.values(e(r, now)) or [None] for _, e in by]
            for key in itertools.product(*keys):
                group = out.get(key)
                if group is None:
                    group = out[key] = ([[] for _ in aggs], [])
                for inputs, (_, _, arg, filt, _) in zip(group[0], aggs, strict=True):
                    if filt is None or filt(r, now) is True:
                        inputs.append(None if arg is None else arg(r, now))
                group[1].extend(r.events)
        return out

    def rows(self, slices: list[Groups]) -> list[Row]:
        joined: Groups = {}
        for part in slices:
            for key, (inputs, events) in part.items():
                group = joined.get(key)
                if group is None:
                    joined[key] = ([list(i) for i in inputs], list(events))
                    continue
                for into, more in zip(group[0], inputs, strict=True):
                    into.extend(more)
                group[1].extend(events)
        if not self.by and not joined:
            joined[()] = ([[] for _ in self.aggs], [])
        out = []
        for key, (inputs, events) in joined.items():
            cols: dict[str, Any] = {}
            for column, (name, fname, arg, _, extra) in zip(inputs, self.aggs, strict=True):
                # COUNT(*) counts the rows the aggregate takes
                cols[name] = len(column) if arg is None else v.AGGREGATES[fname](column, *extra)
            for (name, _), value in zip(self.by, key, strict=True):
                cols[name] = value
            seen = {ev.index: ev for ev in events}
            out.append(Row(None, cols, [seen[i] for i in sorted(seen)]))
        return out


def _stats(comp: _Compiler, node: Any) -> Stats:
    comp.uses_now = False
    aggs: list[Agg] = []
    for agg in node.aggFields().aggField():
        f = agg.field()
        call = f.booleanExpression()
        name = f.qualifiedName().getText() if f.ASSIGN() is not None else _text(call)
        fn_node = call
        while not isinstance(fn_node, P.FunctionExpressionContext):
            kids = [k for k in (fn_node.children or []) if not isinstance(k, TerminalNode)]
            if len(kids) != 1:
                raise UserError(f"ES|QL: STATS {_text(call)!r}: only a direct aggregate call is supported")
            fn_node = kids[0]
        fname = fn_node.functionName().getText().upper()
        if fname not in v.AGGREGATES:
            raise UserError(f"ES|QL: aggregate {fname} is not supported by the backtest")
        args = fn_node.booleanExpression()
        arg = None if fn_node.ASTERISK() is not None else comp.expr(args[0])
        extra = [comp.expr(a)(Row(None, {}, []), 0) for a in args[1:]]
        filt = comp.expr(agg.booleanExpression()) if agg.WHERE() is not None else None
        aggs.append((name.replace("`", ""), fname, arg, filt, extra))
    by: list[tuple[str, Expr]] = []
    if node.BY() is not None:
        for f in node.fields().field():
            expr = comp.expr(f.booleanExpression())
            name = f.qualifiedName().getText() if f.ASSIGN() is not None else _text(f.booleanExpression())
            by.append((name.replace("`", ""), expr))
    return Stats(aggs, by, comp.uses_now)


def _sort(comp: _Compiler, node: Any) -> TableStep:
    orders = []
    for o in node.orderExpression():
        desc = o.DESC() is not None
        nulls_first = o.FIRST() is not None if o.NULLS() is not None else desc
        orders.append((comp.expr(o.booleanExpression()), desc, nulls_first))

    def step(rows: list[Row], now: int) -> list[Row]:
        for expr, desc, nulls_first in reversed(orders):
            present = [r for r in rows if v.scalar(expr(r, now)) is not None]
            absent = [r for r in rows if v.scalar(expr(r, now)) is None]
            present.sort(key=lambda r: v.scalar(expr(r, now)), reverse=desc)
            rows = absent + present if nulls_first else present + absent
        return rows

    return step


def _patterns(node: Any) -> list[str]:
    return [p.getText().replace("`", "") for p in node.qualifiedNamePatterns().qualifiedNamePattern()]


def _keep(comp: _Compiler, node: Any, drop: bool) -> TableStep:
    patterns = _patterns(node)
    named = {p: comp.column(p) for p in patterns if not drop and not any(ch in p for ch in "*?")}

    def step(rows: list[Row], now: int) -> list[Row]:
        for r in rows:
            if drop:
                r.cols = {k: x for k, x in r.cols.items() if not any(fnmatch.fnmatchcase(k, p) for p in patterns)}
                continue
            kept: dict[str, Any] = {}
            for p in patterns:
                if any(ch in p for ch in "*?"):
                    kept.update({k: x for k, x in r.cols.items() if fnmatch.fnmatchcase(k, p) and k not in kept})
                else:
                    kept[p] = named[p](r, now)
            r.cols = kept
            r.doc = None
        return rows

    return step


def _limit(node: Any) -> TableStep:
    n = int(node.getText()[len("LIMIT"):].strip())
    return lambda rows, now: rows[:n]


def _commands(tree: Any) -> list[Any]:
    out: list[Any] = []

    def walk(n: Any) -> None:
        if isinstance(n, (P.SourceCommandContext, P.ProcessingCommandContext)):
            out.append(n.getChild(0))
            return
        for ch in n.children or []:
            if not isinstance(ch, TerminalNode):
                walk(ch)

    walk(tree)
    return out


def _where_literals(node: Any) -> c.Literals:
    """Strings a line must contain for this condition to hold (see conditions.Literals)."""
    if isinstance(node, P.LogicalBinaryContext):
        parts = [_where_literals(node.children[0]), _where_literals(node.children[2])]
        return c.literals_all(parts) if node.AND() is not None else c.literals_any(parts)
    if isinstance(node, P.ParenthesizedExpressionContext):
        return _where_literals(node.booleanExpression())
    if isinstance(node, P.LogicalInContext) and node.NOT() is None:
        consts = [_constant_string(x) for x in node.valueExpression()[1:]]
        return c.whole(consts)
    if isinstance(node, P.ComparisonContext) and node.children[1].getText() == "==":
        s = _constant_string(node.children[2]) or _constant_string(node.children[0])
        return c.whole([s])
    kids = [k for k in (node.children or []) if not isinstance(k, TerminalNode)]
    if len(kids) == 1 and not isinstance(node, (P.LogicalNotContext, P.IsNullContext)):
        return _where_literals(kids[0])
    return None


def _constant_string(node: Any) -> str | None:
    while True:
        if isinstance(node, P.StringLiteralContext):
            return _string(node.getText()) or None
        kids = [k for k in (node.children or []) if not isinstance(k, TerminalNode)]
        if len(kids) != 1 or isinstance(node, P.FunctionContext):
            return None
        node = kids[0]


@lru_cache(maxsize=64)
def compile_esql(query: str) -> EsqlPlan:
    """Compiled once per query text: a plan is never changed by the runners that use it."""
    with recording() as reads:
        plan = _compile(query)
    plan.fields = frozenset(reads)
    return plan


def _compile(query: str) -> EsqlPlan:
    try:
        tree = parse_esql(query)
    except QuerySyntaxError as err:
        raise UserError(f"ES|QL: {err}") from None
    commands = _commands(tree)
    if not commands or not isinstance(commands[0], P.FromCommandContext):
        raise UserError("ES|QL: the backtest runs queries that start with FROM")
    sources = [p.getText() for p in commands[0].indexPatternAndMetadataFields().indexPattern()]
    comp = _Compiler()
    stream_steps: list[RowStep] = []
    table_steps: list[TableStep] = []
    literal_parts: list[c.Literals] = []
    aggregating = False
    streaming = True
    names = []
    table_reads: set[str] = set()  # the names the per-run steps read, up to the first STATS
    for cmd in commands[1:]:
        kind = type(cmd).__name__.removesuffix("CommandContext").upper()
        names.append(kind)
        comp.reads = set()
        if kind in ("WHERE", "EVAL"):
            comp.uses_now = False
            built = comp.where(cmd) if kind == "WHERE" else comp.eval_fields(cmd)
            if streaming and not comp.uses_now:
                stream_steps.append(_row_where(built) if kind == "WHERE" else _row_eval(built))  # type: ignore[arg-type]
                if kind == "WHERE":
                    literal_parts.append(_where_literals(cmd.booleanExpression()))
                continue
            streaming = False
            table_steps.append(_table_where(built) if kind == "WHERE" else _table_eval(built))  # type: ignore[arg-type]
        elif kind == "STATS":
            table_steps.append(_stats(comp, cmd))
        elif kind == "SORT":
            table_steps.append(_sort(comp, cmd))
        elif kind == "LIMIT":
            table_steps.append(_limit(cmd))
        elif kind in ("KEEP", "DROP"):
            table_steps.append(_keep(comp, cmd, drop=kind == "DROP"))
        else:
            raise UserError(f"ES|QL: command {kind} is not supported by the backtest")
        streaming = False
        if not aggregating:
            table_reads |= comp.reads
        aggregating = aggregating or kind == "STATS"
    if aggregating:
        return EsqlPlan(sources, stream_steps, table_steps, aggregating, c.literals_all(literal_parts), names,
                        sorted(table_reads))
    columns = sorted({n.getText().replace("`", "") for n in _nodes(tree) if isinstance(n, P.QualifiedNameContext)}
                     | {p for cmd in commands if isinstance(cmd, P.KeepCommandContext) for p in _patterns(cmd)
                        if not any(ch in p for ch in "*?")})
    return EsqlPlan(sources, stream_steps, table_steps, aggregating, c.literals_all(literal_parts), names, columns)


def _nodes(node: Any) -> list[Any]:
    out = [node]
    for ch in node.children or []:
        if not isinstance(ch, TerminalNode):
            out.extend(_nodes(ch))
    return out
