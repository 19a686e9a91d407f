"""Where the project's files live, in a checkout or in an installed wheel.

The package's assets (`package/`), the catalog (`catalog/`) and the Sigma rules (`sigma/`) are read from
the checkout when this module runs from one, else from the copies the wheel ships as package data
(`cloud_secrets/_data/`). The developer's working files (`.work`, `.tools`, `build`) stay in the checkout;
an installed copy keeps them in the user's data folder (`$XDG_DATA_HOME/cloud-secrets`, by default
`~/.local/share/cloud-secrets`). `CLOUD_SECRETS_ROOT` names a checkout to use instead of either.
"""

from __future__ import annotations

import os
from pathlib import Path

_MODULE = Path(__file__).resolve().parent
_CHECKOUT = _MODULE.parents[1]
BUNDLED = _MODULE / "_data"  # where the wheel puts package/, catalog/ and sigma/


def _is_checkout(root: Path) -> bool:
    return (root / "catalog").is_dir() and (root / "package" / "manifest.yml").is_file()


def _user_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cloud-secrets"


if os.environ.get("CLOUD_SECRETS_ROOT"):
    ROOT = DATA = Path(os.environ["CLOUD_SECRETS_ROOT"])
elif _is_checkout(_CHECKOUT):
    ROOT = DATA = _CHECKOUT
else:
    ROOT, DATA = _user_dir(), BUNDLED
INSTALLED = DATA == BUNDLED  # running from a wheel, not a checkout
PACKAGE = DATA / "package"
CATALOG = DATA / "catalog"
SIGMA = DATA / "sigma"
WORK = ROOT / ".work"
TOOLS_BIN = ROOT / ".tools" / "bin"
ENGINE_LIB = ROOT / ".tools" / "engine" / "lib"  # jars copied by `make engine-jars`
ENGINE_HOME = WORK / "engine"  # the embedded node: config, data, log, state.json
DATA_STREAM = PACKAGE / "data_stream" / "secret_access"
PIPELINE_DIR = DATA_STREAM / "elasticsearch" / "ingest_pipeline"
PIPELINE_TESTS = DATA_STREAM / "_dev" / "test" / "pipeline"
