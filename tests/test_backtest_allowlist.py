"""The allowlist in the backtest: the rule exception Kibana applies, on the rules that accept it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from backtest_helpers import MIN, T0
from cloud_secrets.assets.rules.exceptions import Allowlist
from cloud_secrets.evaluation.backtest.exceptions import ExceptionFilter
from cloud_secrets.evaluation.backtest.rulepack import package_rules, with_allowlist
from cloud_secrets.evaluation.simulate.allowlist import automation_identities
from cloud_secrets.timestamps import iso_ms

CI = "arn:aws:iam::111122223333:role/deploy-pipeline"
CLI = [sys.executable, "-c", "from cloud_secrets.cli.main import main; main()", "backtest"]


def _read(i: int, identity: str, ip: str) -> dict:
    return {"@timestamp": iso_ms(T0 + i * MIN),
            "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"},
            "event": {"dataset": "aws.cloudtrail", "action": "GetSecretValue", "outcome": "success"},
            "source": {"ip": ip}, "user": {"name": "deploy-pipeline"}, "tags": ["secret_access"],
            "cloud_secrets": {"provider": "aws", "operation": "read", "outcome": "success", "identity": identity,
                              "identity_type": "role", "secret": {"id": [f"prod/app/secret-{i}"], "count": 1}}}


def test_the_filter_matches_identity_and_optionally_an_address_range() -> None:
    doc = _read(0, CI, "192.0.2.10")
    assert ExceptionFilter.of(Allowlist((CI,))).excludes(doc)
    assert ExceptionFilter.of(Allowlist((CI,), ("192.0.2.0/24",))).excludes(doc)
    assert not ExceptionFilter.of(Allowlist((CI,), ("198.51.100.0/24",))).excludes(doc)
    assert not ExceptionFilter.of(Allowlist(("someone-else",))).excludes(doc)


def test_only_rules_that_accept_an_allowlist_get_it() -> None:
    rules = with_allowlist(package_rules(), Allowlist((CI,)))
    got = {r.slug: r.exceptions is not None for r in rules}
    assert got["bulk_access_sequence"] is False  # the seed rule takes no allowlist
    assert got["bulk_access_distinct_secrets"] and got["first_seen_secret_access"]
    assert all(r.exceptions is None for r in package_rules())  # the originals are untouched


def _backtest(path: Path, *extra: str) -> list[dict]:
    proc = subprocess.run([*CLI, str(path), "--json", "--quiet",
                           "--rule", "bulk_access_distinct_secrets", *extra],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_an_allowlisted_ci_identity_no_longer_fires_and_others_still_do(tmp_path: Path) -> None:
    docs = [_read(i, CI, "192.0.2.10") for i in range(25)]
    docs += [_read(100 + i, "arn:aws:iam::111122223333:user/mallory", "203.0.113.9") for i in range(25)]
    docs.sort(key=lambda d: d["@timestamp"])
    path = tmp_path / "tagged.ndjson"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    allow = tmp_path / "allow.yml"
    allow.write_text(f"identities:\n  - {CI}\n")
    before = {a["identity"] for a in _backtest(path)}
    after = {a["identity"] for a in _backtest(path, "--allowlist", str(allow))}
    assert before == {CI, "arn:aws:iam::111122223333:user/mallory"}
    assert after == {"arn:aws:iam::111122223333:user/mallory"}


def test_a_missing_allowlist_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.ndjson"
    path.write_text("")
    proc = subprocess.run([*CLI, str(path), "--allowlist",
                           str(tmp_path / "nope.yml")], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "nope.yml: allowlist file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_simulated_allowlist_holds_automation_only() -> None:
    labels = [{"kind": "benign", "actor": "aws-ci:deploy-3", "identity": "deploy-3"},
              {"kind": "benign", "actor": "az-iac:terraform-0", "identity": "tf-sp"},
              {"kind": "benign", "actor": "aws-rotation:rotator", "identity": "rotator"},
              {"kind": "benign", "actor": "person:ann@example.com", "identity": "ann@example.com"},
              {"kind": "benign", "actor": "aws-app:orders-1", "identity": "orders-1"},
              {"kind": "attack", "actor": "attacker:ci", "identity": "deploy-9"}]
    assert automation_identities(json.dumps(x) for x in labels) == ["deploy-3", "rotator", "tf-sp"]
