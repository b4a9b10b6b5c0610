"""The package's layers, read from the source: every wing imports only downward, no circles.

GUIDE.md section 2: data <- methods <- mixed; qualitative beside them (it reads the data
catalogue); batch and reports know notebooks, not the methods' insides, and reports sit below
batch; the bottom modules (errors, files, paths, records) import no wing; ``evaluation.cli``
only assembles the wings' ``cli`` modules. Imports are read with ``ast`` from every module,
including imports inside functions and ``if TYPE_CHECKING:`` blocks, since a function-level
import is as much a dependency as a top-level one (it only runs later).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "evaluation"

#: modules at the bottom of the package: anyone may import them, they import no wing
BOTTOM = frozenset(
    {
        "evaluation",
        "evaluation.archives",
        "evaluation.errors",
        "evaluation.files",
        "evaluation.i18n",
        "evaluation.markup",  # the one escaping helper for text from data (issue 14)
        "evaluation.memo",  # results a batch worker's next report reuses
        "evaluation.palette",  # the Okabe-Ito colours every wing's figures share
        "evaluation.paths",
        "evaluation.records",
    }
)
#: for each layer, the layers its modules may import (besides itself)
ALLOWED = {
    "bottom": {"bottom"},
    "data": {"bottom"},
    "methods": {"bottom", "data"},
    "qualitative": {"bottom", "data"},
    "mixed": {"bottom", "data", "methods", "qualitative"},
    "reports": {"bottom", "data"},  # region names and labels from data.catalogue
    "batch": {"bottom", "data", "reports"},
}


def module_names(src: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of ``package`` under ``src``."""
    names = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to: itself, or the nearest enclosing package or module (an
    imported function or class resolves to the module that defines it)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path], package: str = PACKAGE):
    """The package's modules that ``module`` imports anywhere in its source (sorted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..data import y
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from evaluation.data import io` imports the module io; `... import load` the package
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == package or target.startswith(package + "."):
                resolved = _resolve(target, modules)
                if resolved and resolved != module:
                    found.add(resolved)
    return sorted(found)


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, list[str]]:
    """module -> the package's modules it imports."""
    modules = module_names(src, package)
    return {name: imports_of(name, path, modules, package) for name, path in modules.items()}


def layer_of(module: str) -> str:
    """The layer a module belongs to: 'bottom', 'cli', or the wing's name."""
    if module in BOTTOM:
        return "bottom"
    if module == f"{PACKAGE}.cli":
        return "cli"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ALLOWED:
        return parts[1]
    raise AssertionError(
        f"{module}: not in any layer; add it to BOTTOM or to a wing in tests/project/"
        "test_layering.py (and GUIDE.md section 2)"
    )


def layering_violations(graph: dict[str, list[str]]) -> list[str]:
    """Every import that goes up or sideways, as 'importer -> imported (layer -> layer)'."""
    problems = []
    for module, targets in sorted(graph.items()):
        layer = layer_of(module)
        for target in targets:
            target_layer = layer_of(target)
            if layer == "cli":  # the assembler: the bottom and each wing's cli module only
                allowed = target_layer == "bottom" or target.endswith(".cli")
            else:
                allowed = target_layer == layer or target_layer in ALLOWED[layer]
            if not allowed:
                problems.append(f"{module} -> {target} ({layer} -> {target_layer})")
    return problems


def import_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


# --- the package ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, list[str]]:
    return import_graph()


def test_the_graph_sees_top_level_and_function_level_imports(graph):
    # top level: the data loader writes through the bottom layer's atomic writer
    assert "evaluation.files" in graph["evaluation.data.io"]
    # inside a function: the data CLI imports the synthetic generator only when asked
    assert "evaluation.data.synth" in graph["evaluation.data.cli"]
    # `from evaluation.data import load` depends on the package's __init__
    assert "evaluation.data" in graph["evaluation.data.panel"]
    assert {"evaluation.data", "evaluation.methods", "evaluation.batch"} <= set(graph)


def test_every_module_has_a_layer(graph):
    for module in graph:
        layer_of(module)


def test_every_wing_imports_only_downward(graph):
    problems = layering_violations(graph)
    assert not problems, "imports against the layering (GUIDE.md section 2):\n" + "\n".join(
        problems
    )


def test_the_bottom_modules_import_no_wing(graph):
    for module in BOTTOM:
        assert set(graph[module]) <= BOTTOM, (module, graph[module])


def test_no_import_circle_between_the_packages_modules(graph):
    cycles = import_cycles(graph)
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_reports_sit_below_batch(graph):
    assert not any(
        target.startswith("evaluation.batch")
        for module, targets in graph.items()
        if module.startswith("evaluation.reports")
        for target in targets
    )


# --- the checker itself, on a small package written here ---------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_function_level_import_up_the_layers_is_caught(tmp_path):
    src = _write(
        tmp_path,
        {
            "evaluation/__init__.py": "",
            "evaluation/errors.py": "",
            "evaluation/data/__init__.py": "",
            "evaluation/data/io.py": "from evaluation.errors import InputError\n",
            "evaluation/data/cli.py": (
                "def command():\n    from evaluation.methods.did import att_gt\n"
            ),
            "evaluation/methods/__init__.py": "",
            "evaluation/methods/did.py": "from ..data import io\n",
        },
    )
    graph = import_graph(src)
    assert graph["evaluation.methods.did"] == ["evaluation.data.io"]
    assert layering_violations(graph) == [
        "evaluation.data.cli -> evaluation.methods.did (data -> methods)"
    ]


def test_a_circle_through_a_function_level_import_is_caught(tmp_path):
    src = _write(
        tmp_path,
        {
            "evaluation/__init__.py": "",
            "evaluation/data/__init__.py": "",
            "evaluation/data/io.py": "from evaluation.data.readers import read_table\n",
            "evaluation/data/readers.py": (
                "def write_csv():\n    from evaluation.data.io import atomic_path\n"
            ),
        },
    )
    assert import_cycles(import_graph(src)) == [["evaluation.data.io", "evaluation.data.readers"]]
