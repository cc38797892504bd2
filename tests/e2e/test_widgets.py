"""The workbook's widgets, end to end: JupyterLab in headless Chromium.

For every notebook of notebooks/ with widgets (on a temporary copy): open it,
Run All Cells, check that no cell shows an error, then move the "lr" slider and
the "l1" slider of every widget (or its first slider, if it has neither) with
the keyboard, and check that the plot is redrawn with a new, non-blank image,
that the output shows no error, and that a printed slider value follows the slider.
The time from key press to redraw is reported, never asserted on.

A self-test runs the same checks on a generated notebook with broken widgets,
so that we know the checks can fail.
"""

import nbformat
import pytest

from .lab import widget_notebooks
from .notebook_page import NotebookPage

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NOTEBOOKS = [pytest.param(p.name, id=p.stem) for p in widget_notebooks()]


def move_every_widget(nb, cells=None):
    """Move "lr" and "l1" (or the first slider) of every cell showing sliders."""
    moves = []
    for cell, names in (cells or nb.slider_cells()).items():
        for name in [n for n in ("lr", "l1") if n in names] or names[:1]:
            moves.append(nb.move_slider(cell, name))
    return moves


def describe(move):
    """One line for the report: the move, the seconds to redraw, the printed value."""
    redraw = (f"{move.seconds_to_redraw:.2f} s" if move.seconds_to_redraw is not None
              else "no image")
    first = (f"{move.seconds_to_output:.2f} s" if move.seconds_to_output is not None
             else "none")
    printed = {None: "value not printed", True: "printed value follows",
               False: "printed value does NOT follow"}[move.value_followed]
    return (f"cell {move.cell} {move.description} {move.old} -> {move.new}: "
            f"redraw {redraw} (first output {first}), {printed}")


@pytest.mark.skipif(not NOTEBOOKS, reason="e2e skipped: no notebook in notebooks/ has widgets")
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_widgets_in_the_browser(notebook, lab, page, record_property, e2e_report):
    nb = NotebookPage(page, lab, notebook)
    nb.open()
    seconds = nb.run_all()
    record_property("run_all_seconds", round(seconds, 2))
    asked = " (JupyterLab asked for a kernel: Python 3 chosen)" if nb.kernel_dialogs else ""
    e2e_report(f"{notebook}: Run All Cells {seconds:.1f} s{asked}")

    errors = nb.errors()
    assert not errors, f"{notebook}: Run All Cells shows errors:\n" + "\n\n".join(errors)
    unexecuted = nb.unexecuted_cells()
    assert not unexecuted, f"{notebook}: code cells {unexecuted} did not run"
    cells = nb.slider_cells()
    assert cells, f"{notebook} has widget code, but no slider appeared after Run All Cells"

    moves = move_every_widget(nb, cells)
    for move in moves:
        e2e_report(f"{notebook}: {describe(move)}")
        print(f"{notebook}: {describe(move)}")
        key = f"cell{move.cell}_{move.description}"
        record_property(f"{key}_seconds_to_redraw", move.seconds_to_redraw)
        record_property(f"{key}_seconds_to_output", move.seconds_to_output)
    problems = [p for m in moves for p in m.problems]
    assert not problems, f"{notebook}:\n" + "\n\n".join(problems)


# -- the checks can fail -------------------------------------------------------------

SELFTEST_SETUP = """\
import matplotlib.pyplot as plt
import ipywidgets as widgets
from IPython.display import display
import backprop_core as bc
from workbook import datasets, plots
from workbook.widgets import hidden_size_sliders, lr_slider
X, y = datasets.load_dataset("xor")"""

SELFTEST_CELLS = {
    "works": """\
def show(lr, l1, l2):
    model = bc.Model(hidden_size=(l1, l2), lr=lr, seed=0)
    history = bc.train(model, X, y, epochs=50)
    fig, ax = plt.subplots(figsize=(3, 3))
    plots.plot_decision_boundary(model, X, y, ax=ax, title=f"lr = {lr:.3g}, l1 = {l1}")
    plt.show()
    print(f"lr = {lr:.4g}  l1 = {l1}  l2 = {l2}  loss = {history.loss[-1]:.4f}")

lr = lr_slider()
l1, l2 = hidden_size_sliders()
display(widgets.VBox([lr, l1, l2]),
        widgets.interactive_output(show, {"lr": lr, "l1": l1, "l2": l2}))""",
    "raises": """\
def show(l1):
    if l1 != 5:
        raise ValueError(f"l1 = {l1} is broken on purpose")
    plt.plot([0, 1], [0, l1])
    plt.show()

l1, _ = hidden_size_sliders()
display(l1, widgets.interactive_output(show, {"l1": l1}))""",
    "blank": """\
def show(lr):
    plt.figure(figsize=(3, 2))
    if lr < 0.15:
        plt.plot([0, 1], [0, lr])
    plt.axis("off")
    plt.show()

lr = lr_slider()
display(lr, widgets.interactive_output(show, {"lr": lr}))""",
    "stale": """\
def show(lr):
    plt.plot([0, 1], [0, 1])
    plt.show()
    print("lr = 0.1")

lr = lr_slider()
display(lr, widgets.interactive_output(show, {"lr": lr}))""",
}


def test_checks_catch_broken_widgets(lab, page, e2e_report):
    nb_node = nbformat.v4.new_notebook()
    nb_node.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                      "language": "python"}
    nb_node.cells = [nbformat.v4.new_code_cell(SELFTEST_SETUP)] + [
        nbformat.v4.new_code_cell(src) for src in SELFTEST_CELLS.values()]
    folder = lab.root / "_e2e_selftest"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb_node, folder / "broken_widgets.ipynb")

    nb = NotebookPage(page, lab, "_e2e_selftest/broken_widgets.ipynb")
    nb.open()
    nb.run_all()
    assert not nb.errors(), "the self-test notebook fails before any slider moves"
    moves = {name: [] for name in SELFTEST_CELLS}
    for move in move_every_widget(nb):
        name = list(SELFTEST_CELLS)[move.cell - 1]  # cell 0 is the setup
        moves[name].append(move)
        e2e_report(f"self-test, widget that {name}: {describe(move)}")
        print(f"self-test, widget that {name}:", *move.problems, sep="\n")

    assert [m.description for m in moves["works"]] == ["lr", "l1"]
    for move in moves["works"]:
        assert not move.problems, move.problems
        assert move.value_followed and move.image_changed
        assert move.seconds_to_redraw is not None

    (raises,) = moves["raises"]
    assert any("is broken on purpose" in p for p in raises.problems), raises.problems
    assert any("not redrawn" in p for p in raises.problems), raises.problems

    (blank,) = moves["blank"]
    assert blank.image_changed and any("blank" in p for p in blank.problems), blank.problems

    (stale,) = moves["stale"]
    assert any("same image" in p for p in stale.problems), stale.problems
    assert any("do not show the new value" in p for p in stale.problems), stale.problems
