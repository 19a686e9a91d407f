"""Read the package's assets as Fleet would install them (names, templated pipeline references)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from .. import paths

#: The tag (and `labels` key) that marks documents `cloud-secrets replay` wrote: simulated, never real activity.
#: The summary transform leaves them out of the baselines.
SIMULATED_TAG = "cloud_secrets_simulated"

_PIPELINE_REF = re.compile(r"""\{\{\s*IngestPipeline\s+["']([^"']+)["']\s*\}\}""")


@dataclass(frozen=True)
class PackageInfo:
    name: str
    version: str


def package_info(package_dir: Path = paths.PACKAGE) -> PackageInfo:
    manifest = yaml.safe_load((package_dir / "manifest.yml").read_text(encoding="utf-8"))
    return PackageInfo(manifest["name"], str(manifest["version"]))


def data_stream_type(ds_dir: Path) -> str:
    manifest = yaml.safe_load((ds_dir / "manifest.yml").read_text(encoding="utf-8"))
    return manifest.get("type", "logs")


def fleet_pipeline_name(info: PackageInfo, ds_type: str, data_stream: str, stem: str) -> str:
    """The name Fleet gives a data stream pipeline: `<type>-<pkg>.<ds>-<version>[-<name>]`."""
    base = f"{ds_type}-{info.name}.{data_stream}-{info.version}"
    return base if stem == "default" else f"{base}-{stem}"


def _load_pipeline(path: Path, resolve: Callable[[str], str]) -> dict[str, Any]:
    """Parse a pipeline file after resolving `{{ IngestPipeline "x" }}` in its raw text, as Fleet does."""
    text = _PIPELINE_REF.sub(lambda m: resolve(m.group(1)), path.read_text(encoding="utf-8"))
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def data_stream_pipelines(package_dir: Path = paths.PACKAGE) -> dict[str, dict[str, Any]]:
    """Every data stream pipeline under its Fleet name, with `{{ IngestPipeline "x" }}` resolved."""
    info = package_info(package_dir)
    out: dict[str, dict[str, Any]] = {}
    for ds_dir in sorted((package_dir / "data_stream").iterdir()):
        folder = ds_dir / "elasticsearch" / "ingest_pipeline"
        if not folder.is_dir():
            continue
        ds_type = data_stream_type(ds_dir)
        for path in sorted(folder.iterdir()):
            if path.suffix not in (".yml", ".yaml", ".json"):
                continue
            body = _load_pipeline(path, partial(fleet_pipeline_name, info, ds_type, ds_dir.name))
            out[fleet_pipeline_name(info, ds_type, ds_dir.name, path.stem)] = body
    return out


def package_dataset(data_stream: str = "secret_access", package_dir: Path = paths.PACKAGE) -> str:
    """The dataset of one of the package's own data streams, `<pkg>.<ds>` (where `replay` writes)."""
    return f"{package_info(package_dir).name}.{data_stream}"


def default_pipeline(data_stream: str = "secret_access", package_dir: Path = paths.PACKAGE) -> str:
    ds_dir = package_dir / "data_stream" / data_stream
    return fleet_pipeline_name(package_info(package_dir), data_stream_type(ds_dir), data_stream, "default")
