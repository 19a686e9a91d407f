"""A small Elasticsearch HTTP client: parsed JSON in and out, errors a user can act on."""

from __future__ import annotations

import os
import time
import urllib.parse
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import urllib3

from ..errors import UserError

ENV_URL = "CLOUD_SECRETS_ES"
TAGLINE = "You Know, for Search"
T = TypeVar("T")


class EsError(UserError):
    """Elasticsearch answered a request with an error status; `status` and `body` tell which."""

    def __init__(self, message: str, status: int, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class EsUnavailable(UserError):
    """No answer: the connection was refused, reset or timed out (the request may or may not have been done)."""


RETRY_STATUSES = (429, 502, 503, 504)  # too many requests, and a node or proxy briefly unavailable


def with_retries(call: Callable[[], T], attempts: int = 6, first_wait: float = 0.5,
                 on_retry: Callable[[str], None] | None = None) -> T:
    """`call()`, again after 0.5, 1, 2, 4, 8 s when Elasticsearch answers 429/502/503/504 or the connection
    fails. Only for idempotent calls (a search, a `_simulate`, a bulk `create` with our own ids)."""
    wait = first_wait
    for _ in range(attempts - 1):
        try:
            return call()
        except EsError as err:
            if err.status not in RETRY_STATUSES:
                raise
            reason = f"{err.status}"
        except EsUnavailable as err:
            reason = str(err).split(" (")[0]
        if on_retry is not None:
            on_retry(f"{reason}; retrying in {wait:g}s")
        time.sleep(wait)
        wait *= 2
    return call()


def resolve_es_url(option: str | None = None) -> str | None:
    """The Elasticsearch URL from `--es`, else from the environment variable CLOUD_SECRETS_ES."""
    value = option or os.environ.get(ENV_URL) or None
    return value.rstrip("/") if value else None


def redact_url(url: str) -> str:
    """The URL without a `user:password@` part, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _reason(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        cause = (err.get("caused_by") or {}).get("reason")
        reason = f"{err.get('type')}: {err.get('reason')}"
        return f"{reason} ({cause})" if cause else reason
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:300]


class EsClient:
    """GET/PUT/POST/DELETE against one Elasticsearch; checks once that the server is Elasticsearch."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        ca_cert: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        insecure: bool = False,
    ) -> None:
        """TLS certificates are verified (against `ca_cert` when given) unless `insecure`. No credential, and
        no CA path, ever appears in a message: errors name the URL without its `user:password@` part."""
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        self.url = redact_url(url.rstrip("/"))  # credentials in the URL move to the session, out of messages
        self.shown_url = self.url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Content-Type"] = "application/json"
        if api_key:
            self.session.headers["Authorization"] = f"ApiKey {api_key}"
        elif username:
            self.session.auth = (username, password or "")
        elif parts.username is not None:
            self.session.auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        # passed with every request: requests lets $REQUESTS_CA_BUNDLE override a session's own `verify`
        self.verify: bool | str = True
        if ca_cert:
            if not os.path.isfile(ca_cert):
                raise UserError("the CA certificate file given with --ca-cert ($CLOUD_SECRETS_CA_CERT) does not "
                                "exist or is not a file")
            self.verify = ca_cert
        if insecure:
            self.verify = False
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        self._info: dict[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        """`GET /`, checked to come from Elasticsearch (tagline or the X-Elastic-Product header)."""
        if self._info is None:
            resp = self._send("GET", "/")
            body = self._parse(resp, "GET", "/")
            genuine = resp.headers.get("X-Elastic-Product") == "Elasticsearch" or (
                isinstance(body, dict) and body.get("tagline") == TAGLINE
            )
            if not genuine:
                raise UserError(f"{self.shown_url} is not Elasticsearch (`GET /` did not identify as it)")
            self._info = body
        return self._info

    def version(self) -> str:
        return str(self.info()["version"]["number"])

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def get_or_none(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """`get`, or None when Elasticsearch answers 404 (the pipeline, template or index is absent)."""
        try:
            return self.get(path, params)
        except EsError as err:
            if err.status == 404:
                return None
            raise

    def put(self, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.request("PUT", path, body, params)

    def post(self, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body, params)

    def delete(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("DELETE", path, params=params)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Send one request and return its parsed JSON; an error status raises `EsError`."""
        self.info()
        resp = self._send(method, path, body, params)
        return self._parse(resp, method, path)

    def post_ndjson(self, path: str, lines: str, params: dict[str, Any] | None = None) -> Any:
        """POST newline-delimited JSON (e.g. `_bulk`) and return the parsed answer, with `request`'s errors."""
        self.info()
        resp = self._send("POST", path, params=params, ndjson=lines)
        return self._parse(resp, "POST", path)

    def _send(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
              ndjson: str | None = None):
        url = f"{self.url}/{path.lstrip('/')}"
        raw = {"data": ndjson.encode("utf-8"), "headers": {"Content-Type": "application/x-ndjson"}} \
            if ndjson is not None else {"json": body}
        try:
            return self.session.request(method, url, params=params, timeout=self.timeout, verify=self.verify,
                                        **raw)
        except requests.exceptions.SSLError:
            raise UserError(
                f"TLS error talking to {self.shown_url}: the server's certificate could not be verified "
                "(pass its CA certificate with --ca-cert, or --insecure to skip verification)") from None
        except requests.exceptions.ConnectionError:
            raise EsUnavailable(
                f"cannot connect to Elasticsearch at {self.shown_url} (connection refused or host unreachable); "
                "for the embedded node run `cloud-secrets engine start`"
            ) from None
        except requests.exceptions.Timeout:
            raise EsUnavailable(f"Elasticsearch at {self.shown_url} did not answer {method} {path} in time") from None
        except requests.exceptions.RequestException as err:
            raise UserError(f"cannot talk to Elasticsearch at {self.shown_url}: {type(err).__name__} "
                            "(check the URL: scheme, host and port)") from None

    def _parse(self, resp: requests.Response, method: str, path: str) -> Any:
        try:
            body: Any = resp.json() if resp.content else None
        except ValueError:
            if resp.ok:
                raise UserError(
                    f"{self.shown_url} is not Elasticsearch ({method} {path} did not return JSON)"
                ) from None
            body = resp.text
        if resp.status_code in (401, 403):
            what = "authentication failed" if resp.status_code == 401 else "permission denied"
            raise EsError(
                f"{what} ({resp.status_code}) for {method} {path} on {self.shown_url}: check the API key "
                f"or username/password. {_reason(body)}",
                resp.status_code,
                body,
            )
        if not resp.ok:
            raise EsError(
                f"{method} {path} failed ({resp.status_code}): {_reason(body)}", resp.status_code, body
            )
        return body
