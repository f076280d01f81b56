"""Read the code base as data: its modules, the imports between them, and its accesses to private attributes.

Only the standard library (``ast``, ``pathlib``), so the rules in ``tests/test_architecture.py`` check the code as
written, without importing it. Every import counts: at module level, inside functions, under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")

# Library attributes that look private but are documented API (namedtuple's helpers).
DOCUMENTED_UNDERSCORE = frozenset({"_asdict", "_replace", "_fields", "_field_defaults", "_make"})
# Private attributes of libraries the code base is known to have reached for: flagged even on an object of ours.
KNOWN_LIBRARY_PRIVATES = frozenset({"_execute", "_conn"})


@dataclass(frozen=True)
class Module:
    name: str  # dotted: "bot.core.engine"; a package is its __init__: "bot.core"
    path: Path
    is_package: bool
    where: str  # the path as the failure messages show it: "bot/core/engine.py"

    @cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.path.read_text(encoding="utf-8"), filename=str(self.path))


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``where`` (``path:line``)."""

    source: str
    target: str
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.source} imports {self.target}"


@dataclass(frozen=True)
class PrivateAccess:
    where: str
    code: str  # the expression as written, e.g. "conn._execute"

    def __str__(self) -> str:
        return f"{self.where}: {self.code}"


def discover(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Module]:
    """Every Python module under the given top-level packages, by dotted name."""
    modules: dict[str, Module] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = Module(name, path, is_package, path.relative_to(root).as_posix())
    return modules


def _resolve_relative(module: Module, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, name] if name else base)


def _known(name: str, modules: Mapping[str, Module]) -> str | None:
    """The most specific module of ours that ``name`` names (a longer name may be an attribute of it)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _imported_names(module: Module, node: ast.Import | ast.ImportFrom, modules: Mapping[str, Module]
                    ) -> Iterator[str]:
    """The modules of ours one import statement loads, most specific first."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (target := _known(alias.name, modules)) is not None:
                yield target
        return
    base = _resolve_relative(module, node.level, node.module) if node.level else (node.module or "")
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:  # ``from bot.dialogues import organizer_chat``: the submodule itself
            yield submodule
        elif (target := _known(base, modules)) is not None:
            yield target


def edges_of(module: Module, modules: Mapping[str, Module]) -> list[Edge]:
    """Every import of one of our modules written anywhere in ``module`` (deduplicated per target and line)."""
    found: dict[tuple[str, int], Edge] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _imported_names(module, node, modules):
                if target != module.name:
                    found.setdefault((target, node.lineno), Edge(module.name, target, f"{module.where}:{node.lineno}"))
    return sorted(found.values(), key=lambda e: (e.where.split(":")[0], int(e.where.split(":")[1]), e.target))


def external_imports(module: Module, modules: Mapping[str, Module]) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or "", line)`` for each import of a module that is not ours."""
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if _known(a.name, modules) is None]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if _known(node.module, modules) is None:
                found += [(node.module, a.name, node.lineno) for a in node.names]
    return found


def import_graph(modules: Mapping[str, Module]) -> dict[str, list[Edge]]:
    return {name: edges_of(module, modules) for name, module in modules.items()}


# ---- cycles -----------------------------------------------------------------------------------------------------


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), each sorted; only those that hold a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    successors = {node: list(targets) for node, targets in graph.items()}
    for targets in list(successors.values()):
        for target in targets:
            successors.setdefault(target, [])

    for start in sorted(successors):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(successors[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            for target in pending:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(successors[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in successors[node]:
                        components.append(sorted(component))
    return sorted(components)


def cycle_in(graph: Mapping[str, Iterable[str]], component: Iterable[str]) -> list[str]:
    """One concrete cycle through a strongly connected component: [a, b, ..., a] (breadth-first, so shortest
    from the component's first node back to itself)."""
    members = set(component)
    start = min(members)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(set(graph.get(node, ())) & members):
                if target == start:
                    chain = [node]
                    while chain[-1] != start:
                        chain.append(parents[chain[-1]])
                    return [*reversed(chain), start]
                if target not in parents:
                    parents[target] = node
                    following.append(target)
        frontier = following
    raise ValueError(f"no cycle through {start}: not a strongly connected component")


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one; [] for an acyclic graph."""
    return [cycle_in(graph, component) for component in strongly_connected(graph)]


# ---- private attributes -----------------------------------------------------------------------------------------


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and name != "_"


def _bound_names(target: ast.expr) -> Iterator[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _bound_names(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_names(target.value)
    else:
        yield target


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in {"self", "cls"}


def defined_private_names(modules: Iterable[Module]) -> set[str]:
    """Every ``_name`` our code defines: functions, classes, module globals and class fields (dataclass fields
    too), ``self._x = ...`` attributes, and names given with ``import ... as _x``."""
    names: set[str] = set()
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in (bound for t in targets for bound in _bound_names(t)):
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                    elif isinstance(target, ast.Attribute) and _is_self(target.value):
                        names.add(target.attr)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names.update(alias.asname for alias in node.names if alias.asname)
    return {name for name in names if _is_private(name)}


def private_accesses(module: Module, ours: set[str]) -> list[PrivateAccess]:
    """``obj._attr`` where ``_attr`` is no name of ours (so a library's), or one of the known library privates
    reached on anything but ``self``."""
    found: list[ast.Attribute] = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Attribute) or not _is_private(node.attr) or node.attr in DOCUMENTED_UNDERSCORE:
            continue
        foreign = node.attr not in ours
        known = node.attr in KNOWN_LIBRARY_PRIVATES and not _is_self(node.value)
        if foreign or known:
            found.append(node)
    found.sort(key=lambda node: (node.lineno, node.col_offset))
    return [PrivateAccess(f"{module.where}:{node.lineno}", ast.unparse(node)) for node in found]


def private_imports(module: Module, modules: Mapping[str, Module]) -> list[PrivateAccess]:
    """``from library import _private``."""
    return [PrivateAccess(f"{module.where}:{line}", f"from {source} import {name}")
            for source, name, line in external_imports(module, modules) if _is_private(name)]
