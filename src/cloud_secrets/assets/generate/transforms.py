"""The package's transforms (`package/elasticsearch/transform/<name>/`), rendered from `assets.transform`."""

from __future__ import annotations

from collections.abc import Iterable

from .. import transform
from ..catalog import Catalog
from ..yamlout import GENERATED, dump

TRANSFORM_DIR = "package/elasticsearch/transform"
SOURCE = "src/cloud_secrets/assets/transform.py and catalog/operations.yml"


def manifest() -> dict:
    """Fleet starts the transform on install and creates its destination index template from `fields/`."""
    return {
        "start": True,
        "destination_index_template": {
            # not hidden: ES|QL's FROM and Kibana data views expand wildcards to visible indices only
            "settings": {"index": {"codec": "best_compression", "refresh_interval": "30s", "number_of_shards": 1}},
            "mappings": {"dynamic": False, "date_detection": False},
        },
    }


def generate(cat: Catalog) -> Iterable[tuple[str, str]]:
    header = GENERATED.format(source=SOURCE)
    base = f"{TRANSFORM_DIR}/{transform.TRANSFORM}"
    yield f"{base}/transform.yml", dump(transform.transform_body(cat), header)
    yield f"{base}/manifest.yml", dump(manifest(), header)
    fields = transform.dest_fields()
    yield f"{base}/fields/base-fields.yml", dump(fields[:1], header)
    yield f"{base}/fields/fields.yml", dump(fields[1:], header)
