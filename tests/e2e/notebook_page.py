"""A notebook open in JupyterLab, seen the way a student uses it.

Cells are found in page order (the tests switch JupyterLab's windowing off, so
every cell is in the page). A slider is found by its description ("lr", "l1",
...) and moved with the keyboard on its handle; the widget's output is watched
for the redraw that follows.
"""

import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # no playwright: conftest.py skips the tests, with the reason
    PlaywrightTimeout = TimeoutError

ERROR_MIME = ('application/vnd.jupyter.stderr', 'application/vnd.jupyter.error')
# tqdm and warnings also write to stderr: only tracebacks and exceptions count.
ERROR_PATTERN = re.compile(r"Traceback \(most recent call last\)"
                           r"|\b[A-Z]\w*(?:Error|Exception)\b(?!\w)")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

# Functions run in the page. `scope` is a cell element, or the notebook element.
_JS_HELPERS = r"""
window.__e2e = window.__e2e || {};
__e2e.kernelIdle = () => {
  const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                     + '.jp-Notebook-ExecutionIndicator');
  return ind !== null && ind.getAttribute('data-status') === 'idle';
};
__e2e.ready = (nCells) => {
  const name = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                      + '.jp-Toolbar-kernelName');
  return document.querySelectorAll('.jp-Notebook .jp-Cell').length === nCells
    && name !== null && name.textContent.trim() !== '' && name.textContent !== 'No Kernel'
    && __e2e.kernelIdle() && document.querySelector('.jp-Dialog') === null;
};
__e2e.prompts = () => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
  .map((c, i) => {
    const src = c.querySelector('.cm-content');
    return {cell: i, code: c.classList.contains('jp-CodeCell'),
            prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
            empty: src === null || src.textContent.trim() === ''};
  }).filter(p => p.code);
__e2e.cellErrors = () => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
  .flatMap((c, i) => __e2e.errors(c).map(t => [i, t]));
__e2e.errors = (scope) => Array.from(scope.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
    + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'))
  .map(e => e.innerText);
// a widget output shows a raised exception as stderr text: count the new tracebacks
__e2e.newTracebacks = (scope) => __e2e.outputs(scope).filter(e => !e.hasAttribute('data-e2e-old')
  && /Traceback \(most recent call last\)/.test(e.innerText)).length;
__e2e.widgetFailures = (scope) => Array.from(scope.querySelectorAll('.jp-OutputArea-output'))
  .map(e => e.innerText).filter(t => t.includes('Error displaying widget'));
__e2e.hash = (s) => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return (h >>> 0).toString(16) + ':' + s.length;
};
__e2e.outputs = (scope) => Array.from(
  scope.querySelectorAll('.widget-output .jp-OutputArea-output'));
__e2e.images = (scope) => Array.from(scope.querySelectorAll('.widget-output img'));
__e2e.text = (scope) => __e2e.outputs(scope)
  .filter(e => (e.getAttribute('data-mime-type') || '').startsWith('application/vnd.jupyter.std')
               || e.getAttribute('data-mime-type') === 'text/plain')
  .map(e => e.innerText).join('\n');
// Wait for the images to decode; return how many show no picture: broken, or of
// a single colour (an empty figure).
__e2e.blank = (img) => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = new Uint32Array(ctx.getImageData(0, 0, c.width, c.height).data.buffer);
  return px.every(p => p === px[0]);
};
__e2e.brokenImages = async (scope) => {
  const imgs = __e2e.images(scope);
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0) || __e2e.blank(i)).length;
};
__e2e.imageSig = (scope) => __e2e.hash(__e2e.images(scope).map(i => i.src).join('|'));
// Tag the current outputs, then note when the first new output / image appears. JupyterLab
// may redraw an image in place (same <img>, new src) instead of adding a new element, so an
// old image whose src changed counts as new too.
__e2e.newImage = (e) => !e.hasAttribute('data-e2e-old') || e.src !== e.getAttribute('data-e2e-src');
__e2e.watch = (scope) => {
  __e2e.outputs(scope).forEach(e => e.setAttribute('data-e2e-old', '1'));
  __e2e.images(scope).forEach(e => { e.setAttribute('data-e2e-old', '1');
                                     e.setAttribute('data-e2e-src', e.src); });
  const w = {t0: performance.now(), firstOutput: null, firstImage: null, scope: scope,
             lastChange: performance.now()};
  const check = () => {
    const now = performance.now();
    w.lastChange = now;
    if (w.firstOutput === null && __e2e.outputs(scope).some(e => !e.hasAttribute('data-e2e-old')))
      w.firstOutput = now;
    if (w.firstImage === null && __e2e.images(scope).some(__e2e.newImage))
      w.firstImage = now;
  };
  if (__e2e.observer) __e2e.observer.disconnect();
  __e2e.observer = new MutationObserver(check);
  __e2e.observer.observe(scope, {childList: true, subtree: true, attributes: true,
                                 attributeFilter: ['src']});
  __e2e.watching = w;
};
true;  // not a function: page.evaluate would call it
"""


