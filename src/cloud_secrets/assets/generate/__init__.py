"""Generated assets: every file derived from the catalog, and the drift check over them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ... import paths
from ..catalog import Catalog, catalog
from ..dashboards import generate as dashboards_generate
from ..rules.generate import generate as rules_generate
from . import docs, pipelines, transforms

# A generator yields (path relative to the repository root, file content).
Generator = Callable[[Catalog], Iterable[tuple[str, str]]]


def generators() -> list[Generator]:
    return [pipelines.generate, docs.generate, rules_generate, transforms.generate, dashboards_generate]


def render(cat: Catalog | None = None) -> dict[str, str]:
    """Every generated file's content, keyed by its path relative to the repository root."""
    cat = cat or catalog()
    out: dict[str, str] = {}
    for gen in generators():
        for rel, content in gen(cat):
            if rel in out:
                raise RuntimeError(f"two generators write {rel}")
            out[rel] = content
    return out


#: Folders holding generated files only: a file there that the catalog no longer renders (a rule whose version
#: moved on, a removed operation's pipeline) is stale and goes.
OWNED_DIRS = ("docs/generated", "package/data_stream/secret_access/elasticsearch/ingest_pipeline",
              "package/elasticsearch/transform", "package/kibana/dashboard", "package/kibana/security_rule",
              "sigma/correlations", "sigma/rules")


def write(root: Path = paths.ROOT) -> list[str]:
    """Write every generated file and remove the orphans of the owned folders; returns the paths changed."""
    rendered = render()
    changed = drift(root, rendered)
    for rel in changed:
        target = root / rel
        if rel not in rendered:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered[rel], encoding="utf-8")
    return changed


def orphans(root: Path, rendered: dict[str, str]) -> list[str]:
    """Files in the owned folders that the catalog does not render."""
    return sorted(rel for folder in OWNED_DIRS if (root / folder).is_dir()
                  for path in (root / folder).rglob("*") if path.is_file()
                  and (rel := path.relative_to(root).as_posix()) not in rendered)


def drift(root: Path = paths.ROOT, rendered: dict[str, str] | None = None) -> list[str]:
    """Generated files that are missing or differ from what the catalog renders to, and orphans."""
    rendered = render() if rendered is None else rendered
    stale = []
    for rel, content in rendered.items():
        target = root / rel
        if not target.exists() or target.read_text(encoding="utf-8") != content:
            stale.append(rel)
    return stale + orphans(root, rendered)
