"""A fault-injecting HTTP proxy on 127.0.0.1 between the CLI and the real node (tests only)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

Fault = Callable[[str, str], tuple[int, dict] | None]
Rewrite = Callable[[str, str, bytes | None], tuple[str, bytes | None]]


@contextmanager
def proxy(upstream: str, fault: Fault = lambda m, p: None, rewrite: Rewrite | None = None,
           answer_hook: Callable[[str, bytes], bytes] | None = None,
           delay: Callable[[str, str], float] = lambda m, p: 0.0,
           drop: Callable[[str, str], bool] = lambda m, p: False) -> Iterator[str]:
    """A forwarding HTTP proxy to the real node. `fault(method, path)` may answer instead (a network fault);
    `rewrite` may change a request on its way, `answer_hook(path, payload)` an answer on its way back;
    `delay(method, path)` seconds pass between the node's answer and ours (a slow network: the node has
    done the work when the client gives up); `drop(method, path)` closes the connection without an answer
    after the node did the work (a reset). It stops with the block."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            answer = fault(self.command, self.path)
            path = self.path
            if rewrite is not None:
                path, data = rewrite(self.command, path, data)
            if answer is not None:
                status, body = answer
                payload, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
            else:
                resp = requests.request(self.command, upstream + path, data=data, timeout=60,
                                        headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
                status, payload, headers = resp.status_code, resp.content, {
                    k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "x-elastic-product")}
                if answer_hook is not None:
                    payload = answer_hook(path, payload)
            time.sleep(delay(self.command, self.path))
            if answer is None and drop(self.command, self.path):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
