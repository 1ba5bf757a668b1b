"""The import graph of ``core``: no cycles, no private names across modules, and no architecture name tested outside its spec."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def core_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the ``core`` package."""
    modules = {}
    for path in (REPO / "core").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the core modules it imports anywhere in its file (function-level imports too).

    ``from package import submodule`` is an edge to the submodule only; ``from module import name``
    is an edge to the module.
    """
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("core"):
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & set(modules)
                if submodules and len(submodules) == len(node.names):
                    graph[name] |= submodules
                elif node.module in modules:
                    graph[name].add(node.module)
            elif isinstance(node, ast.Import):
                graph[name] |= {alias.name for alias in node.names if alias.name in modules}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (each is an import cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_hand_made_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_core_has_no_import_cycles():
    assert cycles(import_graph(core_modules())) == []


def test_no_private_name_is_imported_across_modules():
    """A ``_name`` is a module's own; one another module needs belongs in a shared, public place."""
    crossings = []
    for path in [*(REPO / "core").rglob("*.py"), *(REPO / "pages").rglob("*.py"), *(REPO / "ui").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("core", "ui")):
                crossings += [f"{path.relative_to(REPO)}: {node.module}.{alias.name}" for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert crossings == []


def architecture_name_tests(source: str, names: set[str]) -> list[int]:
    """Lines of ``source`` that compare with an architecture name or key a dict by two or more of them."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            strings = {c.value for o in operands for c in ast.walk(o)
                       if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            if strings & names:
                lines.append(node.lineno)
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if len(keys & names) >= 2:
                lines.append(node.lineno)
    return lines


def test_the_architecture_name_finder_finds_hand_made_tests():
    names = {"cnn", "minilm"}
    source = 'if arch == "minilm":\n    pass\nLR = {"cnn": 1e-3, "minilm": 3e-5}\nok = "minilm-vmask" in x\n'
    assert architecture_name_tests(source, names) == [1, 3]


def test_no_architecture_name_is_tested_outside_the_architecture_spec():
    from core.models.architectures import ARCHITECTURE_SPECS

    names = set(ARCHITECTURE_SPECS)
    spec_file = REPO / "core" / "models" / "architectures.py"
    found = {}
    for path in [*sorted((REPO / "core").rglob("*.py")), *sorted((REPO / "pages").rglob("*.py")),
                 *sorted((REPO / "ui").rglob("*.py")), REPO / "app.py"]:
        if path != spec_file:
            lines = architecture_name_tests(path.read_text(), names)
            if lines:
                found[str(path.relative_to(REPO))] = lines
    assert not found, f"architecture names tested outside core/models/architectures.py: {found}"
