"""The workbook's buttons, end to end: JupyterLab in headless Chromium.

03's backprop stepper (forward, backward, reset) and 05's playground (step,
reset, run) are pressed the way a student presses them, after Run All Cells.
After each press the widget's output must be redrawn with a new image, show no
error and no blank image, and print what the press did; the numbers it prints
must be those of the check cell that follows the widget. The time from click to
redraw is reported, never asserted on.
"""

import re
import time
from dataclasses import dataclass, field

import pytest

from .notebook_page import NotebookPage, PlaywrightTimeout

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@dataclass
class Press:
    """What happened when one button was clicked."""

    description: str
    text_before: str = ""
    text_after: str = ""
    image_before: str = ""
    image_after: str = ""
    seconds_to_redraw: float | None = None
    problems: list = field(default_factory=list)

    @property
    def image_changed(self):
        return self.image_after != self.image_before


def button_cell(nb, description):
    """Index of the first cell showing a widget button described ``description``."""
    return nb.page.evaluate(
        """name => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
             .findIndex(c => Array.from(c.querySelectorAll('button.widget-button'))
                 .some(b => b.textContent.trim() === name))""", description)


def button(nb, cell, description):
    return nb._scope(cell).get_by_role("button", name=description, exact=True)


def press(nb, cell, description, timeout=120):
    """Click a button of ``cell`` and wait for the widget's output to be redrawn."""
    scope = nb._scope(cell)
    result = Press(description, text_before=scope.evaluate("s => __e2e.text(s)"),
                   image_before=scope.evaluate("s => __e2e.imageSig(s)"))
    target = button(nb, cell, description)
    target.scroll_into_view_if_needed()
    scope.evaluate("s => __e2e.watch(s)")
    t0 = time.perf_counter()
    target.click()
    try:
        nb.page.wait_for_function("() => __e2e.watching.firstImage !== null",
                                  timeout=timeout * 1000, polling="raf")
        result.seconds_to_redraw = time.perf_counter() - t0
        nb.page.wait_for_function(
            "() => __e2e.kernelIdle() && performance.now() - __e2e.watching.lastChange > 1000",
            timeout=timeout * 1000, polling=100)
    except PlaywrightTimeout:
        result.problems.append(f"cell {cell}: {description!r} redrew nothing within {timeout} s")
    nb.page.evaluate("() => __e2e.observer.disconnect()")
    result.text_after = scope.evaluate("s => __e2e.text(s)")
    result.image_after = scope.evaluate("s => __e2e.imageSig(s)")
    where = f"cell {cell}, after {description!r}"
    result.problems += [f"{where}, the output shows an error:\n{e[-1500:]}"
                        for e in nb.errors(cell)]
    if not result.image_changed:
        result.problems.append(f"{where}, the figure is the same image as before")
    broken = scope.evaluate("s => __e2e.brokenImages(s)")
    if broken:
        result.problems.append(f"{where}, {broken} image(s) are broken or blank")
    return result


def cell_text(nb, cell_id):
    """The printed output of the cell whose id is ``cell_id``, as the page shows it."""
    index = next(i for i, c in enumerate(nb.cells_on_disk()) if c.get("id") == cell_id)
    return nb._scope(index).locator(".jp-OutputArea-output").all_inner_texts()


def open_and_run(nb, record_property, e2e_report):
    nb.open()
    seconds = nb.run_all()
    record_property("run_all_seconds", round(seconds, 2))
    e2e_report(f"{nb.path}: Run All Cells {seconds:.1f} s")
    errors = nb.errors()
    assert not errors, f"{nb.path}: Run All Cells shows errors:\n" + "\n\n".join(errors)


def report(e2e_report, notebook, presses):
    for p in presses:
        took = f"{p.seconds_to_redraw:.2f} s" if p.seconds_to_redraw is not None else "no redraw"
        e2e_report(f"{notebook}: button {p.description!r}: redraw {took}")


