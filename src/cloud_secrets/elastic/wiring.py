"""Wire the official data streams' `@custom` pipelines to the package's tagging pipeline, safely.

Fleet ends the default pipeline of every data stream with a `pipeline` processor calling
`<type>-<dataset>@custom` (one per data stream, for all its namespaces; Kibana's
`getCustomPipelineNameForDatastream`), and composes the data stream's index template with the component
template of the same name. Both belong to the user. `attach` appends one recognisable processor (tag
`cloud_secrets_tagging`) calling our installed tagging pipeline, keeping every processor already there, and
can merge our field mappings into the component templates.

Every run is a `Plan` of `Change`s (previous body, new body). `apply` validates every new pipeline body with
`_simulate`, stores the previous bodies in the `cloud-secrets-backups` index, then writes one resource at a
time, each after checking that it still is what the plan was computed from (and, on Elasticsearch 7.16+,
with the server-side `if_version` check). A failure midway puts back what was already written.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..assets.catalog import catalog
from ..assets.fields import load_fields
from ..assets.package_assets import data_stream_pipelines, default_pipeline, package_info
from ..errors import UserError
from .client import EsClient, EsError

TAG = "cloud_secrets_tagging"
PROCESSOR_DESCRIPTION = "cloud-secrets: secret-store access tagging (added by `cloud-secrets attach`)"
CREATED_DESCRIPTION = "Created by `cloud-secrets attach` (`cloud-secrets detach` removes it)"
DATASETS = tuple(catalog().datasets())
BACKUP_INDEX = "cloud-secrets-backups"
# Prefixes every name wiring writes (the @custom pipelines and templates, the backups index). Only the test
# suite sets it, so that it never touches the real resources of the cluster it runs against.
PREFIX_ENV = "CLOUD_SECRETS_RESOURCE_PREFIX"
TAGGING_ERROR = "cloud_secrets.tagging_error"
PIPELINE = "pipeline"
TEMPLATE = "component_template"
_NAMESPACE = re.compile(r"^[a-z0-9_.]{1,100}$")
_QUOTED = re.compile(r'"([^"]*)"')
_PREFIX = re.compile(r"^([a-z0-9][a-z0-9_.-]{0,40})?$")

BACKUP_MAPPINGS = {
    "dynamic": False,
    "properties": {
        "@timestamp": {"type": "date"},
        "operation": {"type": "keyword"},
        "status": {"type": "keyword"},
        "items": {"type": "object", "enabled": False},
    },
}


def resource_prefix() -> str:
    """`$CLOUD_SECRETS_RESOURCE_PREFIX`: empty in real use; the test suite's own prefix in tests."""
    value = os.environ.get(PREFIX_ENV, "")
    if not _PREFIX.match(value):
        raise UserError(f"{PREFIX_ENV}={value!r}: lower case letters, digits, `_`, `.` and `-`, up to 41")
    return value


def custom_name(dataset: str, ds_type: str = "logs") -> str:
    """The `@custom` pipeline and component template of a data stream: `<type>-<dataset>@custom`."""
    return f"{resource_prefix()}{ds_type}-{dataset}@custom"


def backup_index() -> str:
    """The hidden index holding the bodies every `attach`/`detach` replaced."""
    return resource_prefix() + BACKUP_INDEX


def _version(es: EsClient) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", es.version())[:3])


def supports_if_version(es: EsClient) -> bool:
    """`PUT _ingest/pipeline/<id>?if_version=N`: Elasticsearch 7.16 and later (elastic/elasticsearch#78551)."""
    return _version(es) >= (7, 16)


# -- reading resources -------------------------------------------------------------------------------

def _path(kind: str, name: str) -> str:
    return f"/_ingest/pipeline/{name}" if kind == PIPELINE else f"/_component_template/{name}"


def read(es: EsClient, kind: str, name: str) -> dict[str, Any] | None:
    """The stored body of a pipeline or component template, or None when absent."""
    body = es.get_or_none(_path(kind, name))
    if not body:
        return None
    if kind == PIPELINE:
        return body.get(name)
    found = [t["component_template"] for t in body.get("component_templates", []) if t.get("name") == name]
    return found[0] if found else None


# -- the package's installed pipelines ------------------------------------------------------------------