@dataclass
class SliderMove:
    """What happened when one slider was moved by one key press."""

    cell: int
    description: str
    key: str
    old: str = ""
    new: str = ""
    seconds_to_output: float | None = None
    seconds_to_redraw: float | None = None
    image_changed: bool | None = None
    text_before: str = ""
    text_after: str = ""
    value_printed: bool = False
    value_followed: bool | None = None
    problems: list = field(default_factory=list)


def numbers(text):
    """The decimal numbers written in ``text``, as strings."""
    return NUMBER.findall(text)


def same_number(printed, shown):
    """True if two decimal strings agree to the precision both were written with."""
    try:
        a, b = Decimal(printed), Decimal(shown)
    except InvalidOperation:
        return False
    half_ulp = (Decimal(1).scaleb(a.as_tuple().exponent)
                + Decimal(1).scaleb(b.as_tuple().exponent)) / 2
    return abs(a - b) <= half_ulp * Decimal("1.000001")


def prints_value(text, shown):
    """True if a number in ``text`` is the slider value ``shown`` (its readout)."""
    return any(same_number(n, shown) for n in numbers(text))


class NotebookPage:
    """A notebook open in JupyterLab in a Playwright ``page``."""

    def __init__(self, page, lab, path):
        self.page = page
        self.lab = lab
        self.path = path
        self.kernel_dialogs = 0  # times JupyterLab asked which kernel to start

    # -- opening and running ----------------------------------------------------------
    def cells_on_disk(self):
        """The cells of the notebook file the server serves."""
        return json.loads((self.lab.root / self.path).read_text(encoding="utf-8"))["cells"]

    def open(self, timeout=120):
        """Open the notebook in a fresh workspace; wait until every cell is shown and
        the kernel is idle (answering JupyterLab's "Select Kernel" dialog if it asks)."""
        n_cells = len(self.cells_on_disk())
        self.page.goto(f"{self.lab.url}/lab/tree/{self.path}?reset&token={self.lab.token}")
        self.page.wait_for_selector(".jp-Notebook", timeout=timeout * 1000)
        self.page.evaluate(_JS_HELPERS)
        deadline = time.monotonic() + timeout
        while not self.page.evaluate("n => __e2e.ready(n)", n_cells):
            dialog = self.page.locator(".jp-Dialog")
            if dialog.count() and "Select Kernel" in dialog.first.inner_text():
                dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
                self.kernel_dialogs += 1
            if time.monotonic() > deadline:
                status = self.page.locator("#jp-main-statusbar").inner_text()
                raise AssertionError(f"{self.path} was not ready after {timeout} s: "
                                     f"expected {n_cells} cells and an idle kernel; "
                                     f"status bar: {' '.join(status.split())}")
            self.page.wait_for_timeout(250)

    def menu(self, menu, command):
        """Click ``menu`` in the menu bar, then the item that runs ``command``."""
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        self.page.locator(f'li[data-command="{command}"]').click()

    def run_all(self, timeout=300):
        """Clear every output, then Run > Run All Cells; wait until the run is over.

        Returns the seconds the run took.
        """
        self.menu("Edit", "editmenu:clear-all")
        self.page.wait_for_function(
            "() => __e2e.prompts().every(p => !/\\d/.test(p.prompt))", timeout=30_000)
        t0 = time.perf_counter()
        self.menu("Run", "runmenu:run-all")
        # over when the kernel is idle and nothing is queued, and every cell ran
        # (or one failed, which stops Run All)
        try:
            self.page.wait_for_function(
                """() => __e2e.kernelIdle()
                     && __e2e.prompts().every(p => !p.prompt.includes('*'))
                     && (__e2e.prompts().every(p => p.empty || /\\d/.test(p.prompt))
                         || __e2e.errors(document).length > 0)""",
                timeout=timeout * 1000, polling=200)
        except PlaywrightTimeout:
            status = self.page.locator("#jp-main-statusbar").inner_text()
            raise AssertionError(
                f"{self.path}: Run All Cells had not finished after {timeout} s; "
                f"cells still to run: {self.unexecuted_cells()}; "
                f"status bar: {' '.join(status.split())}") from None
        return time.perf_counter() - t0

    def unexecuted_cells(self):
        """Indices of the non-empty code cells without an execution count."""
        return [p["cell"] for p in self.page.evaluate("() => __e2e.prompts()")
                if not p["empty"] and not re.search(r"\d", p["prompt"])]

    # -- checks -----------------------------------------------------------------------
    def _scope(self, cell):
        return (self.page.locator(".jp-Notebook").first if cell is None
                else self.page.locator(".jp-Notebook .jp-Cell").nth(cell))

    def expected_errors(self):
        """Indices of the cells tagged ``raises-exception`` (their errors are wanted)."""
        return {i for i, c in enumerate(self.cells_on_disk())
                if "raises-exception" in c.get("metadata", {}).get("tags", [])}

    def errors(self, cell=None):
        """Tracebacks and exceptions shown in ``cell``, or in any cell not tagged
        ``raises-exception``, and widgets that failed to display."""
        if cell is None:
            skip = self.expected_errors()
            found = [f"cell {i}: {t}" for i, t in self.page.evaluate("() => __e2e.cellErrors()")
                     if i not in skip and ERROR_PATTERN.search(t)]
        else:
            found = [t for t in self._scope(cell).evaluate("s => __e2e.errors(s)")
                     if ERROR_PATTERN.search(t)]
        return found + self._scope(cell).evaluate("s => __e2e.widgetFailures(s)")

    def slider_cells(self):
        """``{cell index: [slider descriptions]}`` for every cell showing sliders."""
        found = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
                 .map((c, i) => [i, Array.from(c.querySelectorAll('.widget-slider'))
                     .map(s => (s.querySelector('.widget-label') || {}).textContent || '')])
                 .filter(([i, names]) => names.length > 0)""")
        return {i: names for i, names in found}

    # -- sliders ----------------------------------------------------------------------
    def slider(self, cell, description):
        """The slider of ``cell`` whose description is ``description``."""
        exact = re.compile(rf"^\s*{re.escape(description)}\s*$")
        label = self.page.locator(".jp-Notebook .jp-Cell").nth(cell).locator(
            ".widget-slider .widget-label", has_text=exact)
        return label.first.locator("xpath=..")

    def move_slider(self, cell, description, timeout=120):
        """Press one arrow key on a slider's handle and watch the widget's output redraw.

        Returns a ``SliderMove``; its ``problems`` list what went wrong.
        """
        slider = self.slider(cell, description)
        handle = slider.locator(".noUi-handle").first
        readout = slider.locator(".widget-readout")
        at_max = (float(handle.get_attribute("aria-valuenow"))
                  >= float(handle.get_attribute("aria-valuemax")))
        key = "ArrowLeft" if at_max else "ArrowRight"
        move = SliderMove(cell=cell, description=description, key=key,
                          old=readout.inner_text().strip())
        # the widget's output is in this cell, or else in another cell of the notebook
        scope_cell = cell if self._scope(cell).locator(".widget-output").count() else None
        scope = self._scope(scope_cell)
        move.text_before = scope.evaluate("s => __e2e.text(s)")
        image_before = scope.evaluate("s => __e2e.imageSig(s)")
        had_image = scope.evaluate("s => __e2e.images(s).length > 0")

        handle.scroll_into_view_if_needed()
        handle.focus()
        scope.evaluate("s => __e2e.watch(s)")
        self.page.keyboard.press(key)
        try:
            self.page.wait_for_function("() => __e2e.watching.firstOutput !== null",
                                        timeout=timeout * 1000, polling="raf")
        except PlaywrightTimeout:
            move.new = readout.inner_text().strip()
            move.problems.append(
                f"cell {cell}: moving {description!r} {move.old} -> {move.new} with {key} "
                f"redrew nothing within {timeout} s")
            return move
        self.page.wait_for_function("() => __e2e.kernelIdle()", timeout=timeout * 1000)
        # outputs may still be rendered after the kernel is idle: wait for the output
        # to stay unchanged for a second
        self.page.wait_for_function(
            "() => __e2e.kernelIdle() && performance.now() - __e2e.watching.lastChange > 1000",
            timeout=timeout * 1000, polling=100)
        if had_image:
            # A callback may print before it draws, and (with ipykernel 7) a widget callback
            # may run on a subshell while the main shell reports idle: on a loaded machine the
            # picture can come seconds after the text. Wait for it (the timeout still catches
            # "never"), unless a new traceback shows: a callback that raised draws nothing more.
            with contextlib.suppress(PlaywrightTimeout):
                self.page.wait_for_function(
                    "() => (__e2e.watching.firstImage !== null"
                    " || __e2e.newTracebacks(__e2e.watching.scope) > 0)"
                    " && performance.now() - __e2e.watching.lastChange > 1000",
                    timeout=timeout * 1000, polling=100)

        w = self.page.evaluate("() => { const w = __e2e.watching; __e2e.observer.disconnect();"
                               " return {t0: w.t0, out: w.firstOutput, img: w.firstImage}; }")
        move.new = readout.inner_text().strip()
        move.seconds_to_output = (w["out"] - w["t0"]) / 1000
        if w["img"] is not None:
            move.seconds_to_redraw = (w["img"] - w["t0"]) / 1000
        move.text_after = scope.evaluate("s => __e2e.text(s)")
        move.image_changed = scope.evaluate("s => __e2e.imageSig(s)") != image_before

        where = f"cell {cell}: after moving {description!r} {move.old} -> {move.new}"
        if move.new == move.old:
            move.problems.append(f"cell {cell}: {key} on the {description!r} slider "
                                 f"did not change its value ({move.old})")
        for err in self.errors(scope_cell):
            move.problems.append(f"{where}, the output shows an error:\n{err[-1500:]}")
        if had_image and w["img"] is None:
            move.problems.append(f"{where}, the plot was not redrawn")
        elif had_image and not move.image_changed:
            move.problems.append(f"{where}, the plot was redrawn but is the same image")
        broken = scope.evaluate("s => __e2e.brokenImages(s)")
        if broken:
            move.problems.append(f"{where}, {broken} image(s) of the output are broken "
                                 "or blank (a single colour)")
        move.value_printed = prints_value(move.text_before, move.old)
        if move.value_printed:
            move.value_followed = prints_value(move.text_after, move.new)
        if move.value_followed is False:
            move.problems.append(
                f"{where}, the printed numbers do not show the new value {move.new}:\n"
                f"before: {move.text_before.strip()}\nafter:  {move.text_after.strip()}")
        return move
