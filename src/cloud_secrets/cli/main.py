"""The `cloud-secrets` command line."""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import UserError


@click.group()
@click.version_option(__version__)
def cli() -> None:
    """Cloud secret store access detection for Elastic Security (MITRE ATT&CK T1555.006)."""


def _register() -> None:
    from .backtest import backtest
    from .dashboards import dashboards
    from .demo import demo
    from .engine import engine
    from .generate import generate
    from .replay import replay
    from .rules import rules, sigma
    from .simulate import simulate
    from .tag import pipelines, tag
    from .wiring import attach, detach, status

    for command in (backtest, dashboards, demo, engine, generate, pipelines, tag, simulate, rules, sigma, attach,
                    detach, status, replay):
        cli.add_command(command)


def main() -> None:
    _register()
    try:
        cli(standalone_mode=False)
    except UserError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