def _default_prefix() -> str:
    return default_pipeline().removesuffix(package_info().version)


def _version_key(version: str) -> tuple[Any, ...]:
    main, _, pre = version.partition("-")
    numbers = tuple(int(p) if p.isdigit() else 0 for p in main.split("."))
    return (*numbers, pre == "", pre)  # a release sorts after its pre-releases


def installed_versions(es: EsClient) -> list[str]:
    """Versions of the tagging pipeline installed on the cluster (complete sets only), oldest first."""
    prefix = _default_prefix()
    names = set(es.get_or_none(f"/_ingest/pipeline/{prefix}*") or {})
    stems = [n.removeprefix(default_pipeline() + "-") for n in data_stream_pipelines() if n != default_pipeline()]
    found = []
    for name in names:
        rest = name.removeprefix(prefix)
        if any(rest.endswith(f"-{stem}") for stem in stems):
            continue
        if all(f"{name}-{stem}" in names for stem in stems):
            found.append(rest)
    return sorted(found, key=_version_key)


def resolve_target(es: EsClient, version: str | None = None) -> str:
    """The name of the tagging pipeline to call: the given version, else the newest installed."""
    versions = installed_versions(es)
    if version is not None and version not in versions:
        raise UserError(
            f"the cloud_secrets tagging pipeline {_default_prefix()}{version} is not installed on {es.url} "
            f"(installed: {', '.join(versions) or 'none'}); install the package in Fleet or run "
            f"`cloud-secrets pipelines install --es {es.url}`"
        )
    if not versions:
        raise UserError(
            f"no cloud_secrets tagging pipeline ({_default_prefix()}<version>) is installed on {es.url}: "
            f"install the package in Fleet or run `cloud-secrets pipelines install --es {es.url}`"
        )
    return _default_prefix() + (version or versions[-1])


# -- our processor -----------------------------------------------------------------------------------

def is_ours(processor: dict[str, Any]) -> bool:
    """Our processor: tagged `cloud_secrets_tagging`, or a hand-made call of the tagging pipeline."""
    call = processor.get("pipeline") if isinstance(processor, dict) else None
    if not isinstance(call, dict):
        return False
    return call.get("tag") == TAG or str(call.get("name", "")).startswith(_default_prefix())


def check_namespaces(namespaces: Iterable[str]) -> list[str]:
    out = sorted(set(namespaces))
    for ns in out:
        if not _NAMESPACE.match(ns):
            raise UserError(f"--namespace {ns!r}: a namespace is lower case letters, digits, `_` and `.`")
    return out


def secret_store_condition() -> str:
    """Painless: the document is a call of one of the catalog's secret-store operations."""
    actions = ", ".join(json.dumps(a) for a in sorted({op.action for op in catalog().operations}))
    return f"ctx.event instanceof Map && [{actions}].contains(ctx.event.action)"


def tagging_processor(target: str, namespaces: list[str] | None = None) -> dict[str, Any]:
    """The processor `attach` adds.

    It never rejects a document, and it never fails silently either: when the call fails (the tagging
    pipeline was removed, e.g. by a Fleet upgrade that deletes the previous version's pipelines), its
    `on_failure` marks secret-store documents with `cloud_secrets.tagging_error` naming the pipeline and
    appends the reason to `error.message`; other documents pass untouched. No `ignore_failure` (it would
    skip `on_failure`) and no `ignore_missing_pipeline` (a missing pipeline would pass unseen).
    """
    condition = secret_store_condition()
    reason = f"cloud-secrets: tagging pipeline {target} failed: {{{{{{ _ingest.on_failure_message }}}}}}"
    call: dict[str, Any] = {"name": target, "tag": TAG, "description": PROCESSOR_DESCRIPTION, "on_failure": [
        {"set": {"field": TAGGING_ERROR, "value": target, "if": condition, "ignore_failure": True,
                 "tag": "cloud_secrets_tagging_error"}},
        {"append": {"field": "error.message", "value": reason, "if": condition, "ignore_failure": True,
                    "tag": "cloud_secrets_tagging_error_message"}},
    ]}
    if namespaces:
        values = ", ".join(json.dumps(ns) for ns in namespaces)
        call["if"] = f"ctx.data_stream instanceof Map && [{values}].contains(ctx.data_stream.namespace)"
    return {"pipeline": call}


