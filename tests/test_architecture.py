"""Architecture rules of the crmcore package: every module imports, no import cycle, and no
module reaches into a private module or name of a sibling package.

The import graph is read from the source with :mod:`ast`: every ``import`` and
``from ... import`` statement counts, at module level and inside functions and classes
alike; only the bodies of ``if TYPE_CHECKING:`` blocks are left out (they never run).
``from package import name`` is an edge to the submodule ``package.name`` when that is a
module of crmcore, else to ``package`` itself. Importing a submodule does not add an edge to
its parent packages' ``__init__`` (the graph is between the modules that name each other).

Who owns a private module or name
---------------------------------
A dotted path component that starts with an underscore (``_bgnbd`` in
``crmcore.value.btyd._bgnbd``, ``_CohortRetentionModel`` in
``from crmcore.value.retention._sbg import _CohortRetentionModel``) is private to the package
that holds it; for a private name that package is the package of the module the name comes
from. The *owner* of ``crmcore.value.btyd._bgnbd`` is ``crmcore.value.btyd``; the owner of
``crmcore._validation`` is ``crmcore``. A module may import the private item when its own
package (the package of a plain module, the package itself for an ``__init__``)

- is the owner or lies inside it (``crmcore.value.btyd._clv`` may import
  ``crmcore.value.btyd._gamma_gamma``; every subpackage of ``crmcore.value`` may import
  ``crmcore.value._base``; every module may import ``crmcore._validation``,
  ``crmcore._orderlog`` and the other top-level ``crmcore._x`` helpers, which are shared
  infrastructure), or
- is a parent of the owner (a package re-exports its subpackages' private modules:
  ``crmcore.value`` imports ``crmcore.value.btyd._summary``, ``crmcore.frames`` imports
  ``crmcore.pipeline._history``).

Everything else is a sibling reaching across: ``crmcore.value.retention`` importing
``crmcore.value.economics._migration_chain``, ``crmcore.datasets`` importing
``crmcore.segmentation._tiers``, ``crmcore._demo`` importing ``crmcore.segmentation._rfm``.
Such a module imports the sibling's public names (``from crmcore.segmentation import gini``)
or the helper moves to the common parent. Every path component is checked, so
``crmcore._demo._rfm`` is owned by ``crmcore._demo``.

Justified exceptions are listed in ``ALLOWED_SIBLING_IMPORTS`` with the reason; there are
none today.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import crmcore

PACKAGE_DIR = Path(crmcore.__file__).parent

#: (importing module, imported private module or name) -> reason. Keep it short and justified.
ALLOWED_SIBLING_IMPORTS: dict[tuple[str, str], str] = {}


def _module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every module and package of the tree."""
    root = package_dir.parent
    out: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _package_of(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to (a package ``__init__`` belongs to itself)."""
    if modules[module].name == "__init__.py":
        return module
    return module.rpartition(".")[0]


def imported_items(module: str, source: str, modules: dict[str, Path]) -> list[str]:
    """Dotted paths `module` imports: modules, and ``module.name`` for imported names.

    Function-level imports count; ``if TYPE_CHECKING:`` bodies do not.
    """
    items: list[str] = []
    package = _package_of(module, modules) if module in modules else module.rpartition(".")[0]

    def absolute(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(child: ast.AST) -> None:
        if isinstance(child, ast.Import):
            items.extend(alias.name for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            base = absolute(child)
            items.extend(f"{base}.{alias.name}" for alias in child.names if alias.name != "*")
        visit(child)

    visit(ast.parse(source))
    return items


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the crmcore modules it imports (see the module docstring)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for item in imported_items(module, path.read_text(encoding="utf-8"), modules):
            target = item if item in modules else item.rpartition(".")[0]
            if target in modules and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(cycles)


def private_import_violations(modules: dict[str, Path]) -> list[tuple[str, str, str]]:
    """(importer, imported item, owner package) for every private import across siblings."""
    out: list[tuple[str, str, str]] = []
    for module, path in modules.items():
        importer_pkg = _package_of(module, modules)
        for item in imported_items(module, path.read_text(encoding="utf-8"), modules):
            if not item.startswith("crmcore."):
                continue
            parts = item.split(".")
            for i, part in enumerate(parts):
                if not part.startswith("_") or part.startswith("__"):
                    continue
                container = ".".join(parts[:i])
                # a private name's owner is the package of the module it comes from
                owner = container if container not in modules else _package_of(container, modules)
                inside = importer_pkg == owner or importer_pkg.startswith(owner + ".")
                parent = owner.startswith(importer_pkg + ".")
                if not (inside or parent) and (module, item) not in ALLOWED_SIBLING_IMPORTS:
                    out.append((module, item, owner))
    return sorted(set(out))


MODULES = _module_names(PACKAGE_DIR)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_of_the_package_imports(module: str) -> None:
    importlib.import_module(module)


def test_the_package_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(MODULES))
    assert cycles == [], f"import cycles: {cycles}"


def test_no_module_imports_a_private_module_or_name_of_a_sibling_package() -> None:
    violations = private_import_violations(MODULES)
    assert violations == [], "\n".join(
        f"{importer} imports {item} (private to {owner})" for importer, item, owner in violations
    )


def test_every_listed_exception_is_still_needed() -> None:
    graph_items = {
        (module, item)
        for module, path in MODULES.items()
        for item in imported_items(module, path.read_text(encoding="utf-8"), MODULES)
    }
    stale = sorted(set(ALLOWED_SIBLING_IMPORTS) - graph_items)
    assert stale == [], f"exceptions no module needs any more: {stale}"


def test_value_is_laid_out_by_subject() -> None:
    value = {name for name in MODULES if name.startswith("crmcore.value.")}
    subpackages = {"crmcore.value.btyd", "crmcore.value.retention", "crmcore.value.economics"}
    assert subpackages <= value
    shared = {"crmcore.value._base", "crmcore.value._special"}
    loose = {
        name
        for name in value
        if name not in subpackages
        and name not in shared
        and not any(name.startswith(p + ".") for p in subpackages)
    }
    assert loose == set(), f"modules of crmcore.value outside its subject packages: {loose}"
    demo = {name for name in MODULES if "demo" in name.rpartition(".")[2]}
    assert all(name.startswith("crmcore._demo") for name in demo), demo


# -- the checks themselves can fail -------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = tmp_path / "crmcore" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return _module_names(tmp_path / "crmcore")


def test_the_cycle_check_sees_a_function_level_cycle_and_skips_type_checking(
    tmp_path: Path,
) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/_x.py": "from crmcore.a._y import f\n",
            "a/_y.py": "def f():\n    from crmcore.a import _x\n",
            "a/_z.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from crmcore.a._x import f\n",
            "a/_w.py": "import crmcore.a._z\n",
        },
    )
    assert find_cycles(import_graph(modules)) == [["crmcore.a._x", "crmcore.a._y"]]


def test_the_privacy_check_flags_siblings_and_allows_own_and_parent_packages(
    tmp_path: Path,
) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "_shared.py": "",
            "a/__init__.py": "from crmcore.a.b._m import public\n",
            "a/_base.py": "",
            "a/b/__init__.py": "",
            "a/b/_m.py": "from crmcore.a._base import Base\nfrom crmcore._shared import x\n",
            "a/c/__init__.py": "",
            "a/c/_n.py": "from crmcore.a.b._m import f\nfrom crmcore.a.b import _hidden\n"
            "from crmcore.a.b import visible\n",
            "a/c/_o.py": "from crmcore.a.c._n import _g\n",
            "d.py": "def f():\n    from crmcore.a.c._n import _g\n",
        },
    )
    assert private_import_violations(modules) == [
        ("crmcore.a.c._n", "crmcore.a.b._hidden", "crmcore.a.b"),
        ("crmcore.a.c._n", "crmcore.a.b._m.f", "crmcore.a.b"),
    ]


@pytest.mark.parametrize("subject", ["btyd", "retention", "economics"])
def test_each_subject_package_is_reexported_by_the_flat_value_namespace(subject: str) -> None:
    import crmcore.value as value

    package = importlib.import_module(f"crmcore.value.{subject}")
    assert package.__doc__ and "Public names" in package.__doc__
    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        assert name in value.__all__, name
        assert getattr(value, name) is getattr(package, name), name
    subjects = ("btyd", "retention", "economics")
    owned = {
        name for s in subjects for name in importlib.import_module(f"crmcore.value.{s}").__all__
    }
    assert sorted(value.__all__) == sorted(owned | {"MaximumLikelihoodModel"})
