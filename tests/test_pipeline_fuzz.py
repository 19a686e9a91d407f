"""Malformed variants of real fixture documents: every one comes out, changed only in our fields."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from cloud_secrets.assets.fields import load_fields
from cloud_secrets.assets.package_assets import default_pipeline
from cloud_secrets.elastic.ingest import install_pipelines, simulate
from cloud_secrets.elastic.pipeline_tests import load_cases

pytestmark = pytest.mark.engine

# Every field a tagging pipeline reads, and the containers above them.
TARGETS = [
    "event", "event.action", "event.dataset", "event.provider", "tags", "user", "user.name", "user.id",
    "source", "source.address", "user_agent", "user_agent.original", "cloud_secrets",
    "aws.cloudtrail", "aws.cloudtrail.request_parameters", "aws.cloudtrail.flattened",
    "aws.cloudtrail.flattened.request_parameters", "aws.cloudtrail.flattened.request_parameters.secretId",
    "aws.cloudtrail.flattened.request_parameters.secretIdList",
    "aws.cloudtrail.flattened.request_parameters.maxResults",
    "aws.cloudtrail.flattened.request_parameters.versionStage", "aws.cloudtrail.user_identity",
    "aws.cloudtrail.user_identity.type", "aws.cloudtrail.user_identity.arn",
    "aws.cloudtrail.user_identity.invoked_by", "azure.resource.id", "azure.platformlogs.properties",
    "azure.platformlogs.properties.id", "azure.platformlogs.properties.requestUri",
    "azure.platformlogs.properties.clientInfo", "azure.platformlogs.identity.claim",
    "azure.platformlogs.identity.claim.upn", "azure.platformlogs.identity.claim.appid",
    "azure.platformlogs.identity.claim.xms_mirid", "azure.activitylogs.identity.claims",
    "client.user.email", "client", "gcp.audit.resource_name", "gcp.audit",
]

ODD_STRINGS = ["", " ", "\u0000", "\u202e\u0635\u0648\u0631\u0629", "💥" * 40, "{", "}", "{=}", "[", "=,=",
               "https://", "https:///secrets/", "projects//secrets/", "a" * 5000, "{secretIdList=[a, [b, c}"]


def _wrong_values(rng: random.Random) -> list[Any]:
    return [None, 0, -1, 3.5, True, [], {}, ["a", 1, None, {"x": 1}], {"nested": {"deep": [1, 2]}},
            rng.choice(ODD_STRINGS), [rng.choice(ODD_STRINGS)], 10**15]


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _delete(doc: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    cur: Any = doc
    for part in parts[:-1]:
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def _secret_events() -> list[dict[str, Any]]:
    return [e for case in load_cases() for e in case.events]


def variants(seed: int = 1555006, per_event: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for event in _secret_events():
        for _ in range(per_event):
            doc = copy.deepcopy(event)
            for path in rng.sample(TARGETS, rng.randint(1, 4)):
                if rng.random() < 0.3:
                    _delete(doc, path)
                else:
                    _set(doc, path, copy.deepcopy(rng.choice(_wrong_values(rng))))
            out.append(doc)
    out.append(huge_batch())
    return out


def huge_batch() -> dict[str, Any]:
    """A BatchGetSecretValue fixture naming 20,000 secrets."""
    huge = copy.deepcopy(next(e for e in _secret_events() if e["event"]["action"] == "BatchGetSecretValue"))
    _set(huge, "aws.cloudtrail.flattened.request_parameters", {"secretIdList": [f"s-{i}" for i in range(20000)]})
    return huge


def _strip_related_identity(before: dict[str, Any], after: dict[str, Any], identity: Any) -> None:
    """Undo the identity's append to related.user (a string related.user becomes a list to take it)."""
    related = after.get("related")
    if identity is None or not isinstance(related, dict) or not isinstance(related.get("user"), list):
        return
    had_related = before.get("related")
    had = had_related.get("user") if isinstance(had_related, dict) else None
    users = related["user"]
    if not (isinstance(had, list) and identity in had) and users and users[-1] == identity:
        users.pop()
    if isinstance(had, str) and users == [had]:
        related["user"] = had
    elif had is None and not users:  # filled when absent or null, as user.name
        if isinstance(had_related, dict) and "user" in had_related:
            related["user"] = None
        else:
            related.pop("user")
    if not related and "related" not in before:
        after.pop("related")


