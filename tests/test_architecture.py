"""The shape of the code: no import cycles, and the engine never reaches into a door.

grimp (the import graph behind import-linter) reads every import statement, function-level ones
included, so a lazy import that closes a cycle (``cli`` → ``web`` → ``cli``) is found too.
"""

from __future__ import annotations

import grimp
import pytest

DOORS = (
    "igwatch.cli",
    "igwatch.cdshooks",
    "igwatch.web",
    "igwatch.population",
    "igwatch.store",
    "igwatch.app",
    "igwatch.smart",
)
CORE = (
    "igwatch.engine",
    "igwatch.facts",
    "igwatch.findings",
    "igwatch.rules",
    "igwatch.dosing",
    "igwatch.fhir",
    "igwatch.knowledge",
    "igwatch.clock",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # An import only for the type checker (``if TYPE_CHECKING:``) runs never: it cannot close a cycle.
    return grimp.build_graph("igwatch", include_external_packages=False, exclude_type_checking_imports=True)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    class Toy:
        modules = frozenset({"a", "b", "c"})

        @staticmethod
        def find_modules_directly_imported_by(module: str) -> set[str]:
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}}[module]

    assert _cycles(Toy()) == [["a", "b", "c"]]  # type: ignore[arg-type]


@pytest.mark.parametrize("core", CORE)
def test_the_engine_never_imports_a_door(graph: grimp.ImportGraph, core: str) -> None:
    for door in DOORS:
        chain = graph.find_shortest_chain(importer=core, imported=door, as_packages=True)
        assert chain is None, f"{core} reaches {door}: {' -> '.join(chain or ())}"