STAMP = 1  # the version `apply` gives a user's unversioned pipeline before changing it


def _bump(before: dict[str, Any] | None, after: dict[str, Any], stamp: bool = False) -> dict[str, Any]:
    """A changed body gets `version + 1` when the previous one had a version (so `if_version` can guard it).
    With `stamp` (pipelines), an unversioned previous body counts as `STAMP`: `apply` stamps it first, so
    that our own write, and every later edit, is guarded too."""
    if before is not None and isinstance(before.get("version"), int):
        after["version"] = before["version"] + 1
    elif before is not None and stamp:
        after["version"] = STAMP + 1
    return after


def _unversioned(body: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if body is None else {k: v for k, v in body.items() if k != "version"}


def _same(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    return _unversioned(before) == _unversioned(after)


def attached(before: dict[str, Any] | None, processor: dict[str, Any]) -> dict[str, Any] | None:
    """The pipeline with our processor: replaced in place if there, else appended; None when unchanged."""
    if before is None:
        return {"description": CREATED_DESCRIPTION, "version": 1, "processors": [processor]}
    after = copy.deepcopy(before)
    procs = list(after.get("processors") or [])
    mine = [i for i, p in enumerate(procs) if is_ours(p)]
    if mine:
        procs[mine[0]] = processor
        procs = [p for i, p in enumerate(procs) if i not in mine[1:]]
    else:
        procs.append(processor)
    after["processors"] = procs
    return None if _same(before, after) else _bump(before, after, stamp=True)


def detached(before: dict[str, Any] | None) -> tuple[bool, dict[str, Any] | None]:
    """(changed, body) without our processors; body None means delete (a pipeline we created, now empty)."""
    if before is None or not any(is_ours(p) for p in before.get("processors") or []):
        return False, before
    after = copy.deepcopy(before)
    after["processors"] = [p for p in after.get("processors") or [] if not is_ours(p)]
    if not after["processors"] and after.get("description") == CREATED_DESCRIPTION:
        return True, None
    return True, _bump(before, after, stamp=True)


# -- mappings ----------------------------------------------------------------------------------------

def our_mappings() -> dict[str, Any]:
    """`properties` for the package's `cloud_secrets.*` fields."""
    root: dict[str, Any] = {}
    for name, ftype in sorted(load_fields().types.items()):
        if not name.startswith("cloud_secrets.") or "*" in name:
            continue
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = {"type": ftype}
    return root


def _merge_properties(mine: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    for key, spec in mine.items():
        path = f"{where}.{key}" if where else key
        have = theirs.get(key)
        if have is None:
            theirs[key] = copy.deepcopy(spec)
        elif "properties" in spec:
            if "type" in have and have["type"] != "object":
                raise UserError(f"component template maps {path} as {have['type']}, the package needs an object")
            _merge_properties(spec["properties"], have.setdefault("properties", {}), path)
        elif have.get("type") != spec["type"]:
            raise UserError(f"component template maps {path} as {have.get('type', 'object')}, "
                            f"the package needs {spec['type']}: fix it by hand, then attach again")


def with_mappings(before: dict[str, Any] | None) -> dict[str, Any] | None:
    """The component template with our mappings merged in; None when it already has them."""
    after = copy.deepcopy(before) if before is not None else {
        "template": {}, "version": 1, "_meta": {"description": CREATED_DESCRIPTION}}
    props = after.setdefault("template", {}).setdefault("mappings", {}).setdefault("properties", {})
    _merge_properties(our_mappings(), props, "")
    return None if _same(before, after) else _bump(before, after)


def _remove_properties(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    for key, spec in mine.items():
        have = theirs.get(key)
        if have is None:
            continue
        if "properties" in spec and "properties" in have:
            _remove_properties(spec["properties"], have["properties"])
            if not have["properties"] and set(have) == {"properties"}:
                del theirs[key]
        elif have == spec:
            del theirs[key]


def without_mappings(before: dict[str, Any] | None) -> tuple[bool, dict[str, Any] | None]:
    if before is None:
        return False, None
    after = copy.deepcopy(before)
    mappings = after.get("template", {}).get("mappings", {})
    if "properties" not in mappings:
        return False, before
    _remove_properties(our_mappings(), mappings["properties"])
    if not mappings["properties"]:
        del mappings["properties"]
    if not mappings:
        after["template"].pop("mappings", None)
    if _same(before, after):
        return False, before
    if (after.get("_meta") or {}).get("description") == CREATED_DESCRIPTION and not after["template"]:
        return True, None
    return True, _bump(before, after)


# -- plans -------------------------------------------------------------------------------------------

@dataclass
class Change:
    kind: str
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed: bool

    def diff(self) -> str:
        def pretty(body: dict[str, Any] | None) -> list[str]:
            return [] if body is None else (json.dumps(body, indent=2, ensure_ascii=False) + "\n").splitlines(True)

        label = f"{self.kind} {self.name}"
        return "".join(difflib.unified_diff(
            pretty(self.before), pretty(self.after),
            fromfile=f"{label} (current)" if self.before is not None else f"{label} (absent)",
            tofile=f"{label} (new)" if self.after is not None else f"{label} (deleted)",
        ))


@dataclass
class Plan:
    operation: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.changed]


def plan_attach(es: EsClient, datasets: Iterable[str] = DATASETS, namespaces: Iterable[str] = (),
                version: str | None = None, mappings: bool = False) -> Plan:
    target = resolve_target(es, version)
    processor = tagging_processor(target, check_namespaces(namespaces))
    plan = Plan("attach", notes=[f"tagging pipeline: {target}"])
    for dataset in datasets:
        name = custom_name(dataset)
        before = read(es, PIPELINE, name)
        after = attached(before, processor)
        plan.changes.append(Change(PIPELINE, name, before, after if after is not None else before, after is not None))
        if mappings:
            tbefore = read(es, TEMPLATE, name)
            tafter = with_mappings(tbefore)
            plan.changes.append(Change(TEMPLATE, name, tbefore, tafter if tafter is not None else tbefore,
                                       tafter is not None))
            if tafter is not None:
                plan.notes.append(f"mappings take effect at the next backing index: "
                                  f"POST logs-{dataset}-<namespace>/_rollover (or wait for ILM)")
    return plan


def plan_detach(es: EsClient, datasets: Iterable[str] = DATASETS) -> Plan:
    plan = Plan("detach")
    for dataset in datasets:
        name = custom_name(dataset)
        before = read(es, PIPELINE, name)
        changed, after = detached(before)
        plan.changes.append(Change(PIPELINE, name, before, after, changed))
        tbefore = read(es, TEMPLATE, name)
        tchanged, tafter = without_mappings(tbefore)
        if tchanged:
            plan.changes.append(Change(TEMPLATE, name, tbefore, tafter, True))
    return plan


# -- backups -----------------------------------------------------------------------------------------

def _ensure_backup_index(es: EsClient) -> None:
    if es.get_or_none(f"/{backup_index()}") is not None:
        return
    try:
        es.put(f"/{backup_index()}", {"settings": {"index": {"hidden": True, "number_of_shards": 1,
                                                           "auto_expand_replicas": "0-1"}},
                                    "mappings": BACKUP_MAPPINGS})
    except EsError as err:
        if "resource_already_exists" not in str(err):
            raise


def _dump(body: dict[str, Any] | None) -> str | None:
    return None if body is None else json.dumps(body, ensure_ascii=False)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def write_backup(es: EsClient, plan: Plan) -> str:
    _ensure_backup_index(es)
    doc = {
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "operation": plan.operation,
        "status": "pending",
        "items": [{"kind": c.kind, "name": c.name, "previous": _dump(c.before), "applied": _dump(c.after)}
                  for c in plan.pending],
    }
    return str(es.post(f"/{backup_index()}/_doc", doc, params={"refresh": "true"})["_id"])


def _set_backup_status(es: EsClient, backup_id: str, status: str) -> None:
    es.post(f"/{backup_index()}/_update/{backup_id}", {"doc": {"status": status}}, params={"refresh": "true"})


def latest_backup(es: EsClient, backup_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The backup to restore: the given id, else the newest applied `attach`."""
    if backup_id:
        doc = es.get_or_none(f"/{backup_index()}/_doc/{backup_id}")
        if not doc or not doc.get("found"):
            raise UserError(f"no backup {backup_id} in {backup_index()} on {es.url}")
        return backup_id, doc["_source"]
    if es.get_or_none(f"/{backup_index()}") is None:
        raise UserError(f"no backups on {es.url}: `attach` was never run there")
    query = {"size": 1, "sort": [{"@timestamp": "desc"}],
             "query": {"bool": {"filter": [{"term": {"operation": "attach"}}, {"term": {"status": "applied"}}]}}}
    hits = es.post(f"/{backup_index()}/_search", query)["hits"]["hits"]
    if not hits:
        raise UserError(f"no applied attach to restore on {es.url} (every backup was restored or rolled back)")
    return hits[0]["_id"], hits[0]["_source"]


def plan_restore(es: EsClient, backup_id: str | None = None, force: bool = False) -> tuple[Plan, str]:
    """Put back the bodies an `attach` replaced; refuses if a resource changed since (unless `force`)."""
    found_id, backup = latest_backup(es, backup_id)
    plan = Plan("restore", notes=[f"restoring backup {found_id} of {backup['@timestamp']}"])
    for item in backup["items"]:
        current = read(es, item["kind"], item["name"])
        if current != _load(item["applied"]) and not force:
            raise UserError(f"{item['kind']} {item['name']} changed since backup {found_id} was applied; "
                            "nothing was restored (rerun with --force to overwrite it with the backup)")
        previous = _load(item["previous"])
        plan.changes.append(Change(item["kind"], item["name"], current, previous, current != previous))
    return plan, found_id


# -- applying ----------------------------------------------------------------------------------------

def _sample_docs() -> list[dict[str, Any]]:
    """One minimal secret-store event of each operation of the catalog, to `_simulate` new pipeline bodies."""
    docs = []
    for op in catalog().operations:
        event = {"action": op.action, "dataset": op.dataset}
        if op.event_provider:
            event["provider"] = op.event_provider
        docs.append({"_index": "simulate", "_source": {"@timestamp": "2026-03-02T00:00:00.000Z", "event": event,
                                                       "data_stream": {"type": "logs", "dataset": op.dataset}}})
    return docs


def validate(es: EsClient, plan: Plan) -> None:
    """Every new pipeline body must compile and run (`_simulate`) before anything is written."""
    docs = _sample_docs()
    for change in plan.pending:
        if change.kind != PIPELINE or change.after is None:
            continue
        try:
            es.post("/_ingest/pipeline/_simulate", {"pipeline": change.after, "docs": docs})
        except EsError as err:
            raise UserError(f"the node rejects the new {change.name}: {err}; nothing was changed") from None


class ConcurrentEdit(UserError):
    """A resource changed between planning and writing."""


def _conflict(err: EsError) -> bool:
    """Elasticsearch's refusals of a guarded write: 409 version conflicts, a `create` of an existing template,
    and a refused `if_version` (HTTP 400 illegal_argument_exception "version conflict, required version
    [N] for pipeline [x] but current version is [M]")."""
    text = str(err)
    return err.status == 409 or "version_conflict" in text or "already exists" in text or (
        err.status == 400 and "version conflict" in text)


def _write(es: EsClient, kind: str, name: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, server_check: bool) -> None:
    path = _path(kind, name)
    if after is None:
        es.delete(path)
        return
    params: dict[str, Any] = {}
    if kind == PIPELINE and server_check and before is not None and isinstance(before.get("version"), int):
        params["if_version"] = before["version"]
    if kind == TEMPLATE and before is None:
        params["create"] = "true"
    try:
        es.put(path, after, params=params or None)
    except EsError as err:
        if _conflict(err):
            raise ConcurrentEdit(f"{kind} {name} was changed by someone else meanwhile ({err})") from None
        raise


def _needs_stamp(change: Change, server_check: bool) -> bool:
    before = change.before
    return (server_check and change.kind == PIPELINE and before is not None and change.after is not None
            and not isinstance(before.get("version"), int))


def _stamp(es: EsClient, change: Change) -> Change:
    """Give the user's unversioned pipeline `version: STAMP`, unchanged otherwise, and check it took: from
    then on `if_version` guards our write. Returns the change to undo on a rollback."""
    assert change.before is not None
    stamped = {**change.before, "version": STAMP}
    _write(es, change.kind, change.name, change.before, stamped, server_check=False)
    if read(es, change.kind, change.name) != stamped:
        raise ConcurrentEdit(f"{change.kind} {change.name} was changed by someone else while it was versioned")
    return Change(change.kind, change.name, change.before, stamped, True)


def _written(es: EsClient, change: Change) -> bool:
    """After a failed write (a timeout above all): did it take effect anyway? Re-read to know."""
    try:
        return read(es, change.kind, change.name) == change.after
    except UserError:
        return False


def apply(es: EsClient, plan: Plan) -> str | None:
    """Validate, back up, write; on a failure put back what was written. Returns the backup id.

    A write that failed may still have been applied (a timeout after the node took it): the resource is
    re-read, and rolled back with the others when it holds our body."""
    pending = plan.pending
    if not pending:
        return None
    validate(es, plan)
    backup_id = write_backup(es, plan)
    server_check = supports_if_version(es)
    done: list[Change] = []
    try:
        for change in pending:
            if read(es, change.kind, change.name) != change.before:
                raise ConcurrentEdit(f"{change.kind} {change.name} was changed by someone else since it was read")
            before = change.before
            if _needs_stamp(change, server_check):
                stamped = _stamp(es, change)
                done.append(stamped)
                before = stamped.after
            try:
                _write(es, change.kind, change.name, before, change.after, server_check)
            except ConcurrentEdit:
                raise
            except UserError:
                if _written(es, change):
                    done.append(Change(change.kind, change.name, before, change.after, True))
                raise
            done.append(Change(change.kind, change.name, before, change.after, True))
    except UserError as err:
        problems = []
        for change in reversed(done):
            if read(es, change.kind, change.name) != change.after:
                problems.append(f"{change.name}: changed by someone else after our write, left as it is")
                continue
            try:
                _write(es, change.kind, change.name, change.after, change.before, server_check)
            except UserError as undo_err:
                problems.append(f"{change.name}: {undo_err}")
        if problems:
            _set_backup_status(es, backup_id, "applied")
            raise UserError(f"{plan.operation} failed: {err}. Rolling back also failed for "
                            f"{'; '.join(problems)}: run `cloud-secrets detach --restore --backup {backup_id}`"
                            ) from None
        _set_backup_status(es, backup_id, "rolled_back")
        undone = ", ".join(dict.fromkeys(c.name for c in done)) or "nothing had been written yet"
        raise UserError(f"{plan.operation} failed: {err}. Rolled back ({undone}): every resource is as it was"
                        ) from None
    _set_backup_status(es, backup_id, "applied")
    return backup_id


def mark_restored(es: EsClient, backup_id: str) -> None:
    _set_backup_status(es, backup_id, "restored")


# -- status ------------------------------------------------------------------------------------------

def status(es: EsClient, datasets: Iterable[str] = DATASETS) -> list[dict[str, Any]]:
    """Per data stream: wired or not, which package version it calls, tagged documents in the last hour."""
    prefix = _default_prefix()
    rows = []
    for dataset in datasets:
        name = custom_name(dataset)
        body = read(es, PIPELINE, name)
        calls = [p["pipeline"] for p in (body or {}).get("processors") or [] if is_ours(p)]
        target = str(calls[0].get("name")) if calls else None
        template = read(es, TEMPLATE, name) or {}
        props = template.get("template", {}).get("mappings", {}).get("properties", {})
        count = es.post(
            f"/logs-{dataset}-*/_count",
            {"query": {"bool": {"filter": [
                {"range": {"@timestamp": {"gte": "now-1h"}}},
                {"bool": {"should": [{"term": {"tags": "secret_access"}},
                                     {"exists": {"field": "cloud_secrets.operation"}}],
                          "minimum_should_match": 1}},
            ]}}},
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )["count"]
        rows.append({
            "dataset": dataset,
            "pipeline": name,
            "pipeline_exists": body is not None,
            "wired": bool(calls),
            "calls": target,
            "version": target.removeprefix(prefix) if target and target.startswith(prefix) else None,
            "target_installed": bool(target) and read(es, PIPELINE, target) is not None,
            "namespaces": _QUOTED.findall(calls[0].get("if", "")) if calls and calls[0].get("if") else "all",
            "mappings": "cloud_secrets" in props,
            "tagged_last_hour": count,
        })
    return rows
