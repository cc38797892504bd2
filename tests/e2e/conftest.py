"""Fixtures of the browser tests: Chromium, a JupyterLab server, a page per test.

The tests need the ``playwright`` package and Debian's Chromium at
/usr/bin/chromium, or the binary named by BACKPROP_CHROMIUM (Playwright's own
browser download is never used). Without
them the tests are skipped with the reason, unless BACKPROP_E2E_REQUIRED=1
(as in CI), in which case they fail.

On failure, a screenshot of the page, the page's HTML, the browser console and
the server log are kept in test-artifacts/e2e/<test>/, whose path is printed.
"""

import importlib.util
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from .lab import REPO, LabServer

# Debian's Chromium; BACKPROP_CHROMIUM names another Chromium or Chrome binary.
CHROMIUM = Path(os.environ.get("BACKPROP_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("BACKPROP_E2E_REQUIRED") == "1"
ARTIFACTS = REPO / "test-artifacts" / "e2e"

# Chromium flags for a headless run on a closed network: no sandbox (we may run
# as root), no GPU, and no background traffic (updates, sync, QUIC, translation).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--password-store=basic",
    # the page may only reach the local JupyterLab server
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

_artifact_dirs = []
_report_lines = []


def pytest_configure(config):
    if importlib.util.find_spec("pytest_timeout") is None:  # an old .venv: `make venv`
        config.addinivalue_line("markers", "timeout(seconds): needs pytest-timeout")


def missing_requirement():
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("e2e skipped: the playwright package is not installed; "
                "install the requirements with `make venv`")
    if not CHROMIUM.exists():
        return (f"e2e skipped: Chromium not found at {CHROMIUM}; "
                "install it with `apt-get install chromium`")
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from /usr/bin/chromium, driven by Playwright."""
    reason = missing_requirement()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"BACKPROP_E2E_REQUIRED=1 but {reason.removeprefix('e2e skipped: ')}",
                        pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # a SIGTERM (a CI time limit, `kill`) still stops the browser and the server:
    # pytest tears down its fixtures on KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        # Chromium keeps its crash reports under $XDG_CONFIG_HOME: a temporary one
        with tempfile.TemporaryDirectory(prefix="backprop-e2e-chromium-") as home, \
                sync_playwright() as pw:
            env = dict(os.environ, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS, env=env)
            yield chromium
            chromium.close()
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def lab(browser):
    """A JupyterLab server whose root is a temporary copy of notebooks/."""
    server = LabServer()
    try:
        server.start()
    except BaseException as exc:
        folder = _keep_artifacts("server-startup", server=server)
        server.stop()
        if not isinstance(exc, Exception):  # KeyboardInterrupt: stop the run
            raise
        pytest.fail(f"JupyterLab did not start ({exc}); server log kept in {folder}",
                    pytrace=False)
    yield server
    server.stop()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
def page(request, browser, lab):
    """A fresh browser page; on failure its screenshot and the logs are kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    console = []
    pg.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    pg.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = _keep_artifacts(request.node.name, server=lab, page=pg, console=console)
        print(f"\ne2e artifacts (screenshot, page HTML, console, server log): {folder}")
    context.close()
    lab.shutdown_kernels()


@pytest.fixture
def e2e_report():
    """Add a line to the "e2e timings" section printed at the end of the run."""
    return _report_lines.append


def _keep_artifacts(name, server=None, page=None, console=None):
    """Save what helps to debug a failure in test-artifacts/e2e/<name>/; return the folder."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    if page is not None:
        try:
            page.screenshot(path=str(folder / "screenshot.png"), full_page=True)
            (folder / "page.html").write_text(page.content(), encoding="utf-8")
            cells = page.locator(".jp-Notebook .jp-Cell")
            for i in range(cells.count()):  # and every cell that shows sliders
                if cells.nth(i).locator(".widget-slider").count():
                    cells.nth(i).screenshot(path=str(folder / f"cell-{i}.png"), timeout=10_000)
        except Exception as exc:  # the page may be gone; keep the rest
            (folder / "screenshot-error.txt").write_text(repr(exc))
    if console is not None:
        (folder / "console.log").write_text("\n".join(console) + "\n", encoding="utf-8")
    if server is not None and server.log_path.exists():
        server.log_tail()  # flushes the log
        shutil.copy(server.log_path, folder / "jupyter-lab.log")
    _artifact_dirs.append(folder)
    return folder


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so that fixtures can see a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    if _report_lines:
        terminalreporter.section("e2e: Run All Cells and slider-to-redraw times")
        for line in _report_lines:
            terminalreporter.write_line(line)
    if _artifact_dirs:
        terminalreporter.section("e2e artifacts")
        for folder in _artifact_dirs:
            terminalreporter.write_line(f"kept in {folder}")
