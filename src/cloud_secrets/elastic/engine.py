"""The embedded Elasticsearch: one real 7.10.2 node on loopback, run from the jars in `.tools/engine/lib`.

codelibs' ElasticsearchClusterRunner starts the node in its own JVM, in its own process group so that
`start` can return. Config, data, log and `state.json` (pid, port, url) live in `.work/engine/`.
See scripts/engine/FINDINGS.md for why this route.
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from .. import paths
from ..errors import UserError

# Our launcher (scripts/engine/src): the cluster runner with the ingest role added to the node.
MAIN_CLASS = "cloudsecrets.EngineMain"
JAVA_ENV = "CLOUD_SECRETS_JAVA"  # a java binary or a JDK home
HEAP_ENV = "CLOUD_SECRETS_ENGINE_HEAP"  # e.g. 512m, 1g
PORT_ENV = "CLOUD_SECRETS_ENGINE_PORT"
JAVA_GLOB = "/usr/lib/jvm/*/bin/java"  # last resort when neither the env nor PATH gives a java
MIN_JAVA = 11
# The runner refuses HTTP ports above 9299 and listens on -baseHttpPort + 1.
PORTS = [*range(9250, 9300), *range(9201, 9250)]

ELASTICSEARCH_YML = """\
# Written by `cloud-secrets engine start` on every start.
network.host: 127.0.0.1
discovery.type: single-node
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
"""

LOG4J2_PROPERTIES = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
"""


@dataclass(frozen=True)
class Status:
    running: bool
    url: str | None = None
    pid: int | None = None
    health: str | None = None
    version: str | None = None
    rss_mib: int | None = None


