"""The source tree's house rules, read from the modules' imports with `ast`.

`cloud_secrets` is four layers over a small base: `cli/` (the face) over `evaluation/` over `elastic/` over
`assets/`, and the base modules at the top level (errors, paths, timestamps, fieldpath). A module imports
only its own layer and those below it; no import circle exists, whether the import sits at module level or
inside a function; nothing outside `cli/` imports it; runtime code never reads `_dev/test` fixtures except the
pipeline-test runner, whose job that is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cloud_secrets import paths

SRC = Path(__file__).resolve().parents[1] / "src" / "cloud_secrets"
LAYERS = {"cli": 4, "evaluation": 3, "elastic": 2, "assets": 1}
BASE_FILES_MAX = 6
#: The one module that reads the package's `_dev/test` fixtures (it runs them), and the one that names their folder.
FIXTURE_READERS = {"cloud_secrets.elastic.pipeline_tests", "cloud_secrets.paths"}


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package that `path` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a module: the module itself
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer(name: str) -> int:
    """4 cli, 3 evaluation, 2 elastic, 1 assets, 0 the base (and the package itself)."""
    parts = name.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def upward_imports(g: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in g.items() for b in targets if layer(b) > layer(a))


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def fixture_readers(root: Path) -> list[str]:
    """Modules outside FIXTURE_READERS that reach for the pipeline-test fixtures (their folder, or the runner's
    loader)."""
    out = []
    for name, path in modules(root).items():
        text = path.read_text(encoding="utf-8")
        if name not in FIXTURE_READERS and ("PIPELINE_TESTS" in text or "load_cases" in text):
            out.append(name)
    return out


def test_no_import_circle() -> None:
    assert cycles(graph(SRC)) == []


def test_no_upward_import() -> None:
    assert upward_imports(graph(SRC)) == []


def test_the_base_is_small_and_every_other_module_lives_in_a_layer() -> None:
    top = sorted(p.name for p in SRC.glob("*.py"))
    assert len(top) <= BASE_FILES_MAX, top
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LAYERS)


def test_runtime_code_never_reads_the_pipeline_test_fixtures() -> None:
    assert fixture_readers(SRC) == []
    assert paths.PIPELINE_TESTS.is_relative_to(paths.PACKAGE)


# --- the checks fail when the house is broken: a copy of the tree with one bad import added ------------------

def _tree_with(tmp_path: Path, module: str, line: str) -> Path:
    root = tmp_path / "cloud_secrets"
    for name, path in modules(SRC).items():
        target = root / path.relative_to(SRC)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        target.write_text(text + f"\n{line}\n" if name == module else text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("module", "line"), [
    ("cloud_secrets.assets.catalog", "from ..elastic import wiring"),
    ("cloud_secrets.elastic.ingest", "from cloud_secrets.cli.main import main"),
    ("cloud_secrets.timestamps", "from .assets import catalog"),
])
def test_an_upward_import_is_found(tmp_path: Path, module: str, line: str) -> None:
    found = upward_imports(graph(_tree_with(tmp_path, module, line)))
    assert found and all(entry.startswith(f"{module} -> ") for entry in found)


def test_a_circle_is_found_even_inside_a_function(tmp_path: Path) -> None:
    root = _tree_with(tmp_path, "cloud_secrets.assets.catalog",
                      "def _late():\n    from .rules import loader  # noqa: F401")
    found = cycles(graph(root))
    assert any({"cloud_secrets.assets.catalog", "cloud_secrets.assets.rules.loader"} <= set(c) for c in found)
