"""The data stream's tagging pipelines, generated from the catalog and the Painless sources."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Any

from ..catalog import AUTOMATION_KINDS, PATH_PROVIDERS, Catalog, Operation
from ..yamlout import GENERATED, dump

PIPELINE_DIR = "package/data_stream/secret_access/elasticsearch/ingest_pipeline"

# The Painless source of a provider whose file is not named after it.
PAINLESS_SOURCES = {"hashicorp_vault": "vault"}

# Kinds tried in this order when user-agent or session-name tokens are matched.
TOKEN_KIND_ORDER = [k for k in AUTOMATION_KINDS if k in ("iac", "ci")]


def painless(name: str, with_helpers: bool = True) -> str:
    """A Painless source from the package's painless/ folder, with the shared helpers in front."""
    folder = resources.files("cloud_secrets.assets") / "painless"
    body = (folder / f"{name}.painless").read_text(encoding="utf-8")
    if not with_helpers:
        return body
    return (folder / "common.painless").read_text(encoding="utf-8") + "\n" + body


def on_failure() -> list[dict[str, Any]]:
    """Package-spec's pipeline-level error handler; it must never fail itself. It records the failure in
    `error.message` and in our own `cloud_secrets.tagging_error` (the failing pipeline), and leaves every
    upstream field, `event.kind` included, as the integration set it."""
    return [
        {"set": {"tag": "set_tagging_error", "field": "cloud_secrets.tagging_error",
                 "value": "{{{ _ingest.on_failure_pipeline }}}", "ignore_failure": True}},
        {"append": {
            "tag": "append_pipeline_error_message",
            "field": "error.message",
            "value": (
                "Processor '{{{ _ingest.on_failure_processor_type }}}' "
                "{{{#_ingest.on_failure_processor_tag}}}with tag '{{{ _ingest.on_failure_processor_tag }}}' "
                "{{{/_ingest.on_failure_processor_tag}}}in pipeline '{{{ _ingest.on_failure_pipeline }}}' "
                "failed with message '{{{ _ingest.on_failure_message }}}'"
            ),
            "ignore_failure": True,
        }},
    ]