def _alive(pid: int) -> bool:
    """True while `pid` runs; reaps it first if it is our own exited child (no zombies)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] != "Z":
        return True
    with suppress(ChildProcessError):  # it exited after the first wait: reap it now
        os.waitpid(pid, os.WNOHANG)
    return False


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _rss_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> str:
    """`$CLOUD_SECRETS_JAVA`, else `$JAVA_HOME/bin/java`, else `java` on PATH, else a JDK under the glob."""
    override = os.environ.get(JAVA_ENV)
    if override:
        java = str(Path(override) / "bin" / "java") if Path(override).is_dir() else override
        major = _java_major(java)
        if major is None or major < MIN_JAVA:
            raise UserError(f"{JAVA_ENV}={override} is not a Java {MIN_JAVA}+ runtime")
        return java
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(str(shutil.which("java")))
    candidates += sorted(glob.glob(JAVA_GLOB))
    for java in candidates:
        major = _java_major(java)
        if major is not None and major >= MIN_JAVA:
            return java
    raise UserError(f"java {MIN_JAVA}+ not found: install a JDK or set {JAVA_ENV} to its java binary")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Elasticsearch binds: TIME_WAIT is fine
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _pick_port() -> int:
    wanted = os.environ.get(PORT_ENV)
    if wanted:
        port = int(wanted)
        if port not in PORTS or not _port_free(port):
            raise UserError(f"{PORT_ENV}={wanted}: the port must be free and within 9201-9299")
        return port
    # In random order: two checkouts starting their nodes at once should not both pick the first free port.
    for port in random.sample(list(PORTS), len(PORTS)):
        if _port_free(port):
            return port
    raise UserError("no free port in 9201-9299 for the engine (the runner accepts no others)")


class Engine:
    """One embedded node, whose files live in `home` (default `.work/engine`)."""

    def __init__(self, home: Path | None = None, lib: Path | None = None) -> None:
        self.home = Path(home or paths.ENGINE_HOME)
        self.lib = Path(lib or paths.ENGINE_LIB)
        self.state_file = self.home / "state.json"
        self.log_file = self.home / "engine.log"
        self.node_dir = self.home / "node_1"
        self._children: dict[int, subprocess.Popen[bytes]] = {}  # nodes this process started: waited for on stop

    # -- state -------------------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None

    def _write_state(self, pid: int, port: int) -> None:
        state = {"pid": pid, "port": port, "url": f"http://127.0.0.1:{port}", "home": str(self.home)}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_file)

    def _ours(self, pid: int) -> bool:
        """The pid runs this home's node (and is not a recycled pid of some other program)."""
        args = _cmdline(pid)
        if not _alive(pid) or MAIN_CLASS not in args or "-basePath" not in args[:-1]:
            return False
        return args[args.index("-basePath") + 1] == str(self.home)

    def _orphans(self) -> list[int]:
        """Nodes running on this home that no state file points at (e.g. state.json was deleted)."""
        pids = [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit()]
        return [pid for pid in pids if pid != os.getpid() and self._ours(pid)]

    def _live_state(self) -> dict | None:
        """The state of a running node; a stale state file (dead or foreign pid) is removed."""
        state = self._read_state()
        if state is None:
            return None
        if self._ours(state["pid"]):
            return state
        self.state_file.unlink(missing_ok=True)
        return None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- HTTP --------------------------------------------------------------------------------------
    @staticmethod
    def _health(url: str, wait: float = 0) -> str | None:
        params = {"wait_for_status": "yellow", "timeout": f"{int(wait * 1000)}ms"} if wait else None
        try:
            resp = requests.get(f"{url}/_cluster/health", params=params, timeout=wait + 5)
            return str(resp.json()["status"]) if resp.ok else None
        except (requests.RequestException, ValueError, KeyError):
            return None

    def _log_port(self) -> int | None:
        """The HTTP port the runner reports (it moves on to the next one if ours got taken)."""
        try:
            match = re.search(r"HTTP Port:\s+(\d+)", self.log_file.read_text(errors="replace"))
        except OSError:
            return None
        return int(match.group(1)) if match else None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- commands ----------------------------------------------------------------------------------
    def url(self) -> str | None:
        state = self._live_state()
        return str(state["url"]) if state else None

    def status(self) -> Status:
        state = self._live_state()
        if state is None:
            return Status(running=False)
        url, pid = str(state["url"]), int(state["pid"])
        version = None
        with suppress(requests.RequestException, ValueError, KeyError):
            version = requests.get(url, timeout=5).json()["version"]["number"]
        return Status(True, url, pid, self._health(url), version, _rss_mib(pid))

    def start(self, timeout: float = 120.0, clean: bool = False) -> str:
        """Start the node (or find it running) and return its URL once its health is yellow or green."""
        with self._locked():
            state = self._live_state()
            if state is not None:
                self._wait_healthy(state["pid"], str(state["url"]), timeout)
                return str(state["url"])
            for pid in self._orphans():
                self._terminate(pid)
            if not any(self.lib.glob("elasticsearch-cluster-runner-*.jar")) or not (
                self.lib.parent / "classes" / "cloudsecrets" / "EngineMain.class"
            ).exists():
                raise UserError(f"engine jars missing in {self._display(self.lib)}: run `make bootstrap`")
            java = find_java()
            if clean:
                shutil.rmtree(self.node_dir / "data", ignore_errors=True)
            config = self.node_dir / "config"
            config.mkdir(parents=True, exist_ok=True)
            (config / "elasticsearch.yml").write_text(ELASTICSEARCH_YML)
            (config / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
            port = _pick_port()
            heap = os.environ.get(HEAP_ENV, "512m")
            cmd = [
                java,
                f"-Xms{heap}",
                f"-Xmx{heap}",
                "-XX:+ExitOnOutOfMemoryError",
                # elastic-package's Go client accepts a 7.10 node only with build_flavor "default"
                "-Des.distribution.flavor=default",
                "-Des.distribution.type=tar",
                "-Dlog4j2.formatMsgNoLookups=true",
                "-Djava.awt.headless=true",
                "-Dfile.encoding=UTF-8",
                "-Dio.netty.noUnsafe=true",
                "-Dio.netty.recycler.maxCapacityPerThread=0",
                f"-Djava.io.tmpdir={self.home / 'tmp'}",
                "-cp",
                os.pathsep.join([str(self.lib.parent / "classes"), str(self.lib / "*")]),
                MAIN_CLASS,
                "-basePath",
                str(self.home),
                "-numOfNode",
                "1",
                "-baseHttpPort",
                str(port - 1),
                "-clusterName",
                "cloud-secrets",
            ]
            (self.home / "tmp").mkdir(exist_ok=True)
            with open(self.log_file, "w") as log:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.home,
                    start_new_session=True,  # its own process group: `stop` kills the group
                )
            self._children[proc.pid] = proc
            self._write_state(proc.pid, port)
            try:
                url = self._wait_healthy(proc.pid, f"http://127.0.0.1:{port}", timeout)
            except BaseException:
                self._terminate(proc.pid)
                self._reap(proc.pid)
                self.state_file.unlink(missing_ok=True)
                raise
            return url

    def _wait_healthy(self, pid: int, url: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise UserError(
                    f"the engine exited while starting; log {self._display(self.log_file)}:\n" + self._log_tail()
                )
            port = self._log_port()
            if port is not None and not url.endswith(f":{port}"):
                url = f"http://127.0.0.1:{port}"
                self._write_state(pid, port)
            if self._health(url, wait=1) in ("yellow", "green"):
                return url
            time.sleep(0.2)
        raise UserError(
            f"the engine did not become healthy within {timeout:.0f}s; log {self._display(self.log_file)}:\n"
            + self._log_tail()
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the node; returns its pid, or None when none was running."""
        with self._locked():
            state = self._live_state()
            if state is None:
                orphans = self._orphans()
                for pid in orphans:
                    self._terminate(pid)
                return orphans[0] if orphans else None
            pid = int(state["pid"])
            self._terminate(pid, timeout)
            self._reap(pid)
            self.state_file.unlink(missing_ok=True)
            return pid

    def _reap(self, pid: int) -> None:
        """Wait for a node this process started, so that it leaves no zombie behind."""
        proc = self._children.pop(pid, None)
        if proc is not None:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    @staticmethod
    def _terminate(pid: int, timeout: float = 30.0) -> None:
        """SIGTERM the process group, wait, then SIGKILL it."""
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                if os.getpgid(pid) == pid:
                    os.killpg(pid, sig)
                else:
                    os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if not _alive(pid):
                    return
                time.sleep(0.1)
        raise UserError(f"could not stop the engine (pid {pid})")

    @staticmethod
    def _display(path: Path) -> str:
        try:
            return str(path.relative_to(paths.ROOT))
        except ValueError:
            return str(path)


_default = Engine()


def start(timeout: float = 120.0, clean: bool = False) -> str:
    return _default.start(timeout, clean)


def stop() -> int | None:
    return _default.stop()


def status() -> Status:
    return _default.status()


def url() -> str | None:
    return _default.url()
