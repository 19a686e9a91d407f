"""Where the project's files live, resolved from the repository root."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("CLOUD_SECRETS_ROOT", Path(__file__).resolve().parents[2]))
PACKAGE = ROOT / "package"
CATALOG = ROOT / "catalog"
WORK = ROOT / ".work"
TOOLS_BIN = ROOT / ".tools" / "bin"
ENGINE_LIB = ROOT / ".tools" / "engine" / "lib"  # jars copied by `make engine-jars`
ENGINE_HOME = WORK / "engine"  # the embedded node: config, data, log, state.json
DATA_STREAM = PACKAGE / "data_stream" / "secret_access"
PIPELINE_DIR = DATA_STREAM / "elasticsearch" / "ingest_pipeline"
PIPELINE_TESTS = DATA_STREAM / "_dev" / "test" / "pipeline"