def _strip_ours(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The output with everything our pipelines may add or set removed, so it can equal the input."""
    after = copy.deepcopy(after)
    ours = after.pop("cloud_secrets", None)
    _strip_related_identity(before, after, ours.get("identity") if isinstance(ours, dict) else None)
    if "error" not in before:
        after.pop("error", None)
    elif isinstance(before["error"], dict) and "message" not in before["error"]:
        after["error"].pop("message", None)
    tags_before, tags_after = before.get("tags"), after.get("tags")
    if isinstance(tags_after, list) and "secret_access" in tags_after:
        had = tags_before if isinstance(tags_before, list) else [tags_before] if "tags" in before else []
        if "secret_access" not in had:
            rest = [t for t in tags_after if t != "secret_access"]
            after["tags"] = tags_before if not isinstance(tags_before, list) and rest == had else rest
            if "tags" not in before and not rest:
                after.pop("tags")
    user_before, user_after = before.get("user"), after.get("user")
    effective_before = user_before.get("effective") if isinstance(user_before, dict) else None
    effective = user_after.get("effective") if isinstance(user_after, dict) else None
    if isinstance(effective, dict) and not (isinstance(effective_before, dict) and effective_before.get("id")
                                            is not None):
        # user.effective.id is set to the identity when absent or null, as user.name
        effective.pop("id", None)
        if isinstance(effective_before, dict) and "id" in effective_before:
            effective["id"] = None
        if not effective and not (isinstance(user_before, dict) and "effective" in user_before):
            user_after.pop("effective")
    if isinstance(user_after, dict) and not (isinstance(user_before, dict) and user_before.get("name") is not None):
        # user.name is filled when absent or null; a null stays null in the comparison.
        user_after.pop("name", None)
        if isinstance(user_before, dict) and "name" in user_before:
            user_after["name"] = None
        if not user_after and "user" not in before:
            after.pop("user")
    return after


@pytest.fixture(scope="module")
def pipeline(es) -> str:
    install_pipelines(es)
    return default_pipeline()


def test_every_malformed_document_comes_out_unchanged_but_for_our_fields(es, pipeline) -> None:
    docs = variants()
    outputs = []
    for start in range(0, len(docs), 200):
        outputs.extend(simulate(es, pipeline, docs[start:start + 200]))
    assert len(outputs) == len(docs)
    rejected = [o for o in outputs if "__error__" in o or "__dropped__" in o]
    assert not rejected, rejected[:3]
    changed = []
    for before, after in zip(docs, outputs, strict=True):
        before = {k: v for k, v in before.items() if k != "cloud_secrets"}
        stripped = _strip_ours(before, after)
        if stripped != before:
            keys = sorted(k for k in set(before) | set(stripped) if before.get(k) != stripped.get(k))
            changed.append({k: (json.dumps(before.get(k))[:300], json.dumps(stripped.get(k))[:300]) for k in keys})
    assert not changed, changed[:3]


def test_huge_batch_counts_every_secret(es, pipeline) -> None:
    [out] = simulate(es, pipeline, [huge_batch()])
    assert out["cloud_secrets"]["secret"]["count"] == 20000
    assert "error" not in out


def test_well_formed_fixtures_never_record_errors(es, pipeline) -> None:
    outputs = simulate(es, pipeline, _secret_events())
    assert all("error" not in o and o["event"]["kind"] == "event" for o in outputs)


# The 7.10 engine runs without x-pack: the package's x-pack and 8.x field types map to the nearest core type.
CORE_TYPE = {"constant_keyword": {"type": "keyword"}, "match_only_text": {"type": "text"},
             "flattened": {"type": "object", "enabled": False}}


def _mapping_of(types: dict[str, str]) -> dict[str, Any]:
    """An index mapping for dotted field names and their types, `dynamic: false` for everything else."""
    root: dict[str, Any] = {}
    for name, ftype in sorted(types.items()):
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
        node.setdefault(leaf, CORE_TYPE.get(ftype, {"type": ftype}))
    return {"dynamic": False, "properties": root}


def _rejected(es, index: str, mapping: dict[str, Any], docs: list[dict[str, Any]], pipeline: str | None) -> set[int]:
    """Index every document (through `pipeline` if given) into a new index with `mapping`; the rejected ones."""
    es.put(f"/{index}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                                      "index.mapping.total_fields.limit": 5000}, "mappings": mapping})
    try:
        rejected: set[int] = set()
        for start in range(0, len(docs), 200):
            lines = "".join(f'{json.dumps({"create": {"_index": index, "_id": str(start + i)}})}\n{json.dumps(d)}\n'
                            for i, d in enumerate(docs[start:start + 200]))
            result = es.post_ndjson("/_bulk", lines, params={"pipeline": pipeline} if pipeline else None)
            rejected |= {start + i for i, item in enumerate(result["items"]) if item["create"].get("error")}
        return rejected
    finally:
        es.delete(f"/{index}")


def test_no_fuzzed_document_is_rejected_at_index_time_because_of_our_fields(es, pipeline) -> None:
    """Through the pipeline into an index mapped with the package's own fields (what `attach --mappings` adds
    to the official data streams): none is rejected. Then with every field the package declares: every
    document the mapping accepts as it comes is also accepted once tagged."""
    docs = variants()
    ours = {n: t for n, t in load_fields().types.items() if n.startswith("cloud_secrets.")}
    assert _rejected(es, "cs-fuzz-ours", _mapping_of(ours), docs, pipeline) == set()
    everything = _mapping_of(load_fields().types)
    raw = _rejected(es, "cs-fuzz-raw", everything, docs, None)
    tagged = _rejected(es, "cs-fuzz-tagged", everything, docs, pipeline)
    assert len(raw) < len(docs) and tagged <= raw, [docs[i] for i in sorted(tagged - raw)][:3]
