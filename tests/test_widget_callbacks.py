"""No widget callback draws through pyplot.

JupyterLab may run a widget's callback on a second kernel thread (a subshell),
where matplotlib-inline's flush of pyplot's open figures races with the
drawing and shows a blank image. So every callback draws on an untracked
``matplotlib.figure.Figure`` and ``display``s it. This test reads every
notebook and module, finds each function handed to ``interactive_output``,
``interact``, ``interactive``, ``observe`` or ``on_click``, and checks that
neither it nor any function of the same file that it calls mentions pyplot.
A plotting helper called with ``ax=`` or ``axes=`` draws on those axes (it
opens a pyplot figure only when none is given), so such calls are not followed.
"""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REGISTERS = {"interactive_output", "interact", "interactive", "observe", "on_click"}


def sources():
    """(label, source) for every notebook's code and every module of the project."""
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        yield path.name, "\n".join(line for line in code.splitlines()
                                   if not line.lstrip().startswith(("%", "!")))
    for path in sorted(ROOT.glob("*.py")) + sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in {"tests", ".venv", "build", "notebooks"}:
            yield str(rel), path.read_text()


def callback_names(tree):
    """Names of the functions registered as widget callbacks in ``tree``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in REGISTERS and isinstance(node.args[0], ast.Name):
                names.add(node.args[0].id)
    return names


def pyplot_uses(function, functions, seen=None):
    """Lines where ``function``, or a function of the same file it calls, uses pyplot."""
    seen = set() if seen is None else seen
    if function.name in seen:
        return []
    seen.add(function.name)
    found = []
    for node in ast.walk(function):
        names_pyplot = (isinstance(node, ast.Name) and node.id in {"plt", "pyplot"}
                        or isinstance(node, ast.Attribute) and node.attr == "pyplot")
        if names_pyplot:
            found.append(f"{function.name}, line {node.lineno}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in functions \
                and not any(k.arg in {"ax", "axes"} for k in node.keywords):
            found += pyplot_uses(functions[node.func.id], functions, seen)
    return found


SOURCES = list(sources())


@pytest.mark.parametrize("label,source", SOURCES, ids=[label for label, _ in SOURCES])
def test_widget_callbacks_never_draw_through_pyplot(label, source):
    tree = ast.parse(source)
    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef)}
    for name in callback_names(tree):
        if name in functions:
            uses = pyplot_uses(functions[name], functions)
            assert not uses, (f"{label}: the widget callback {name!r} draws through pyplot "
                              f"({'; '.join(uses)}). Draw on matplotlib.figure.Figure(...) "
                              "and display(fig) instead.")


def test_the_scan_finds_the_callbacks_and_would_catch_pyplot():
    """The scan sees the workbook's callbacks, and flags a pyplot one."""
    registered = {label: callback_names(ast.parse(source)) for label, source in SOURCES}
    assert registered["01_sigmoid.ipynb"] == {"show_tangent"}
    assert sum(len(names) for names in registered.values()) >= 6
    bad = ast.parse("import matplotlib.pyplot as plt\n"
                    "def helper(ax=None):\n    plt.show()\n"
                    "def show(x):\n    helper(ax=x)\n    helper()\n"
                    "w.interactive_output(show, {})\n")
    functions = {n.name: n for n in ast.walk(bad) if isinstance(n, ast.FunctionDef)}
    assert pyplot_uses(functions["show"], functions) == ["helper, line 3"]
