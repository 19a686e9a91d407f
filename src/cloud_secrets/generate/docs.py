"""Documentation tables generated from the catalog."""

from __future__ import annotations

from collections.abc import Iterable

from .. import paths
from ..catalog import Catalog


def operations_table(cat: Catalog) -> str:
    rows = ["| provider | dataset | event.action | cloud_secrets.operation | secret id from | what it does |",
            "|---|---|---|---|---|---|"]
    for op in cat.operations:
        rows.append(f"| {op.provider} | `{op.dataset}` | `{op.action}` | `{op.op_class}` | "
                    f"{f'`{op.secret_id}`' if op.secret_id else '-'} | {op.summary} |")
    return "\n".join(rows) + "\n"


def writes_table(cat: Catalog) -> str:
    rows = ["| provider | write operations (never tagged as access) |", "|---|---|"]
    for p in cat.providers:
        rows.append(f"| {p.name} | {', '.join(f'`{w}`' for w in p.writes)} |")
    return "\n".join(rows) + "\n"


def fill(template: str, tables: dict[str, str]) -> str:
    """Replace every `<!-- catalog:NAME -->` marker in a template with the named generated table."""
    for name, table in tables.items():
        template = template.replace(f"<!-- catalog:{name} -->", table.rstrip("\n"))
    return template


def tables(cat: Catalog) -> dict[str, str]:
    return {"operations": operations_table(cat) + "\n" + writes_table(cat)}


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    template = (paths.CATALOG / "templates" / "package_readme.md").read_text(encoding="utf-8")
    yield "package/_dev/build/docs/README.md", fill(template, tables(cat))
