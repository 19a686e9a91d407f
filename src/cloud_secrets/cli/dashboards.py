"""`cloud-secrets dashboards preview`: the package's dashboards as static images from tagged documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..elastic.tag import read_documents
from ..errors import UserError


@click.group("dashboards")
def dashboards() -> None:
    """The package's Kibana dashboards."""


def _read_lines(path: str) -> list[dict]:
    if path == "-":
        return list(read_documents(sys.stdin, "<stdin>"))
    try:
        with open(path, encoding="utf-8") as stream:
            return list(read_documents(stream, path))
    except OSError as err:
        raise UserError(f"{path}: {err.strerror}") from None


@dashboards.command("preview")
@click.argument("file", default="-")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for one PNG per dashboard (overview.png, identity.png, alerts.png) and previews.html.")
@click.option("--labels", "labels_path",
              help="The simulator's labels (JSON lines): the drill-down shows an attacked identity.")
@click.option("--alerts", "alerts_path", help="Backtest alert lines (JSON lines with rule, identity, start).")
@click.option("--identity", help="The identity of the drill-down (default: the one whose peak hour stands out most).")
def preview(file: str, out: Path, labels_path: str | None, alerts_path: str | None, identity: str | None) -> None:
    """Render the dashboards from FILE: tagged documents, one JSON a line (`cloud-secrets tag` output; - for stdin)."""
    from ..evaluation import previews as dp

    docs = _read_lines(file)
    labels = _read_lines(labels_path) if labels_path else None
    alerts = dp.alerts_from_backtest(_read_lines(alerts_path)) if alerts_path else None
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for dash, image in dp.previews(docs, labels, alerts, identity):
        target = out / (dash.id.removeprefix("cloud_secrets-") + ".png")
        target.write_bytes(image)
        sections.append(dp.fragment(dash, image))
        click.echo(f"wrote {target}")
    page = out / "previews.html"
    page.write_text(f"<!doctype html><meta charset=utf-8><body>{''.join(sections)}</body>\n", encoding="utf-8")
    click.echo(f"wrote {page} ({json.dumps(dict(dp.counts(docs)))})")