def test_the_backprop_stepper_in_the_browser(lab, page, record_property, e2e_report):
    nb = NotebookPage(page, lab, "03_backprop.ipynb")
    open_and_run(nb, record_property, e2e_report)
    cell = button_cell(nb, "forward")
    assert cell >= 0, "03 shows no stepper: no 'forward' button after Run All Cells"
    scope = nb._scope(cell)
    assert "step 0 of 44" in scope.evaluate("s => __e2e.text(s)")
    listing = "\n".join(cell_text(nb, "stepper-check"))
    equations = re.findall(r"^\s*\d+ (?:forward|backward) +(.+)$", listing, re.M)
    assert len(equations) == 44, f"the check cell lists {len(equations)} steps, not 44"

    presses = []
    for k in range(1, 14):                      # the forward pass: 13 numbers, then L
        presses.append(press(nb, cell, "forward"))
        assert f"step {k} of 44 (forward): {equations[k - 1]}" in presses[-1].text_after, (
            f"forward press {k} does not print the check cell's equation "
            f"{equations[k - 1]!r}:\n{presses[-1].text_after}")
    assert "forward pass complete: press backward" in presses[-1].text_after
    assert button(nb, cell, "forward").is_disabled()
    for k in range(14, 17):                     # the first gradients: da3, dz3, dw3[0]
        presses.append(press(nb, cell, "backward"))
        assert f"step {k} of 44 (backward): {equations[k - 1]}" in presses[-1].text_after
    presses.append(press(nb, cell, "reset"))
    assert "step 0 of 44: nothing computed yet" in presses[-1].text_after
    assert button(nb, cell, "backward").is_disabled()
    assert not button(nb, cell, "forward").is_disabled()

    report(e2e_report, nb.path, presses)
    problems = [p for press_ in presses for p in press_.problems]
    assert not problems, "03:\n" + "\n\n".join(problems)


def numbers_line(text):
    """The first 'epoch N: training loss ..., accuracy ...; test loss ..., accuracy ...' line."""
    found = re.search(r"epoch \d+: training loss [\d.]+, accuracy [\d.]+; test loss [\d.]+, "
                      r"accuracy [\d.]+", text)
    return found.group(0) if found else None


def test_the_playground_buttons_in_the_browser(lab, page, record_property, e2e_report):
    nb = NotebookPage(page, lab, "05_playground.ipynb")
    open_and_run(nb, record_property, e2e_report)
    cell = button_cell(nb, "step")
    assert cell >= 0, "05 shows no playground: no 'step' button after Run All Cells"
    scope = nb._scope(cell)
    first_text = scope.evaluate("s => __e2e.text(s)")
    first_image = scope.evaluate("s => __e2e.imageSig(s)")
    check = "\n".join(cell_text(nb, "playground-session-check"))
    at_default = numbers_line(check)                      # the defaults' epochs
    at_step = numbers_line(check.partition("step ->")[2])  # and one more
    assert at_default and at_step, f"the check cell prints no playground numbers:\n{check}"
    assert numbers_line(first_text) == at_default, (first_text, at_default)

    presses = [press(nb, cell, "step")]
    assert numbers_line(presses[-1].text_after) == at_step, presses[-1].text_after
    presses.append(press(nb, cell, "reset"))
    assert "epoch 0: the initial weights" in presses[-1].text_after
    presses.append(press(nb, cell, "run"))     # the same epochs again, from the same weights
    assert numbers_line(presses[-1].text_after) == at_default, presses[-1].text_after
    replayed = presses[-1].image_after == first_image

    report(e2e_report, nb.path, presses)
    e2e_report(f"{nb.path}: reset then run redraws the first figure exactly: {replayed}")
    problems = [p for press_ in presses for p in press_.problems]
    assert not problems, "05:\n" + "\n\n".join(problems)
    assert replayed, "reset then run did not redraw the playground's first figure"
