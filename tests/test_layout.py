"""The layering of the code, read from its imports with ``ast``.

Three layers, each importing only from the layers below it::

    tools    workbook.{experiments, checks.*, plots, widgets, diagnostics, datasets}
    core     backprop_core                 (the lab's math, at most 700 lines)
    bottom   workbook.{engine, modelfile}  (numpy and numba only)

Within the tools no two modules import each other, directly or through others.
The core imports neither matplotlib, ipywidgets nor IPython, and reaches the
bottom layer only inside functions (lazily), so ``import backprop_core`` loads
numpy alone.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOTTOM = {"workbook.engine", "workbook.modelfile"}
CORE = "backprop_core"
GUI = {"matplotlib", "ipywidgets", "IPython"}
STDLIB = set(sys.stdlib_module_names)


def module_name(path):
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {module_name(p): p for p in [ROOT / "backprop_core.py",
                                       *sorted((ROOT / "workbook").rglob("*.py"))]}


def imports(path, name=None):
    """(module imported, line, at module level) for every import in ``path``, module ``name``."""
    tree = ast.parse(path.read_text())
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:                      # relative: from . import x
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            # "from workbook import engine" imports the module workbook.engine
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            found.append((name, node.lineno, id(node) in top))
    return found


def project_module(name):
    """The project module that ``name`` refers to, or None for a library."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def layer(name):
    return 0 if name in BOTTOM else 1 if name == CORE else 2


def test_the_modules_are_found():
    assert {CORE, "workbook.engine", "workbook.modelfile", "workbook.experiments",
            "workbook.checks", "workbook.plots", "workbook.widgets"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_one_above_it(name):
    for imported, line, _ in imports(MODULES[name], name):
        target = project_module(imported)
        if target is not None and target != name:
            assert layer(target) <= layer(name), (
                f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)}) at "
                f"line {line}: layers only look down")


@pytest.mark.parametrize("name", sorted(BOTTOM))
def test_the_bottom_layer_imports_numpy_numba_and_the_standard_library_only(name):
    for imported, line, _ in imports(MODULES[name]):
        root = imported.split(".")[0]
        assert root in STDLIB | {"numpy", "numba"}, f"{name} imports {imported} (line {line})"


def test_the_core_imports_no_gui_and_reaches_the_engine_lazily():
    for imported, line, at_top in imports(MODULES[CORE]):
        assert imported.split(".")[0] not in GUI, f"backprop_core imports {imported}"
        if project_module(imported) is not None:
            assert not at_top, f"backprop_core imports {imported} at import time (line {line})"


def test_the_core_re_exports_nothing_of_the_package():
    tree = ast.parse(MODULES[CORE].read_text())
    exported = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                    and any(getattr(t, "id", "") == "__all__" for t in node.targets))
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef,
                                                                    ast.ClassDef))}
    defined |= {t.id for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    missing = [e.value for e in exported.elts if e.value not in defined]
    assert not missing, f"backprop_core.__all__ names what it does not define: {missing}"


def test_the_core_is_small():
    lines = len(MODULES[CORE].read_text().splitlines())
    assert lines <= 700, f"backprop_core.py has {lines} lines; keep it to 700 at most"


def test_no_import_cycles():
    graph = {name: {project_module(i) for i, _, _ in imports(path)} - {None, name}
             for name, path in MODULES.items()}
    for name in graph:                          # packages import their own modules: fine
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = [name for name in graph if name in reach(name)]
    assert not cycles, f"these modules import themselves through others: {cycles}"


def test_import_backprop_core_loads_numpy_alone():
    code = ("import sys, backprop_core\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numba', 'matplotlib', 'ipywidgets', 'IPython', 'workbook', 'tqdm'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]", f"import backprop_core also loaded {out}"


def test_the_checks_would_catch_an_upward_import(tmp_path, monkeypatch):
    """A bottom module that imports the core is caught."""
    fake = tmp_path / "engine.py"
    fake.write_text("import numpy as np\n\nimport backprop_core as bc\n")
    monkeypatch.setitem(MODULES, "workbook.engine", fake)
    with pytest.raises(AssertionError, match="layers only look down"):
        test_no_module_imports_one_above_it("workbook.engine")
