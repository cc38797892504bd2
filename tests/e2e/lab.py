"""A throw-away JupyterLab server for the browser tests, and the notebooks they visit.

The server runs from this project's environment on 127.0.0.1, on a free port,
with a random token. Its root is a temporary copy of ``notebooks/``, so that
nothing the browser saves can touch the committed notebooks. Its settings,
workspaces, runtime, config, data, IPython and matplotlib folders are temporary
too. News and update checks are off, and every cell is kept in the page (no
windowing), so that the tests see the whole notebook.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"

# Markers of a code cell that builds ipywidgets.
WIDGET_MARKERS = ("widgets.", "lr_slider(", "hidden_size_sliders(", "interact(")

# User settings written into the temporary JUPYTERLAB_SETTINGS_DIR.
USER_SETTINGS = {
    # no request to the Jupyter news feed, no update check, no "fetch news?" prompt
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    # keep every cell attached to the page, whatever is scrolled into view
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    # the temporary copy is thrown away: never save it behind the test's back
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def code_cells(path):
    """``(source, tags)`` of every code cell of the notebook at ``path``."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            cells.append(("".join(src) if isinstance(src, list) else src,
                          cell.get("metadata", {}).get("tags", [])))
    return cells


def has_widgets(path):
    """True if a code cell of the notebook at ``path`` builds ipywidgets, or displays
    something in a cell tagged ``nbval-ignore-output`` (the workbook's widget cells)."""
    return any(any(marker in src for marker in WIDGET_MARKERS)
               or ("nbval-ignore-output" in tags and "display(" in src)
               for src, tags in code_cells(path))


def widget_notebooks(folder=NOTEBOOKS):
    """The numbered notebooks of ``folder`` that have widgets, sorted by name."""
    return [p for p in sorted(Path(folder).glob("[0-9]*.ipynb")) if has_widgets(p)]


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` in a child process, on a temporary copy of a folder.

    Parameters
    ----------
    notebooks : path-like
        Folder copied into the server's root directory.
    startup_timeout : float
        Seconds to wait for ``/api/status`` to answer.
    """

    def __init__(self, notebooks=NOTEBOOKS, startup_timeout=120.0):
        self.notebooks = Path(notebooks)
        self.startup_timeout = startup_timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="backprop-e2e-"))
        self.root = self.tmp / "root"
        self.log_path = self.tmp / "jupyter-lab.log"
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self._log = None

    def _env(self):
        env = dict(os.environ)
        for name, sub in [("JUPYTERLAB_SETTINGS_DIR", "settings"),
                          ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                          ("JUPYTER_RUNTIME_DIR", "runtime"),
                          ("JUPYTER_CONFIG_DIR", "config"),
                          ("JUPYTER_DATA_DIR", "data"),
                          ("IPYTHONDIR", "ipython"),
                          ("MPLCONFIGDIR", "matplotlib")]:
            env[name] = str(self.tmp / sub)
            (self.tmp / sub).mkdir(parents=True, exist_ok=True)
        # the kernel is the environment's own python, wherever the tests are started from
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.pop("JUPYTER_TOKEN", None)
        return env

    def _write_settings(self):
        for plugin, values in USER_SETTINGS.items():
            package, name = plugin.rsplit("/", 1)
            folder = self.tmp / "settings" / package
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values, indent=2))

    def command(self):
        """The ``jupyter lab`` command line."""
        jupyter = Path(sys.executable).parent / "jupyter"
        # Linux: the server gets SIGTERM if the test process dies without stopping it
        setpriv = shutil.which("setpriv")
        guard = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
        return guard + [str(jupyter), "lab", "--no-browser", "--allow-root",
                "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                "--LabServerApp.workspaces_dir=" + str(self.tmp / "workspaces"),
                "--LabServerApp.user_settings_dir=" + str(self.tmp / "settings")]

    def start(self):
        """Copy the notebooks, start the server and wait until it answers."""
        shutil.copytree(self.notebooks, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "student"))
        env = self._env()
        self._write_settings()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(self.command(), cwd=self.root, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.proc.returncode} "
                                   f"before answering; its log:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not answer /api/status within "
                           f"{self.startup_timeout:.0f} s; its log:\n{self.log_tail()}")

    def api(self, method, path, timeout=10):
        """Call the server's REST API with the token; return the decoded JSON or None."""
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Shut down every kernel the server runs (the next notebook starts clean)."""
        for kernel in self.api("GET", "/api/kernels"):
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)

    def log_tail(self, n_chars=4000):
        """The end of the server's log."""
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""

    def stop(self, timeout=20.0):
        """Stop the server by its process id (SIGTERM, then SIGKILL) and delete its folder."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.shutdown_kernels()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.tmp, ignore_errors=True)
