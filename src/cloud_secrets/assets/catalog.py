"""The catalog: the single source of truth for secret-store operations and automation evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .. import paths
from .yamlsrc import Source, load

OPERATION_CLASSES = ("read", "batch_read", "list", "describe")
AUTOMATION_KINDS = ("rotation", "iac", "ci", "cloud_service")
#: cloud_secrets.store: the product that holds the secret.
STORES = ("secrets_manager", "ssm_parameter_store", "key_vault", "secret_manager", "vault")

# Where each provider's pipeline may look for a secret id (see catalog/operations.yml).
SECRET_ID_SOURCES = {
    "aws": {"request_parameters.secretId", "request_parameters.secretIdList", "request_parameters.name",
            "request_parameters.names", "request_parameters.path"},
    "azure": {"properties.id", "resource.id"},
    "gcp": {"resource_name"},
    "hashicorp_vault": {"request.path"},
}
SECRET_PATH_SOURCES = {"aws": {"request_parameters.path"}}
# Request parameters a call may be conditioned on (`requires_true`).
CONDITION_SOURCES = {"aws": {"request_parameters.withDecryption"}}
# Providers whose operations share event.action and are told apart by mount type and request path.
PATH_PROVIDERS = {"hashicorp_vault"}
# Where a path provider's documents name the mount type (as indexed by the official integration).
MOUNT_TYPE_FIELDS = {"hashicorp_vault": "hashicorp_vault.audit.request.mount_type"}
# Providers whose pipeline tags only one kind of entry of their data stream: the field, as indexed, and the value
# tagged. Vault writes a request and a response entry per call; vault.painless tags the response only, so that
# every call counts once.
TAGGED_ENTRIES = {"hashicorp_vault": ("hashicorp_vault.audit.type", "response")}
_PATH_SEGMENT = re.compile(r"^(?:[A-Za-z0-9_.-]+|<name>|\*)$")


@dataclass(frozen=True)
class Operation:
    provider: str
    dataset: str
    name: str
    action: str  # exactly as it appears in event.action
    op_class: str
    summary: str
    secret_id: str | None = None
    secret_path: str | None = None
    page_size: str | None = None
    default_page_size: int | None = None
    store: str = ""
    event_provider: str | None = None
    requires_true: str | None = None
    mount_types: tuple[str, ...] = ()
    path: tuple[str, ...] = ()  # Vault: the path pattern after the mount, split on `/`


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    integration: str
    datasets: tuple[str, ...]
    operations: tuple[Operation, ...]
    writes: tuple[str, ...]
    event_provider: str | None = None
    action_prefix: str = ""
    store: str = ""

    def write_actions(self) -> list[str]:
        return [self.action_prefix + w for w in self.writes]

    def event_providers(self) -> list[str]:
        """The event.provider values of the provider's operations, in catalog order (none: any)."""
        out: list[str] = []
        for op in self.operations:
            if op.event_provider and op.event_provider not in out:
                out.append(op.event_provider)
        return out


@dataclass(frozen=True)
class Automation:
    user_agent: dict[str, tuple[str, ...]]
    aws_session_name: dict[str, tuple[str, ...]]
    aws_rotation_version_stages: tuple[str, ...]
    gcp_service_agent_domains: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    providers: tuple[Provider, ...]
    automation: Automation
    sources: tuple[Path, ...] = field(default=())

    @property
    def operations(self) -> list[Operation]:
        return [op for p in self.providers for op in p.operations]

    def provider(self, name: str) -> Provider:
        return next(p for p in self.providers if p.name == name)

    def actions(self, *classes: str) -> list[str]:
        """Every event.action of the given operation classes (all classes when none are given), once each."""
        out: list[str] = []
        for op in self.operations:
            if (not classes or op.op_class in classes) and op.action not in out:
                out.append(op.action)
        return out

    def stores(self) -> list[str]:
        """Every cloud_secrets.store value the catalog's operations set, in catalog order."""
        out: list[str] = []
        for op in self.operations:
            if op.store not in out:
                out.append(op.store)
        return out

    def datasets(self) -> list[str]:
        return [d for p in self.providers for d in p.datasets]


