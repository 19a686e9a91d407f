"""`cloud-secrets generate`: write every generated asset from the catalog, or check for drift."""

from __future__ import annotations

import click

from .. import paths
from ..assets import generate as gen
from ..errors import UserError


@click.command("generate")
@click.option("--check", is_flag=True, help="Fail when a generated file differs from what the catalog renders to.")
def generate(check: bool) -> None:
    """Render pipelines, rules and docs from the catalog."""
    if check:
        stale = gen.drift()
        if stale:
            raise UserError("generated files are out of date (run `make generate`): " + ", ".join(stale))
        click.echo(f"{len(gen.render())} generated files are up to date")
        return
    changed = gen.write()
    click.echo("\n".join(f"{'wrote' if (paths.ROOT / p).exists() else 'removed'} {p}" for p in changed)
               or "nothing to change")
