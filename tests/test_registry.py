"""The pinned package-registry serves our built package with all its assets, as Fleet asks for it."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import requests

from cloud_secrets import paths
from cloud_secrets.assets.package_assets import package_info
from cloud_secrets.elastic import registry


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A fresh build of the package, alone in <tmp>/build/packages, served with the committed config."""
    if not registry.BINARY.exists() or not registry.ELASTIC_PACKAGE.exists():
        pytest.fail("run `make tools`")
    workdir = tmp_path_factory.mktemp("registry")
    (workdir / "build" / "packages").mkdir(parents=True)
    built = registry.build_package()
    zip_path = workdir / "build" / "packages" / built.name
    shutil.copy(built, zip_path)
    with registry.serve(workdir) as url:
        yield url, zip_path


def _get(url: str, **params: str) -> object:
    resp = requests.get(url, params=params, timeout=30)
    assert resp.status_code == 200, f"{resp.url}: {resp.status_code} {resp.text[:300]}"
    return resp.json()


def test_search_lists_our_package_as_fleet_asks(served) -> None:
    url, _ = served
    info = package_info()
    for params in ({"package": info.name}, {"package": info.name, "prerelease": "true"},
                   {"package": info.name, "prerelease": "true", "kibana.version": "8.18.0"}):
        found = _get(f"{url}/search", **params)
        assert [(p["name"], p["version"]) for p in found] == [(info.name, info.version)], params
        assert found[0]["download"] == f"/epr/{info.name}/{info.name}-{info.version}.zip"
    # the manifest asks for Kibana ^8.18.0: older Fleets do not see it
    assert _get(f"{url}/search", package=info.name, prerelease="true", **{"kibana.version": "8.17.0"}) == []


#: What each supported Kibana line sends when Fleet looks a package up: `kibana.version` and the defaults of
#: `xpack.fleet.internal.registry.spec.{min,max}` (Kibana `x-pack/platform/plugins/shared/fleet/server/config.ts`,
#: `REGISTRY_SPEC_MIN_VERSION` / `REGISTRY_SPEC_MAX_VERSION`, added to the query by `setSpecVersion()` in
#: `fleet/server/services/epm/registry/index.ts`); the same matrix as package-registry's
#: `cmd/distribution/examples/lite.yaml` and elastic-package's `docs/howto/format_version.md`.
KIBANA_LINES = {
    "8.18": {"kibana.version": "8.18.0", "spec.max": "3.3"},
    "8.19": {"kibana.version": "8.19.0", "spec.max": "3.4"},
    "9.0": {"kibana.version": "9.0.0", "spec.min": "2.3", "spec.max": "3.3"},
    "9.1": {"kibana.version": "9.1.0", "spec.min": "2.3", "spec.max": "3.4"},
    "9.2": {"kibana.version": "9.2.0", "spec.min": "2.3", "spec.max": "3.5"},
}


@pytest.mark.parametrize("line", sorted(KIBANA_LINES))
def test_every_supported_kibana_line_finds_the_package(served, line: str) -> None:
    """Fleet's two lookups, with the constraints that Kibana line adds: the latest version of the package
    (`_fetchFindLatestPackage`: `/search?package=X&prerelease=false` + constraints, "package not found" when
    empty) and the integrations list (`fetchList`: `/search` + constraints)."""
    url, _ = served
    info = package_info()
    constraints = KIBANA_LINES[line]
    latest = _get(f"{url}/search", package=info.name, prerelease="false", **constraints)
    assert [(p["name"], p["version"]) for p in latest] == [(info.name, info.version)], \
        f"Kibana {line} ({constraints}) would not find {info.name} {info.version}"
    listed = _get(f"{url}/search", prerelease="true", **constraints)
    assert info.name in {p["name"] for p in listed}, f"Kibana {line} would not list {info.name}"


def test_package_endpoint_lists_every_asset_of_the_zip(served) -> None:
    url, zip_path = served
    info = package_info()
    meta = _get(f"{url}/package/{info.name}/{info.version}/")
    base = f"/package/{info.name}/{info.version}/"
    with zipfile.ZipFile(zip_path) as archive:
        files = {n.split("/", 1)[1] for n in archive.namelist() if not n.endswith("/")}
    assert {a.removeprefix(base) for a in meta["assets"]} == files
    rules = sorted(p.name for p in (paths.PACKAGE / "kibana" / "security_rule").glob("*.json"))
    assert rules and sorted(Path(a).name for a in meta["assets"] if "/kibana/security_rule/" in a) == rules
    pipelines = {Path(a).stem for a in meta["assets"] if "/elasticsearch/ingest_pipeline/" in a}
    assert {"default", "access", "aws", "azure", "gcp"} <= pipelines
    for kind in ("elasticsearch/transform", "kibana/dashboard"):  # whatever the package grows, Fleet sees it
        expected = {p.relative_to(paths.PACKAGE).as_posix() for p in (paths.PACKAGE / kind).rglob("*") if p.is_file()}
        assert expected <= files, kind
    (stream,) = meta["data_streams"]
    assert stream["dataset"] == f"{info.name}.secret_access" and stream["ingest_pipeline"] == "default"
    assert meta["conditions"]["elastic"]["capabilities"] == ["security"]


def test_the_download_is_the_built_zip(served) -> None:
    url, zip_path = served
    info = package_info()
    resp = requests.get(f"{url}/epr/{info.name}/{info.name}-{info.version}.zip", timeout=30)
    assert resp.status_code == 200 and resp.content == zip_path.read_bytes()
    readme = requests.get(f"{url}/package/{info.name}/{info.version}/docs/README.md", timeout=30)
    assert readme.status_code == 200 and "Secret" in readme.text
