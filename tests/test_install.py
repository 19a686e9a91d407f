"""A real install: the built wheel in a fresh venv, run from another directory, away from the checkout.

The dependencies come from a local wheelhouse (`.work/wheelhouse`, filled from pip's cache and index the
first time, then used with `--no-index`), so later runs need no network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cloud_secrets import paths
from cloud_secrets.elastic import wiring
from cloud_secrets.elastic.client import EsClient

pytestmark = pytest.mark.engine

CHECKOUT = Path(__file__).resolve().parents[1]
WHEELHOUSE = CHECKOUT / ".work" / "wheelhouse"


def _run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """(the venv's bin folder, a working directory outside the checkout, the environment to run in)."""
    root = tmp_path_factory.mktemp("install")
    dist = root / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(CHECKOUT)])
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("cloud_secrets-*.whl")
    # A venv without pip of its own (ensurepip costs seconds), filled by the suite's pip aimed at it; no
    # byte-compiling of every dependency at install time: the commands below compile what they import.
    venv.create(root / "venv", with_pip=False)
    bin_dir = root / "venv" / "bin"
    pip = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", "--no-compile",
           "-c", str(CHECKOUT / "constraints.txt")]
    proc = _run([*pip, "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)])
    if proc.returncode != 0:  # first run on this machine: collect the dependencies' wheels once
        filled = _run([sys.executable, "-m", "pip", "wheel", "-q", "-c", str(CHECKOUT / "constraints.txt"),
                       "-w", str(WHEELHOUSE), str(wheel)])
        assert filled.returncode == 0, filled.stderr
        proc = _run([*pip, "--no-index", "--find-links", str(WHEELHOUSE), str(wheel)])
    assert proc.returncode == 0, proc.stderr
    work = root / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUD_SECRETS_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"HOME": str(root / "home"), "XDG_DATA_HOME": str(root / "home" / "share"),
                wiring.PREFIX_ENV: os.environ[wiring.PREFIX_ENV]})  # the suite's names, never the real ones
    yield bin_dir, work, env


def test_the_installed_copy_reads_its_own_data_not_the_checkout(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, work, env = installed
    proc = _run([str(bin_dir / "python"), "-c", "from cloud_secrets import paths; "
                 "print(paths.INSTALLED, paths.PACKAGE, paths.CATALOG, paths.WORK)"], cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    flag, package, catalog, work_dir = proc.stdout.split()
    assert flag == "True"
    for where in (package, catalog):
        assert where.startswith(str(bin_dir.parent)) and Path(where).is_dir()
    assert work_dir.startswith(env["XDG_DATA_HOME"])
    assert not paths.INSTALLED  # and the suite itself runs from the checkout


def test_every_command_works_from_the_wheel(installed: tuple[Path, Path, dict[str, str]], es: EsClient) -> None:
    bin_dir, work, env = installed
    cli = str(bin_dir / "cloud-secrets")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = _run([cli, *args], cwd=work, env=env)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    # The two commands that need neither the node nor the others' output run beside the rest (2 cores).
    with ThreadPoolExecutor(max_workers=1) as pool:
        aside = pool.submit(lambda: (run("rules", "export"), run("sigma", "convert", "--target", "esql")))
        _commands_in_order(run, es)
        exported, sigma = aside.result()
    assert exported.returncode == 0, exported.stderr
    rules = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    assert sum(r.get("type") == "siem" or "rule_id" in r for r in rules) >= 7
    assert sigma.returncode == 0 and sigma.stdout.strip(), sigma.stderr


def _commands_in_order(run: Callable[..., subprocess.CompletedProcess[str]], es: EsClient) -> None:
    """simulate, backtest and tag (which installs the pipelines), then attach, status and detach."""
    simulated = run("simulate", "--scenario", "stratus_aws_retrieve", "--no-progress", "--out", "docs.ndjson",
                    "--labels", "labels.ndjson")
    assert simulated.returncode == 0, simulated.stderr
    backtest = run("backtest", "docs.ndjson", "--labels", "labels.ndjson", "--quiet")
    assert backtest.returncode == 0, backtest.stderr

    tagged = run("tag", "docs.ndjson", "--es", es.url)
    assert tagged.returncode == 0, tagged.stderr
    assert any("secret_access" in json.loads(line).get("tags", []) for line in tagged.stdout.splitlines())

    try:
        attached = run("attach", "--dataset", "aws.cloudtrail", "--es", es.url)
        assert attached.returncode == 0, attached.stderr
        status = run("status", "--dataset", "aws.cloudtrail", "--json", "--es", es.url)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["wired"] is True
    finally:
        detached = run("detach", "--dataset", "aws.cloudtrail", "--es", es.url)
        assert detached.returncode == 0, detached.stderr