def _op_spec(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {"class": op.op_class, "store": op.store, "id_key": None}
    if op.secret_id:
        spec["id_key"] = op.secret_id.rpartition(".")[2]
    if op.op_class == "batch_read":
        spec["page_key"] = (op.page_size or "").rpartition(".")[2]
        spec["default_page"] = op.default_page_size
    if op.secret_path:
        spec["path_key"] = op.secret_path.rpartition(".")[2]
    if op.event_provider:
        spec["event_provider"] = op.event_provider
    if op.requires_true:
        spec["requires_true"] = op.requires_true.rpartition(".")[2]
    return spec


def _ops_param(ops: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    return {op.action: _op_spec(op) for op in ops}


def _path_ops_param(ops: Iterable[Operation]) -> list[dict[str, Any]]:
    """Operations told apart by action, mount type and path pattern, in catalog order (the first match wins)."""
    return [{**_op_spec(op), "name": op.name, "action": op.action, "mount_types": list(op.mount_types),
             "path": list(op.path)} for op in ops]


def _pipeline(description: str, processors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"description": description, "processors": processors, "on_failure": on_failure()}


def _provider_pipeline(cat: Catalog, provider: str) -> dict[str, Any]:
    prov = cat.provider(provider)
    ops = _path_ops_param(prov.operations) if provider in PATH_PROVIDERS else _ops_param(prov.operations)
    params: dict[str, Any] = {"ops": ops}
    if provider == "aws":
        params["rotation_stages"] = list(cat.automation.aws_rotation_version_stages)
        params["session_tokens"] = {k: list(v) for k, v in cat.automation.aws_session_name.items()}
        params["kinds"] = TOKEN_KIND_ORDER
    elif provider == "gcp":
        params["service_agent_domains"] = list(cat.automation.gcp_service_agent_domains)
    script = {"tag": f"script_{provider}_secret_access", "lang": "painless",
              "description": f"Classify {prov.title} access: operation, secrets, identity, automation evidence.",
              "source": painless(PAINLESS_SOURCES.get(provider, provider)), "params": params}
    return _pipeline(f"Tags {prov.title} access ({', '.join(prov.datasets)}) with cloud_secrets.* fields.",
                     [{"script": script}])


def _route_condition(cat: Catalog, provider: str) -> str:
    prov = cat.provider(provider)
    datasets = " || ".join(f"ctx.event.dataset == '{d}'" for d in prov.datasets)
    cond = f"({datasets})" if len(prov.datasets) > 1 else datasets
    event_providers = prov.event_providers()
    if len(event_providers) == 1:
        cond += f" && ctx.event.provider == '{event_providers[0]}'"
    elif event_providers:
        cond += f" && [{', '.join(repr(e) for e in event_providers)}].contains(ctx.event.provider)"
    return cond


def _access_pipeline(cat: Catalog) -> dict[str, Any]:
    routes = [{"pipeline": {"tag": f"pipeline_{p.name}", "name": f'{{{{ IngestPipeline "{p.name}" }}}}',
                            "description": f"{p.title} ({', '.join(p.datasets)})",
                            "if": _route_condition(cat, p.name)}}
              for p in cat.providers]
    tagged = "ctx.cloud_secrets instanceof Map && ctx.cloud_secrets.operation != null"
    tail = [
        {"script": {"tag": "script_user_agent_automation", "lang": "painless",
                    "description": "Automation evidence from user agent tokens (evidence, never trust).",
                    "if": f"{tagged} && ctx.cloud_secrets.automation == null",
                    "source": painless("user_agent"),
                    "params": {"tokens": {k: list(v) for k, v in cat.automation.user_agent.items()},
                               "kinds": TOKEN_KIND_ORDER}}},
        {"append": {"tag": "append_tag_secret_access", "field": "tags", "value": "secret_access",
                    "allow_duplicates": False, "if": tagged}},
        {"set": {"tag": "set_user_name_from_identity", "field": "user.name",
                 "value": "{{{cloud_secrets.identity}}}", "override": False,
                 "description": "Fill user.name only when the integration did not set it.",
                 "if": f"{tagged} && ctx.cloud_secrets.identity != null"}},
        {"set": {"tag": "set_user_effective_id_from_identity", "field": "user.effective.id",
                 "value": "{{{cloud_secrets.identity}}}", "override": False,
                 "description": "The identity in one single-valued ECS field that Kibana maps in its alerts index, "
                                "for the higher-order rule (related.user also holds role and session names).",
                 "if": f"{tagged} && ctx.cloud_secrets.identity != null"}},
    ]
    return _pipeline("Routes a secret-store access to its provider's pipeline, then adds the shared fields.",
                     routes + tail)


def gate_condition(cat: Catalog) -> str:
    """The one cheap condition every document meets: is event.action a catalogued secret access?

    A plain string, as elastic-package and Fleet expect (`if` with params is not accepted by elastic-package).
    """
    actions = ", ".join(f"'{a}'" for a in cat.actions())
    return f"ctx.event instanceof Map && ctx.event.action instanceof String && [{actions}].contains(ctx.event.action)"


def _default_pipeline(cat: Catalog) -> dict[str, Any]:
    gate = {"pipeline": {
        "tag": "pipeline_secret_access",
        "name": '{{ IngestPipeline "access" }}',
        "description": "Only catalogued secret-store actions go further; every other event leaves here.",
        "if": gate_condition(cat),
    }}
    # A `cloud_secrets` that is not an object (it is the package's field group) would make the package's
    # mapping reject the whole document at index time: after the gate, it is removed, and the removal recorded.
    not_ours = "ctx.cloud_secrets != null && !(ctx.cloud_secrets instanceof Map)"
    guard = [
        {"append": {"tag": "append_cloud_secrets_not_an_object", "field": "error.message", "if": not_ours,
                    "value": "cloud_secrets held a value that is not an object; removed, because the package "
                             "maps cloud_secrets as its field group", "ignore_failure": True}},
        {"remove": {"tag": "remove_cloud_secrets_not_an_object", "field": "cloud_secrets", "if": not_ours,
                    "ignore_failure": True}},
    ]
    return _pipeline("Cloud secret store access tagging (T1555.006). Call it from the official data "
                     "streams' @custom pipelines.", [gate, *guard])


def documents(cat: Catalog) -> dict[str, dict[str, Any]]:
    """Pipeline name (file stem) -> pipeline body, before Fleet's name templating."""
    out = {"default": _default_pipeline(cat), "access": _access_pipeline(cat)}
    for p in cat.providers:
        out[p.name] = _provider_pipeline(cat, p.name)
    return out


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    header = GENERATED.format(source="catalog/operations.yml, catalog/automation.yml, src/cloud_secrets/painless")
    for name, body in documents(cat).items():
        yield f"{PIPELINE_DIR}/{name}.yml", dump(body, header)