def _str(src: Source, value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.fail(where, f"expected a non-empty string, got {value!r}")
    return value


def _str_list(src: Source, value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise src.fail(where, f"expected a list of strings, got {type(value).__name__}")
    return tuple(_str(src, v, f"{where}[{i}]") for i, v in enumerate(value))


def _mapping(src: Source, value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise src.fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _store(src: Source, value: object, where: str) -> str:
    if value not in STORES:
        raise src.fail(where, f"must be one of {', '.join(STORES)}, got {value!r}")
    return str(value)


def _path_pattern(src: Source, value: object, where: str) -> tuple[str, ...]:
    segs = tuple(_str(src, value, where).split("/"))
    for i, seg in enumerate(segs):
        if not _PATH_SEGMENT.match(seg) or (seg == "*" and i != len(segs) - 1):
            raise src.fail(where, f"segment {seg!r}: a path pattern is literal segments, `<name>` (one or more "
                                  "segments) or a final `*` (any rest), joined by `/`")
    return segs


def _operation(src: Source, prov: dict, name: str, spec: object, where: str) -> Operation:
    provider, datasets = prov["name"], prov["datasets"]
    spec = _mapping(src, spec, where)
    known = {"class", "dataset", "secret_id", "secret_path", "page_size", "default_page_size", "summary", "store",
             "event_provider", "requires_true"}
    if provider in PATH_PROVIDERS:
        known |= {"action", "mount_types", "path"}
    for key in spec:
        if key not in known:
            raise src.fail(f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})")
    op_class = spec.get("class")
    if op_class not in OPERATION_CLASSES:
        raise src.fail(f"{where}.class", f"must be one of {', '.join(OPERATION_CLASSES)}, got {op_class!r}")
    dataset = spec.get("dataset", datasets[0])
    if dataset not in datasets:
        raise src.fail(f"{where}.dataset", f"{dataset!r} is not one of the provider's datasets {list(datasets)}")
    secret_id = spec.get("secret_id")
    if secret_id is not None and secret_id not in SECRET_ID_SOURCES[provider]:
        raise src.fail(f"{where}.secret_id",
                       f"{secret_id!r} is not a known location (one of {sorted(SECRET_ID_SOURCES[provider])})")
    secret_path = spec.get("secret_path")
    if secret_path is not None and secret_path not in SECRET_PATH_SOURCES.get(provider, set()):
        raise src.fail(f"{where}.secret_path", f"{secret_path!r} is not a known location "
                                               f"(one of {sorted(SECRET_PATH_SOURCES.get(provider, set()))})")
    if op_class == "read" and secret_id is None:
        raise src.fail(where, "a read operation needs secret_id")
    if op_class == "batch_read" and secret_id is None and secret_path is None:
        raise src.fail(where, "a batch_read operation needs secret_id or secret_path")
    default_page = spec.get("default_page_size")
    if op_class == "batch_read" and not (isinstance(default_page, int) and default_page > 0):
        raise src.fail(f"{where}.default_page_size", "a batch_read needs a positive default_page_size")
    requires = spec.get("requires_true")
    if requires is not None and requires not in CONDITION_SOURCES.get(provider, set()):
        raise src.fail(f"{where}.requires_true", f"{requires!r} is not a known condition "
                                                 f"(one of {sorted(CONDITION_SOURCES.get(provider, set()))})")
    action, mount_types, path = prov["prefix"] + name, (), ()
    if provider in PATH_PROVIDERS:
        action = _str(src, spec.get("action"), f"{where}.action")
        mount_types = _str_list(src, spec.get("mount_types"), f"{where}.mount_types")
        path = _path_pattern(src, spec.get("path"), f"{where}.path")
    event_provider = spec.get("event_provider", prov["event_provider"])
    if event_provider is not None:
        event_provider = _str(src, event_provider, f"{where}.event_provider")
    return Operation(
        provider=provider, dataset=dataset, name=name, action=action, op_class=op_class,
        summary=_str(src, spec.get("summary"), f"{where}.summary"), secret_id=secret_id, secret_path=secret_path,
        page_size=spec.get("page_size"), default_page_size=default_page,
        store=_store(src, spec.get("store", prov["store"]), f"{where}.store"),
        event_provider=event_provider, requires_true=requires, mount_types=mount_types, path=path,
    )


def _providers(src: Source) -> tuple[Provider, ...]:
    root = _mapping(src, src.data, "providers")
    providers = _mapping(src, root.get("providers"), "providers")
    out = []
    for name, spec in providers.items():
        where = f"providers.{name}"
        if name not in SECRET_ID_SOURCES:
            raise src.fail(where, f"unknown provider (expected one of {', '.join(SECRET_ID_SOURCES)})")
        spec = _mapping(src, spec, where)
        datasets = _str_list(src, spec.get("datasets"), f"{where}.datasets")
        prefix = spec.get("action_prefix", "")
        store = _store(src, spec.get("store"), f"{where}.store")
        prov = {"name": name, "datasets": datasets, "prefix": prefix, "store": store,
                "event_provider": spec.get("event_provider")}
        ops = _mapping(src, spec.get("operations"), f"{where}.operations")
        operations = tuple(_operation(src, prov, str(op), ops[op], f"{where}.operations.{op}") for op in ops)
        writes = _str_list(src, spec.get("writes", []), f"{where}.writes")
        clash = {prefix + w for w in writes} & {op.action for op in operations}
        if clash:
            raise src.fail(f"{where}.writes", f"listed both as access and as write: {sorted(clash)}")
        out.append(Provider(
            name=name, title=_str(src, spec.get("title"), f"{where}.title"),
            integration=_str(src, spec.get("integration"), f"{where}.integration"),
            datasets=datasets, operations=operations, writes=writes,
            event_provider=spec.get("event_provider"), action_prefix=prefix, store=store,
        ))
    return tuple(out)


def _kind_tokens(src: Source, value: object, where: str) -> dict[str, tuple[str, ...]]:
    kinds = _mapping(src, value, where)
    for kind in kinds:
        if kind not in AUTOMATION_KINDS:
            raise src.fail(f"{where}.{kind}", f"unknown automation kind (one of {', '.join(AUTOMATION_KINDS)})")
    return {k: tuple(t.lower() for t in _str_list(src, v, f"{where}.{k}")) for k, v in kinds.items()}


def _automation(src: Source) -> Automation:
    root = _mapping(src, src.data, "user_agent")
    return Automation(
        user_agent=_kind_tokens(src, root.get("user_agent"), "user_agent"),
        aws_session_name=_kind_tokens(src, root.get("aws_session_name"), "aws_session_name"),
        aws_rotation_version_stages=_str_list(src, root.get("aws_rotation_version_stages"),
                                              "aws_rotation_version_stages"),
        gcp_service_agent_domains=_str_list(src, root.get("gcp_service_agent_domains"),
                                            "gcp_service_agent_domains"),
    )


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read and validate the catalog; a mistake raises UserError naming file, line and field."""
    directory = directory or paths.CATALOG
    ops_src = load(directory / "operations.yml")
    auto_src = load(directory / "automation.yml")
    return Catalog(_providers(ops_src), _automation(auto_src), (ops_src.path, auto_src.path))


@cache
def catalog() -> Catalog:
    """The project's catalog, loaded once."""
    return load_catalog()
