"""The house: no import cycle anywhere in src/, every module imports only what stands below it,
and no module grows past 400 lines (docs/design.md, "Floors")."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "eqlearn"

#: The floors, ground first. A module may import from its own part or from a lower floor.
FLOORS = [
    ("eqlearn.version", "eqlearn.errors"),
    ("eqlearn.vocabulary", "eqlearn.devices"),
    ("eqlearn.symbolic", "eqlearn.engines"),
    ("eqlearn.eql", "eqlearn.sr"),
    ("eqlearn.physics",),
    ("eqlearn.gnn",),
    ("eqlearn.readout",),
    ("eqlearn.discovery",),
    ("eqlearn.compare", "eqlearn.sweep", "eqlearn.regress"),
    ("eqlearn.demos",),
    ("eqlearn.cli",),
    ("eqlearn.__main__",),
    ("eqlearn",),  # the package's lazy facade (`eqlearn.discover`, `eqlearn.EQLRegressor`, ...)
]
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def part_of(module: str) -> tuple[int, str]:
    """(floor, part): the longest prefix of `module` named in FLOORS."""
    best = max((prefix for floor in FLOORS for prefix in floor if module == prefix or module.startswith(prefix + ".")),
               key=len)
    return next(i for i, floor in enumerate(FLOORS) if best in floor), best


def imports_of(module: str) -> set[str]:
    """Every eqlearn module `module` imports, at any depth of its code (function-level imports too)."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in MODULES}
    return found - {module}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_no_import_cycle():
    state: dict[str, int] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target] if target in path else [module, target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_every_import_goes_down_or_stays_in_its_part():
    upward = []
    for module, targets in GRAPH.items():
        floor, part = part_of(module)
        for target in targets:
            target_floor, target_part = part_of(target)
            if target_part != part and target_floor >= floor:
                upward.append(f"{module} (floor {floor}) imports {target} (floor {target_floor})")
    assert not upward, "\n".join(sorted(upward))


def test_every_module_has_a_floor_and_the_floors_are_real():
    for module in MODULES:
        part_of(module)  # raises where no floor names it
    named = {prefix for floor in FLOORS for prefix in floor}
    assert all(any(m == p or m.startswith(p + ".") for m in MODULES) for p in named)


def test_the_lower_floors_never_import_the_discovery_package_the_cli_or_the_demos():
    """The case the floors exist for, spelled out."""
    lower = ("eqlearn.physics", "eqlearn.gnn", "eqlearn.eql", "eqlearn.readout", "eqlearn.vocabulary")
    upper = ("eqlearn.discovery", "eqlearn.cli", "eqlearn.demos")
    offenders = [(m, t) for m, targets in GRAPH.items() if m.startswith(lower)
                 for t in targets if t.startswith(upper)]
    assert not offenders


def test_no_module_is_over_400_lines():
    long = {module: n for module, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long
