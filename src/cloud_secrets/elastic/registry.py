"""The pinned package registry serving `build/packages` on loopback, as Fleet would reach it."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from .. import paths
from ..assets.package_assets import package_info
from ..errors import UserError

CONFIG = paths.ROOT / "scripts" / "registry" / "config.yml"
BINARY = paths.TOOLS_BIN / "package-registry"
ELASTIC_PACKAGE = paths.TOOLS_BIN / "elastic-package"


def build_package() -> Path:
    """`elastic-package build` (offline, as `make package` runs it); returns build/packages/<name>-<version>.zip."""
    if not ELASTIC_PACKAGE.exists():
        raise UserError("elastic-package is not built: run `make tools`")
    env = dict(os.environ, ELASTIC_PACKAGE_CHECK_UPDATE_DISABLED="true",
               ELASTIC_PACKAGE_DATA_HOME=str(paths.ROOT / ".tools" / "elastic-package-home"))
    proc = subprocess.run([str(ELASTIC_PACKAGE), "build"], cwd=paths.PACKAGE, env=env, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise UserError(f"elastic-package build failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    info = package_info()
    return paths.ROOT / "build" / "packages" / f"{info.name}-{info.version}.zip"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(workdir: Path = paths.ROOT, config: Path = CONFIG, port: int | None = None,
          timeout: float = 30.0) -> Iterator[str]:
    """Run the registry in `workdir` (its config's paths are relative to it) until the block ends; yields its URL."""
    if not BINARY.exists():
        raise UserError("package-registry is not built: run `make tools`")
    port = port or _free_port()
    log = workdir / "package-registry.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BINARY), "-config", str(config), "-address", f"127.0.0.1:{port}",
             "-require-package-signatures=false", "-log-type", "dev"],
            cwd=workdir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise UserError(f"package-registry exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise UserError(f"package-registry did not answer on {url} within {timeout:.0f}s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
