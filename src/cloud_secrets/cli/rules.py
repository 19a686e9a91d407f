"""`cloud-secrets sigma convert` and `cloud-secrets rules export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..assets.catalog import catalog
from ..errors import UserError


@click.group("sigma")
def sigma() -> None:
    """The portable Sigma rule set in sigma/."""


@sigma.command("convert")
@click.option("--target", type=click.Choice(["eql", "esql", "splunk", "kusto"]), required=True,
              help="eql/esql: Elastic (fields mapped to ECS by our pipeline); splunk: CloudTrail/Azure/GCP JSON "
                   "field names; kusto: Microsoft Sentinel tables.")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of Sigma rules (default: the repository's sigma/).")
@click.option("--strict", is_flag=True, help="Fail when any rule cannot be converted for the target.")
def convert(target: str, rules_dir: Path | None, strict: bool) -> None:
    """Convert every Sigma rule with pySigma's backend for TARGET; print one query per rule."""
    from ..assets.rules import sigma_convert

    results = sigma_convert.convert(target, sigma_convert.load_collection(rules_dir), catalog())
    failed = [r for r in results if r.query is None]
    for r in results:
        if r.query is None:
            click.echo(f"# {r.name} ({r.kind}): not converted for {target}: {r.error}", err=True)
            continue
        click.echo(f"// {r.name} ({r.kind}): {r.title}" if target != "splunk" else f"`comment(\"{r.name}\")`")
        click.echo(r.query)
        click.echo()
    if strict and failed:
        raise UserError(f"{len(failed)} rule(s) could not be converted for {target}")


@click.group("rules")
def rules() -> None:
    """The Elastic rule pack."""


@rules.command("export")
@click.option("--format", "fmt", type=click.Choice(["ndjson"]), default="ndjson", show_default=True)
@click.option("--allowlist", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML with `identities:` (and optional `source_ips:`): exported as a rule exception list "
                   "attached to the rules that accept an allowlist.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
def export(fmt: str, allowlist: Path | None, output: Path | None) -> None:
    """Rules as ndjson for Kibana's Security > Rules > Import (a second install path beside Fleet)."""
    from ..assets.rules import exceptions, kibana
    from ..assets.rules.generate import ordered

    del fmt
    rule_list = ordered()
    extra = {}
    tail: list[str] = []
    if allowlist is not None:
        allow = exceptions.load_allowlist(exceptions.require_file(allowlist))
        extra = {r.slug: exceptions.rule_reference() for r in rule_list if r.allowlist}
        tail = exceptions.lines(allow)
    text = "\n".join(kibana.import_lines(rule_list, catalog(), extra) + tail) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(rule_list)} rules to {output}", err=True)
