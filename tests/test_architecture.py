"""The architecture's rules, checked on the source (issue 10, "One house with rooms").

The core imports no capability; storage imports nothing from ``bot/`` or ``handlers/``; only ``bot/cli`` (the
composition root) imports ``handlers/``; no import cycle; no private attribute of a library; a small ``bot/``.
Each failure names the importing file and line. The checker itself lives in ``tests/architecture.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.architecture import (
    ROOT,
    Edge,
    Module,
    cycle_in,
    defined_private_names,
    discover,
    find_cycles,
    import_graph,
    private_accesses,
    private_imports,
    strongly_connected,
)

MAX_BOT_ENTRIES = 14


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return discover()


@pytest.fixture(scope="module")
def graph(modules: dict[str, Module]) -> dict[str, list[Edge]]:
    return import_graph(modules)


def capability_packages(modules: Mapping[str, Module]) -> set[str]:
    """Every sub-package of ``bot`` that holds code, except the core: ``bot.form``, ``bot.dialogues``, ...
    (``bot.messages`` holds only the catalogues, read as data, so it is no capability)."""
    return {name for name, module in modules.items()
            if module.is_package and name.count(".") == 1 and name.startswith("bot.") and name != "bot.core"
            and any(other.startswith(f"{name}.") for other in modules)}


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def _edges(graph: Mapping[str, list[Edge]], sources: str) -> Iterable[Edge]:
    return (edge for source, edges in graph.items() if _within(source, sources) for edge in edges)


def _fail_if(problems: list, title: str) -> None:
    """Fail with one line per problem (``file:line: ...``), without pytest's repr of the list."""
    if problems:
        pytest.fail("\n".join([title, *(f"  {problem}" for problem in problems)]), pytrace=False)


# ---- the rules --------------------------------------------------------------------------------------------------


def test_no_import_cycle(graph: dict[str, list[Edge]]) -> None:
    successors = {name: [edge.target for edge in edges] for name, edges in graph.items()}
    chains = []
    for component in strongly_connected(successors):
        cycle = cycle_in(successors, component)
        steps = [next(e for e in graph[a] if e.target == b) for a, b in itertools.pairwise(cycle)]
        chains.append(" -> ".join(cycle) + "".join(f"\n      {step}" for step in steps)
                      + f"\n    (all {len(component)} modules of this knot: {', '.join(component)})")
    _fail_if(chains, f"{len(chains)} import cycle(s); one chain each, then the import behind each step:")


def test_core_imports_no_capability_and_no_channel(modules: dict[str, Module], graph: dict[str, list[Edge]]) -> None:
    forbidden = [*sorted(capability_packages(modules)), "handlers"]
    bad = [edge for edge in _edges(graph, "bot.core") if any(_within(edge.target, p) for p in forbidden)]
    _fail_if(bad, f"bot/core imports a capability or a channel ({', '.join(forbidden)}):")


def test_storage_imports_nothing_from_bot_or_handlers(graph: dict[str, list[Edge]]) -> None:
    bad = [edge for edge in _edges(graph, "storage") if _within(edge.target, "bot") or _within(edge.target, "handlers")]
    _fail_if(bad, "storage/ imports from bot/ or handlers/:")


def test_only_the_composition_root_imports_handlers(graph: dict[str, list[Edge]]) -> None:
    bad = [edge for edge in _edges(graph, "bot")
           if _within(edge.target, "handlers") and not _within(edge.source, "bot.cli")]
    _fail_if(bad, "only bot/cli may import handlers/; these modules of bot/ do:")


def test_no_private_attribute_of_a_library() -> None:
    """In the application, and in the benchmarks and tests too (a test on a library's internals breaks with it)."""
    modules = discover(packages=("bot", "handlers", "storage", "bench", "tests"))
    ours = defined_private_names(modules.values())
    bad = [access for module in modules.values()
           for access in [*private_accesses(module, ours), *private_imports(module, modules)]]
    _fail_if(bad, "private attributes that are no name of ours (a library's internals):")


def test_bot_has_few_entries_at_its_top() -> None:
    entries = sorted(p.name for p in (ROOT / "bot").iterdir() if p.name != "__pycache__")
    assert len(entries) <= MAX_BOT_ENTRIES, (
        f"bot/ has {len(entries)} entries at its top (at most {MAX_BOT_ENTRIES}): {', '.join(entries)}")


# ---- the checker checks itself ----------------------------------------------------------------------------------


def test_the_capabilities_are_derived_from_the_folders(modules: dict[str, Module]) -> None:
    capabilities = capability_packages(modules)
    assert {"bot.form", "bot.cli", "bot.outbox"} <= capabilities
    assert "bot.core" not in capabilities
    assert "bot.messages" not in capabilities


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["a"]}
    assert strongly_connected(graph) == [["a", "b", "c"], ["e"]]
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_cycle_finder_accepts_an_acyclic_graph() -> None:
    graph = {"a": ["b", "c"], "b": ["c", "d"], "c": ["d"], "d": [], "x": ["d"]}
    assert strongly_connected(graph) == []
    assert find_cycles(graph) == []


def test_cycle_finder_reports_the_shortest_way_back() -> None:
    graph = {"a": ["b", "x"], "b": ["c"], "c": ["a"], "x": ["a"]}
    assert find_cycles(graph) == [["a", "x", "a"]]


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "leaf.py").write_text("VALUE = 1\n")
    (package / "other.py").write_text("import pkg.sub.leaf\n")
    (package / "main.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from pkg.sub import leaf\n"
        "from . import other\n"
        "if TYPE_CHECKING:\n"
        "    from .sub.leaf import VALUE\n"
        "def late():\n"
        "    import pkg.sub\n"
    )
    found = discover(tmp_path, ["pkg"])
    edges = import_graph(found)
    assert [(e.target, e.where) for e in edges["pkg.main"]] == [
        ("pkg.sub.leaf", "pkg/main.py:2"), ("pkg.other", "pkg/main.py:3"),
        ("pkg.sub.leaf", "pkg/main.py:5"), ("pkg.sub", "pkg/main.py:7")]
    assert [e.target for e in edges["pkg.other"]] == ["pkg.sub.leaf"]


def test_the_scanner_tells_our_private_names_from_a_librarys(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(
        "from library import _hidden\n"
        "_LIMIT = 3\n"
        "class Box:\n"
        "    _size: int = 0\n"
        "    def __init__(self, conn):\n"
        "        self._conn = conn\n"
        "    def _helper(self):\n"
        "        return self._conn._execute(self._conn._conn, self._size, _LIMIT)\n"
        "def use(box, table, row):\n"
        "    return box._helper(), table._tbl, row._asdict(), box.__class__\n"
    )
    found = discover(tmp_path, ["pkg"])
    ours = defined_private_names(found.values())
    assert {"_LIMIT", "_size", "_conn", "_helper"} <= ours
    module = found["pkg.mod"]
    assert [str(a) for a in private_accesses(module, ours)] == [
        "pkg/mod.py:8: self._conn._execute", "pkg/mod.py:8: self._conn._conn", "pkg/mod.py:10: table._tbl"]
    assert [str(a) for a in private_imports(module, found)] == ["pkg/mod.py:1: from library import _hidden"]
