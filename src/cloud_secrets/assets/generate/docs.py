"""Documentation tables generated from the catalog."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from ... import paths
from ..catalog import Catalog, Operation
from ..dashboards import dashboards_table
from ..rules.generate import readme_tables


def _call(op: Operation) -> str:
    """How the call is recognised: its event.action, and for Vault the mount type and path pattern."""
    out = f"`{op.action}`"
    if op.path:
        out += f" on `<mount>/{'/'.join(op.path)}` (mount type {', '.join(f'`{m}`' for m in op.mount_types)})"
    if op.requires_true:
        out += f" with `{op.requires_true}: true`"
    return out


def operations_table(cat: Catalog) -> str:
    rows = ["| provider | cloud_secrets.store | dataset | event.action | cloud_secrets.operation | secret id from "
            "| what it does |", "|---|---|---|---|---|---|---|"]
    for op in cat.operations:
        where = op.secret_id or op.secret_path
        rows.append(f"| {op.provider} | `{op.store}` | `{op.dataset}` | {_call(op)} | `{op.op_class}` | "
                    f"{f'`{where}`' if where else '-'} | {op.summary} |")
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


def fields_table() -> str:
    """The fields the tagging pipelines add, from the data stream's own field definitions."""
    path = paths.DATA_STREAM / "fields" / "cloud_secrets.yml"
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for group in yaml.safe_load(path.read_text(encoding="utf-8")):
        for f in group["fields"]:
            rows.append(f"| `{group['name']}.{f['name']}` | {f['type']} | {f['description']} |")
    rows.append("| `tags` | keyword | gains `secret_access` |")
    rows.append("| `user.name` | keyword | set to `cloud_secrets.identity` only when the integration left it empty |")
    rows.append("| `user.effective.id` | keyword | set to `cloud_secrets.identity` (when the integration left it "
                "empty): the one identity field Kibana maps in its alerts index, read by the higher-order rule |")
    return "\n".join(rows) + "\n"


def tables(cat: Catalog) -> dict[str, str]:
    return {"operations": operations_table(cat) + "\n" + writes_table(cat), "fields": fields_table(),
            "dashboards": dashboards_table(), **readme_tables(cat)}


def fill_between(text: str, tables: dict[str, str]) -> str:
    """Replace what stands between `<!-- catalog:NAME -->` and `<!-- /catalog:NAME -->` in a hand-written file."""
    for name, table in tables.items():
        start, end = f"<!-- catalog:{name} -->", f"<!-- /catalog:{name} -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = f"{head}{start}\n{table.rstrip()}\n{end}{rest.split(end, 1)[1]}"
    return text


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    template = (paths.CATALOG / "templates" / "package_readme.md").read_text(encoding="utf-8")
    yield "package/_dev/build/docs/README.md", fill(template, tables(cat))
    readme = paths.ROOT / "README.md"
    yield "README.md", fill_between(readme.read_text(encoding="utf-8"), tables(cat))
