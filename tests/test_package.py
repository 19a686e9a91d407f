"""The Fleet package: generated assets match the catalog, and the real elastic-package accepts it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cloud_secrets import paths
from cloud_secrets.assets import generate
from cloud_secrets.assets.catalog import catalog, load_catalog
from cloud_secrets.assets.package_assets import package_info
from cloud_secrets.errors import UserError


def test_generated_files_match_the_catalog() -> None:
    assert generate.drift() == []


def test_a_hand_edit_to_a_generated_file_is_drift(tmp_path: Path) -> None:
    rendered = generate.render()
    rel = next(r for r in rendered if r.endswith("ingest_pipeline/aws.yml"))
    target = tmp_path / rel
    target.parent.mkdir(parents=True)
    target.write_text(rendered[rel].replace("AWSPENDING", "AWSCURRENT"))
    assert rel in generate.drift(tmp_path)


def test_a_file_the_catalog_no_longer_renders_is_drift_and_write_removes_it(tmp_path: Path) -> None:
    rendered = generate.render()
    for rel, content in rendered.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content, encoding="utf-8")
    assert generate.drift(tmp_path) == []
    rule = next(r for r in rendered if r.startswith("package/kibana/security_rule/"))
    old = tmp_path / rule.replace(".json", "_old_version.json")
    old.write_text(rendered[rule], encoding="utf-8")  # e.g. the asset of a rule's previous version
    assert generate.drift(tmp_path) == [old.relative_to(tmp_path).as_posix()]
    assert generate.write(tmp_path) == [old.relative_to(tmp_path).as_posix()]
    assert not old.exists() and generate.drift(tmp_path) == []


def test_package_readme_lists_every_operation() -> None:
    readme = (paths.PACKAGE / "_dev" / "build" / "docs" / "README.md").read_text()
    for op in catalog().operations:
        assert f"`{op.action}`" in readme


def test_catalog_errors_name_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "automation.yml").write_text((paths.CATALOG / "automation.yml").read_text())
    text = (paths.CATALOG / "operations.yml").read_text().replace("class: batch_read", "class: bulk_read")
    (tmp_path / "operations.yml").write_text(text)
    with pytest.raises(UserError) as err:
        load_catalog(tmp_path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "bulk_read" in s)
    assert f"operations.yml:{line}: providers.aws.operations.BatchGetSecretValue.class" in str(err.value)


def test_elastic_package_check_passes_offline() -> None:
    binary = paths.TOOLS_BIN / "elastic-package"
    assert binary.exists(), "run `make bootstrap`"
    env = dict(os.environ, ELASTIC_PACKAGE_CHECK_UPDATE_DISABLED="true",
               ELASTIC_PACKAGE_DATA_HOME=str(paths.ROOT / ".tools" / "elastic-package-home"))
    proc = subprocess.run([str(binary), "check"], cwd=paths.PACKAGE, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (paths.ROOT / "build" / "packages" / f"cloud_secrets-{package_info().version}.zip").exists()


@pytest.mark.parametrize(("old", "new", "field"), [
    ("store: vault", "store: hashicorp", "providers.hashicorp_vault.store"),
    ("path: data/<name>", "path: data/<name>/x*", "providers.hashicorp_vault.operations.kv_v2_read.path"),
    ("requires_true: request_parameters.withDecryption", "requires_true: request_parameters.decrypt",
     "providers.aws.operations.GetParameter.requires_true"),
])
def test_catalog_store_and_pattern_errors_name_file_line_and_field(tmp_path: Path, old: str, new: str,
                                                                   field: str) -> None:
    (tmp_path / "automation.yml").write_text((paths.CATALOG / "automation.yml").read_text())
    text = (paths.CATALOG / "operations.yml").read_text().replace(old, new, 1)
    (tmp_path / "operations.yml").write_text(text)
    with pytest.raises(UserError) as err:
        load_catalog(tmp_path)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if new in s)
    assert f"operations.yml:{line}: {field}" in str(err.value)
