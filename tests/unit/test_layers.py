"""The README's map of services/ holds: each package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"

#: What each top-level part of services/ may import from services/ (itself always allowed).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "broker": frozenset(),
    "metrics": frozenset(),
    "settings": frozenset(),
    "store": frozenset({"core"}),
    "knowledge": frozenset({"core", "store"}),
    "evaluation": frozenset({"core", "knowledge"}),
    "ingest": frozenset({"core", "store", "broker", "metrics", "settings"}),
    "matcher": frozenset({"core", "store", "knowledge", "broker", "metrics", "settings"}),
    "stack": frozenset({"core", "store", "knowledge", "broker", "settings"}),
    "review": frozenset({"core", "store", "metrics", "settings"}),
    "cli": frozenset(
        {
            "core",
            "store",
            "knowledge",
            "broker",
            "metrics",
            "settings",
            "stack",
            "ingest",
            "matcher",
            "evaluation",
            "review",
        }
    ),
}


def _part(path: Path) -> str:
    return path.relative_to(SERVICES).parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    parts: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            dotted = name.split(".")
            if dotted[0] == "services" and len(dotted) > 1 and dotted[1] in MAY_IMPORT:
                parts.add(dotted[1])
    return parts


MODULES = sorted(
    p for p in SERVICES.rglob("*.py") if p.name != "__init__.py" or p.parent != SERVICES
)


def test_every_part_of_services_is_on_the_map() -> None:
    assert {_part(p) for p in MODULES} == set(MAY_IMPORT)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SERVICES)))
def test_a_module_imports_only_the_layers_its_part_may(path: Path) -> None:
    part = _part(path)
    beyond = _imported_parts(path) - MAY_IMPORT[part] - {part}
    assert not beyond, f"services/{part} may not import services.{', services.'.join(beyond)}"
