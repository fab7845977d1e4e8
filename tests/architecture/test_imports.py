"""The import rules of docs/architecture.md, checked on the source: no import cycle between the app's modules
(imports inside functions count: a lazy import hides a cycle, it does not remove it), and the core and the
guard's pure rules import no capability."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "catalog"
# Packages of catalog/ that every slice may use; every other package is a capability (audit, sends, sync, ...,
# and any added later), which the core must not import.
SHARED = {
    "core", "guard", "services", "iterable", "api", "views", "templatetags", "management", "migrations", "workers",
}  # fmt: skip
CAPABILITIES = tuple(sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name not in SHARED))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "migrations" not in p.parts and "management" not in p.parts and "__pycache__" not in p.parts
    }


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The app's modules this file imports, anywhere in it (`from catalog import models` names a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            # the deepest module the name refers to
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != "catalog":
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    # catalog/models.py only gathers the slices' models for Django: it is the app's registry, not a dependency
    # of the slice that imports its models from it.
    return {name: {m for m in deps if m != "catalog.models"} for name, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def _offences(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """The core's modules and the guard's pure rules that import a capability, with what they import."""
    bottom = [m for m in graph if m.startswith(("catalog.core", "catalog.guard.policy", "catalog.guard.lookalikes"))]
    offending = {m: sorted(d for d in graph[m] if d.split(".")[1] in CAPABILITIES) for m in bottom}
    return {m: deps for m, deps in offending.items() if deps}


def test_the_core_and_the_rules_import_no_capability():
    assert _offences(_graph()) == {}


def test_the_checker_sees_the_core_importing_a_capability():
    graph = {
        "catalog.core.views": {"catalog.sends.selectors", "catalog.guard.verdicts", "catalog.views.mixins"},
        "catalog.core.extensions": set(),
        "catalog.sends.panels": {"catalog.core.extensions"},
    }
    assert _offences(graph) == {"catalog.core.views": ["catalog.sends.selectors"]}
    assert {"audit", "health", "sends", "sync"} <= set(CAPABILITIES)
    assert not {"core", "guard", "services"} & set(CAPABILITIES)


def test_the_cores_doors_live_in_the_core():
    """Pages, forms, filters, API and routes of the catalog's core are in catalog/core/, not the shared folders."""
    core = {p.name for p in (PACKAGE / "core").glob("*.py")}
    assert {"models.py", "views.py", "forms.py", "filters.py", "api.py", "serializers.py", "urls.py"} <= core
    assert not (PACKAGE / "views" / "catalog.py").exists()
    assert not (PACKAGE / "filters.py").exists()


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
