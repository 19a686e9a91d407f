"""Hunting queries and the response playbook (catalog/hunting/), validated and rendered as markdown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import paths
from ..catalog import Catalog
from ..fields import load_fields
from ..yamlsrc import Source, load
from . import syntax, templating

HUNTING_DIR = paths.CATALOG / "hunting"
LANGUAGES = ("esql", "eql")
PROVIDERS = ("aws", "azure", "gcp")


@dataclass(frozen=True)
class HuntingQuery:
    slug: str
    question: str
    language: str
    query: str
    notes: str


@dataclass(frozen=True)
class Step:
    do: str
    per_provider: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Phase:
    name: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Playbook:
    title: str
    intro: str
    phases: tuple[Phase, ...]


def _text(src: Source, data: object, key: str, where: str) -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise src.fail(where, f"expected a non-empty string, got {value!r}")
    return value.strip()


def load_queries(cat: Catalog, path: Path | None = None) -> tuple[HuntingQuery, ...]:
    src = load(path or HUNTING_DIR / "queries.yml")
    items = src.data.get("queries") if isinstance(src.data, dict) else None
    if not isinstance(items, list) or not items:
        raise src.fail("queries", "expected a non-empty list")
    defs = load_fields()
    out: list[HuntingQuery] = []
    for i, item in enumerate(items):
        where = f"queries[{i}]"
        language = _text(src, item, "language", f"{where}.language")
        if language not in LANGUAGES:
            raise src.fail(f"{where}.language", f"must be one of {', '.join(LANGUAGES)}")
        try:
            query = templating.render(_text(src, item, "query", f"{where}.query"), cat, language)
            names = syntax.fields(language, query)
        except (templating.TemplateError, syntax.QuerySyntaxError) as err:
            raise src.fail(f"{where}.query", str(err)) from None
        unknown = [n for n in names if defs.lookup(n) is None]
        if unknown:
            raise src.fail(f"{where}.query", f"fields not declared in the package: {', '.join(unknown)}")
        slug = _text(src, item, "slug", f"{where}.slug")
        if any(q.slug == slug for q in out):
            raise src.fail(f"{where}.slug", f"{slug!r} is used twice")
        out.append(HuntingQuery(slug, _text(src, item, "question", f"{where}.question"), language, query,
                                _text(src, item, "notes", f"{where}.notes")))
    return tuple(out)


def load_playbook(path: Path | None = None) -> Playbook:
    src = load(path or HUNTING_DIR / "playbook.yml")
    phases = src.data.get("phases") if isinstance(src.data, dict) else None
    if not isinstance(phases, list) or not phases:
        raise src.fail("phases", "expected a non-empty list")
    out = []
    for i, phase in enumerate(phases):
        steps = phase.get("steps") if isinstance(phase, dict) else None
        if not isinstance(steps, list) or not steps:
            raise src.fail(f"phases[{i}].steps", "expected a non-empty list")
        parsed = []
        for j, step in enumerate(steps):
            where = f"phases[{i}].steps[{j}]"
            unknown = set(step) - {"do", *PROVIDERS} if isinstance(step, dict) else set()
            if unknown:
                raise src.fail(f"{where}.{sorted(unknown)[0]}", f"unknown key (expected do, {', '.join(PROVIDERS)})")
            per = tuple((p, _text(src, step, p, f"{where}.{p}")) for p in PROVIDERS if p in step)
            parsed.append(Step(_text(src, step, "do", f"{where}.do"), per))
        out.append(Phase(_text(src, phase, "name", f"phases[{i}].name"), tuple(parsed)))
    return Playbook(_text(src, src.data, "title", "title"), _text(src, src.data, "intro", "intro"), tuple(out))


TITLES = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
FENCE = {"esql": "esql", "eql": "eql"}


def hunting_markdown(queries: tuple[HuntingQuery, ...], level: int = 3) -> str:
    h = "#" * level
    parts = []
    for q in queries:
        parts.append(f"{h} {q.question}\n\n`{q.slug}` ({'ES|QL' if q.language == 'esql' else 'EQL'})\n\n"
                     f"```{FENCE[q.language]}\n{q.query}\n```\n\n{q.notes}\n")
    return "\n".join(parts)


def playbook_markdown(book: Playbook, level: int = 3) -> str:
    h = "#" * level
    parts = [f"{book.intro}\n"]
    for n, phase in enumerate(book.phases, 1):
        lines = [f"{h} {n}. {phase.name}\n"]
        for step in phase.steps:
            lines.append(f"- {step.do}")
            lines.extend(f"  - {TITLES[p]}: {text}" for p, text in step.per_provider)
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
