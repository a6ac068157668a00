"""The shape of the code, kept by a test: small files, layers that point one way, no cycles.

Walks bot/ with the standard library's ast (imports inside functions and under TYPE_CHECKING
count too: a cycle hidden behind them is still a cycle for the reader).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for p in BOT.rglob("*.py")
        if "migrations" not in p.relative_to(BOT).parts
    }


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import names: the module itself, or the package it is in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> set[str]:
    """Every bot module this module imports, anywhere in its body."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            names = [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _external_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_walk_sees_the_code() -> None:
    # Guards the test itself: if the walk found nothing it would pass on anything.
    assert len(MODULES) > 40
    assert "bot.services.needs" in GRAPH["bot.app"] or any(
        m.startswith("bot.services") for m in GRAPH["bot.app"]
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_file_over_the_limit(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines"


def test_no_import_cycle() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    # A package importing its own modules (and they it, for names it re-exports) is one room.
    real = [c for c in cycles if not _within_one_package(c)]
    assert not real, "import cycles:\n" + "\n".join(" -> ".join(c) for c in real)


def _within_one_package(cycle: list[str]) -> bool:
    """A package's __init__ and its own inner modules: the __init__ re-exports them."""
    heads = {m for m in cycle if MODULES[m].name == "__init__.py"}
    return any(all(m == head or m.startswith(head + ".") for m in cycle) for head in heads)


@pytest.mark.parametrize("layer", ["bot.services", "bot.domain", "bot.db", "bot.views"])
def test_no_telegram_below_the_handlers(layer: str) -> None:
    inside = [m for m in MODULES if m == layer or m.startswith(layer + ".")]
    offenders = [m for m in inside if "telegram" in _external_imports(m)]
    assert not offenders, f"{layer} imports telegram: {offenders}"


@pytest.mark.parametrize("layer", ["bot.domain", "bot.views"])
def test_pure_layers_import_only_the_domain(layer: str) -> None:
    offenders = {
        m: sorted(t for t in GRAPH[m] if not t.startswith("bot.domain") and not t.startswith(layer))
        for m in MODULES
        if m == layer or m.startswith(layer + ".")
    }
    offenders = {m: ts for m, ts in offenders.items() if ts}
    assert not offenders, f"{layer} reaches outside the domain: {offenders}"
