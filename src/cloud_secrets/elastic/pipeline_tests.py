"""elastic-package's pipeline tests, run on our own node.

Same files and rules as `elastic-package test pipeline`: `test-*.json` (`{"events": [...]}`),
`<test>-expected.json` (`{"expected": [...]}`), `<test>-config.yml` and `test-common-config.yml`
(`fields` added to every event, `dynamic_fields` compared by regular expression, `skip`), every output field
declared in the data stream's fields, and no output with `error.message`.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import paths
from ..assets.fields import FieldDefs, check_document, load_fields
from ..assets.package_assets import default_pipeline
from ..errors import UserError
from ..fieldpath import pop_nested
from .ingest import Client, simulate


@dataclass
class Case:
    path: Path
    events: list[dict[str, Any]]
    config: dict[str, Any]

    @property
    def expected_path(self) -> Path:
        return self.path.parent / f"{self.path.name}-expected.json"


@dataclass
class Result:
    case: Case
    problems: list[str] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{path}: invalid YAML: {err}") from None


def load_cases(folder: Path = paths.PIPELINE_TESTS) -> list[Case]:
    common = _read_yaml(folder / "test-common-config.yml")
    cases = []
    for path in sorted(folder.glob("test-*.json")):
        if path.name.endswith("-expected.json"):
            continue
        try:
            events = json.loads(path.read_text(encoding="utf-8"))["events"]
        except (json.JSONDecodeError, KeyError) as err:
            raise UserError(f"{path}: not a pipeline test file ({err})") from None
        config = {**common, **_read_yaml(path.parent / f"{path.name}-config.yml")}
        cases.append(Case(path, events, config))
    return cases


def _strip_dynamic(doc: dict[str, Any], dynamic: dict[str, str], problems: list[str], where: str) -> None:
    for name, pattern in dynamic.items():
        found, value = pop_nested(doc, name)
        if found:
            for v in value if isinstance(value, list) else [value]:
                if not re.search(pattern, str(v)):
                    problems.append(f"{where}: dynamic field {name}={v!r} does not match {pattern!r}")


def run_case(es: Client, case: Case, defs: FieldDefs, pipeline: str, generate: bool = False) -> Result:
    result = Result(case)
    if case.config.get("skip"):
        return result
    events = [copy.deepcopy(e) for e in case.events]
    for event in events:
        for name, value in (case.config.get("fields") or {}).items():
            event[name] = value
    outputs = simulate(es, pipeline, events)
    result.outputs = outputs
    for i, out in enumerate(outputs):
        where = f"{case.path.name} event {i + 1}"
        if "__error__" in out:
            result.problems.append(f"{where}: pipeline failed: {out['__error__']}")
            continue
        if "error" in out and isinstance(out["error"], dict) and "message" in out["error"]:
            result.problems.append(f"{where}: output has error.message: {out['error']['message']}")
        result.problems.extend(f"{where}: {p}" for p in check_document(defs, out))
    if generate:
        case.expected_path.write_text(json.dumps({"expected": outputs}, indent=4, sort_keys=True) + "\n")
        return result
    if not case.expected_path.exists():
        result.problems.append(f"{case.expected_path.name} is missing (run with --generate)")
        return result
    expected = json.loads(case.expected_path.read_text(encoding="utf-8"))["expected"]
    if len(expected) != len(outputs):
        result.problems.append(f"{case.path.name}: {len(outputs)} outputs, {len(expected)} expected")
        return result
    dynamic = case.config.get("dynamic_fields") or {}
    for i, (want, got) in enumerate(zip(expected, outputs, strict=True)):
        want, got = copy.deepcopy(want), copy.deepcopy(got)
        where = f"{case.path.name} event {i + 1}"
        _strip_dynamic(want, dynamic, [], where)
        _strip_dynamic(got, dynamic, result.problems, where)
        if want != got:
            result.problems.append(f"{where}: output differs from {case.expected_path.name}:\n" + _diff(want, got))
    return result


def _diff(want: Any, got: Any) -> str:
    import difflib

    a = json.dumps(want, indent=2, sort_keys=True).splitlines()
    b = json.dumps(got, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "expected", "actual", lineterm="", n=2))


def run_all(es: Client, generate: bool = False, folder: Path = paths.PIPELINE_TESTS) -> list[Result]:
    defs = load_fields()
    pipeline = default_pipeline()
    return [run_case(es, case, defs, pipeline, generate) for case in load_cases(folder)]
