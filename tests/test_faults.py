"""Fault injection: what happens when the machine, the user or a file misbehaves.

Each test provokes one fault for real where it can (a read-only directory, a
SIGINT sent to a running process, a forged file, a fresh numba cache raced by
threads) and by a stand-in where it cannot (a writer that fails as a full disk
does, an engine call interrupted at a chosen moment). Then ``BAD_INPUTS``: one
table of bad arguments over every public function, each refused with a
ValueError or TypeError that names the argument, before anything changes.
"""

import contextlib
import ctypes
import errno
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import backprop_core as bc
from workbook import datasets, diagnostics, engine, experiments, plots, widgets

ROOT = Path(__file__).resolve().parents[1]
NUMBA = pytest.mark.skipif("numba" not in bc.ENGINES, reason="numba is not installed")


def child(code, env=None, cwd=ROOT, timeout=600, **popen):
    """Run ``code`` in a fresh Python (``env``: variables to set, or to unset with None)."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **popen)


def last_json(result):
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# =============================================================================
# A read-only install, cache and HOME: numba's cache=True cannot work
# =============================================================================


def _without_dac_override():
    """preexec_fn for root: drop the capabilities that ignore file modes (bounding set)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):                   # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:      # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _make_read_only(top):
    for folder, _, files in os.walk(top):
        os.chmod(folder, 0o555)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)


def _make_writable(top):
    for folder, _, files in os.walk(top):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


READ_ONLY_CHILD = """
    import json, os, sys
    src = os.getcwd()
    places = (os.environ.get("NUMBA_CACHE_DIR"), os.environ["HOME"], src, src + "/workbook")
    for folder in [f for f in places if f] if os.environ.get("READ_ONLY") else ():
        try:
            open(os.path.join(folder, "probe"), "w").close()
        except OSError:
            continue
        print(json.dumps({"writable": folder}))
        sys.exit(0)
    import backprop_core as bc
    from workbook import engine
    assert bc.__file__.startswith(src) and engine.__file__.startswith(src), bc.__file__
    X, y = bc.generate_linear(30, seed=0)
    m_nb, m_np = bc.Model((3, 4), seed=1), bc.Model((3, 4), seed=1)
    h_nb = bc.train(m_nb, X, y, 5)
    h_np = bc.train(m_np, X, y, 5, engine="numpy")
    print(json.dumps({"engine": h_nb.engine, "epochs": h_nb.epochs,
                      "gap": max(abs(a - b) for a, b in zip(h_nb.loss, h_np.loss)),
                      "cache": type(engine.kernel()._cache).__name__}))
"""


@NUMBA
@pytest.mark.parametrize("where, cache", [("NUMBA_CACHE_DIR", "empty"), ("HOME", "empty"),
                                          ("NUMBA_CACHE_DIR", "valid")])
def test_read_only_install_cache_and_home_compile_in_memory(tmp_path, where, cache):
    """numba's cache=True raised "no locator available" here; the engine now compiles in memory.

    The package is copied into a read-only folder (a read-only site-packages);
    numba's cache goes to NUMBA_CACHE_DIR, or without it to HOME (~/.cache/numba),
    and that is read-only too. "valid": the cache was filled by an earlier run,
    then made read-only, which numba refuses as well.
    """
    src, cache_dir, home = tmp_path / "src", tmp_path / "cache", tmp_path / "home"
    shutil.copytree(ROOT / "workbook", src / "workbook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "backprop_core.py", src)
    cache_dir.mkdir()
    home.mkdir()
    env = {"NUMBA_CACHE_DIR": str(cache_dir) if where == "NUMBA_CACHE_DIR" else None,
           "XDG_CACHE_HOME": None, "HOME": str(home), "PYTHONPATH": str(src)}
    if cache == "valid":
        filled = last_json(child(READ_ONLY_CHILD, env, cwd=src))
        assert filled["engine"] == "numba" and filled["cache"] != "NullCache"
        assert any(name.endswith(".nbi") for _, _, files in os.walk(cache_dir) for name in files)
    _make_read_only(tmp_path)
    try:
        preexec = _without_dac_override if os.geteuid() == 0 else None
        try:
            result = child(READ_ONLY_CHILD, {**env, "READ_ONLY": "1"}, cwd=src, preexec_fn=preexec)
        except subprocess.SubprocessError as exc:
            pytest.skip(f"cannot drop root's file-mode override here: {exc}")
    finally:
        _make_writable(tmp_path)
    out = last_json(result)
    if "writable" in out:
        pytest.skip(f"could not make {out['writable']} read-only for the child")
    assert out["engine"] == "numba" and out["epochs"] == 5
    assert out["gap"] < 1e-10
    assert out["cache"] == "NullCache"          # compiled in memory, no cache at all


@NUMBA
def test_a_corrupt_cache_is_compiled_around(tmp_path):
    """Index and data files of numba's cache overwritten with junk: train still runs."""
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    code = """
        import json
        import backprop_core as bc
        X, y = bc.generate_linear(30, seed=0)
        h = bc.train(bc.Model((3, 4), seed=1), X, y, 5)
        print(json.dumps({"engine": h.engine, "loss": h.loss}))
    """
    first = last_json(child(code, env))
    junk = [Path(folder, name) for folder, _, files in os.walk(tmp_path) for name in files
            if name.endswith((".nbi", ".nbc"))]
    assert junk
    for path in junk:
        path.write_bytes(b"\x80\x04junk" * 7)
    second = last_json(child(code, env))
    assert second == first


# =============================================================================
# Threads racing the first compile
# =============================================================================


@NUMBA
def test_threads_racing_the_first_compile_compile_once(tmp_path):
    """Before the lock: "A jit decorator was called on an already jitted function"."""
    code = """
        import json, threading
        import numba
        real, calls = numba.njit, []
        def counting(*args, **kwargs):
            if getattr(args[0], "__module__", "") == "workbook.engine":
                calls.append(args[0].__name__)
            return real(*args, **kwargs)
        numba.njit = counting
        import backprop_core as bc
        from workbook import engine
        X, y = bc.generate_linear(50, seed=0)
        barrier, results, errors = threading.Barrier(4), [None] * 4, []
        def work(i):
            try:
                model = bc.Model((4, 6), seed=2)
                barrier.wait()
                history = bc.train(model, X, y, 5, engine="numba")
                results[i] = [history.engine, history.loss, model.w2.tolist()]
            except BaseException as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(json.dumps({"errors": errors, "results": results, "njit": len(calls),
                          # the _SIMD ones are numba intrinsics, not njit functions
                          "functions": len(engine._FUNCTIONS) - len(engine._SIMD)}))
    """
    out = last_json(child(code, {"NUMBA_CACHE_DIR": str(tmp_path)}))
    assert out["errors"] == []
    assert all(r == out["results"][0] for r in out["results"])
    assert out["results"][0][0] == "numba"
    assert out["njit"] == out["functions"]      # each function compiled once, by one thread


# =============================================================================
# Ctrl-C (SIGINT) at several moments
# =============================================================================

INTERRUPTED_CHILD = textwrap.dedent("""
    import json, os, signal, sys, warnings
    import numpy as np
    {setup}
    import backprop_core as bc
    X, y = bc.generate_linear(100, seed=0)
    model = bc.Model((5, 10), seed=0)
    initial = model.copy()
    {warm}
    print("go", flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = bc.train(model, X, y, 10**6, engine="{engine}")   # Ctrl-C comes in here
    print("returned", flush=True)
    # the model holds exactly the epochs the history reports, bit for bit
    again = initial.copy()
    if first.epochs:
        bc.train(again, X, y, first.epochs, engine="{engine}")
    same = all(np.array_equal(getattr(model, k), getattr(again, k))
               for k in bc.PARAM_NAMES + tuple("v_" + k for k in bc.PARAM_NAMES))
    # and the process is usable: the compiled engine runs and agrees with numpy
    m_nb, m_np = initial.copy(), initial.copy()
    h_nb = bc.train(m_nb, X, y, 20, engine="auto")
    h_np = bc.train(m_np, X, y, 20, engine="numpy")
    print(json.dumps({{
        "interrupted": first.interrupted, "epochs": first.epochs, "same": same,
        "lengths": [len(first.loss), len(first.accuracy), len(first.mae), len(first.lr)],
        "warnings": [str(w.message) for w in caught], "engine": h_nb.engine,
        "gap": max(abs(a - b) for a, b in zip(h_nb.loss, h_np.loss)), "extra": {extra},
    }}))
""")

INTERRUPT_DURING_IMPORT = """
    import importlib.abc
    class Interrupt(importlib.abc.MetaPathFinder):
        fired = []
        def find_spec(self, name, path=None, target=None):
            if name == "numba.core.types" and not self.fired:   # halfway through import numba
                self.fired.append(name)
                os.kill(os.getpid(), signal.SIGINT)
            return None
    sys.meta_path.insert(0, Interrupt())
"""

INTERRUPT_DURING_COMPILE = """
    import numba.core.event as event
    class Interrupt(event.Listener):
        fired = []
        def on_start(self, ev):
            self.fired.append(1)
            if len(self.fired) == 3:                 # the third of the engine's functions
                os.kill(os.getpid(), signal.SIGINT)
        def on_end(self, ev):
            pass
    event.register("numba:compile", Interrupt())
"""


def _interrupted_child(setup="", warm="", engine="numba", extra="None"):
    return INTERRUPTED_CHILD.format(setup=textwrap.dedent(setup), warm=warm, engine=engine,
                                    extra=extra)


@NUMBA
@pytest.mark.parametrize("moment", ["import", "compile"])
def test_ctrl_c_during_the_numba_import_or_compile_leaves_the_process_usable(tmp_path, moment):
    """Before: Ctrl-C while numba imported broke it for the process ("no attribute 'core'").

    SIGINT arrives halfway through ``import numba``, or while numba compiles the
    engine's third function (a fresh cache, so that it compiles). It is held
    back until the compile ends, then stops ``train`` before its first epoch;
    the next ``train`` runs the compiled engine.
    """
    setup = INTERRUPT_DURING_IMPORT if moment == "import" else INTERRUPT_DURING_COMPILE
    code = _interrupted_child(setup, extra="[len(Interrupt.fired), 'numba.core' in sys.modules]")
    out = last_json(child(code, {"NUMBA_CACHE_DIR": str(tmp_path)}))
    fired, imported = out["extra"]
    assert fired >= 1 and imported                  # the signal came at that moment
    assert out["interrupted"] and out["epochs"] == 0 and out["same"]
    assert out["lengths"] == [0, 0, 0, 0]
    assert any("interrupted after 0 of 1000000 epochs" in w for w in out["warnings"])
    assert out["engine"] == "numba" and out["gap"] < 1e-10


def _interrupt_after(code, delay):
    """Start ``code``; SIGINT ``delay`` s after it prints "go"; (output, seconds to "returned")."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "go", process.stderr.read()[-3000:]
        time.sleep(delay)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        line = process.stdout.readline().strip()
        waited = time.perf_counter() - sent
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert line == "returned" and process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), waited


@pytest.mark.parametrize("engine_name", [pytest.param("numba", marks=NUMBA), "numpy"])
def test_ctrl_c_during_a_long_run_stops_soon_and_keeps_the_epochs(engine_name):
    """Before: a compiled run without progress ignored Ctrl-C to its end, then lost it all.

    A run of 10^6 epochs (about a minute compiled, hours in numpy) gets SIGINT
    after a second and returns within a few: the model holds exactly the epochs
    the history reports (the same bits as a run of that many epochs).
    """
    warm = f'bc.train(model.copy(), X, y, 2, engine="{engine_name}")   # compiled before "go"'
    out, waited = _interrupt_after(_interrupted_child(warm=warm, engine=engine_name), 1.0)
    print(f"{engine_name}: Ctrl-C honoured after {waited:.2f} s, {out['epochs']} epochs kept")
    assert waited < 5.0                     # CHUNK_SECONDS is 0.25: a generous bound
    assert out["interrupted"] and out["epochs"] > 0 and out["same"]
    assert out["lengths"] == [out["epochs"]] * 4
    assert any(f"interrupted after {out['epochs']} of 1000000" in w for w in out["warnings"])
    assert out["engine"] in bc.ENGINES and out["gap"] < 1e-10


def test_a_held_sigint_is_delivered_when_the_block_ends():
    reached = []
    with pytest.raises(KeyboardInterrupt), engine._sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)                    # a handler that raised would raise here
        reached.append("end of the block")
    assert reached == ["end of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class InterruptAt:
    """An engine that runs ``inner`` and then raises KeyboardInterrupt on call ``at``.

    The chunk's work is done (or, with ``before``, not started) when the
    interrupt comes, as when Ctrl-C arrives while an engine call is returning.
    """

    def __init__(self, inner, at, before=False):
        self.inner, self.at, self.before, self.calls = inner, at, before, []

    def __call__(self, model, X, y, orders, lrs, batch_size):
        self.calls.append(len(orders))
        if len(self.calls) == self.at and self.before:
            raise KeyboardInterrupt
        out = self.inner(model, X, y, orders, lrs, batch_size)
        if len(self.calls) == self.at:
            raise KeyboardInterrupt
        return out


def _same_state(a, b):
    return all(np.array_equal(getattr(a, p + k), getattr(b, p + k))
               for p in ("", "v_", "m_", "s_") for k in bc.PARAM_NAMES) and a.t == b.t


@pytest.mark.parametrize("engine_name", [pytest.param("numba", marks=NUMBA), "numpy"])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("at, before", [(1, False), (1, True), (3, False), (4, True)])
def test_an_interrupted_engine_call_is_undone_and_the_rest_kept(monkeypatch, engine_name,
                                                                optimizer, at, before):
    X, y = bc.generate_linear(20, seed=0)
    model = bc.Model((3, 4), optimizer=optimizer, seed=0)
    initial = model.copy()
    spy = InterruptAt(bc.ENGINES[engine_name], at, before)
    monkeypatch.setitem(bc.ENGINES, engine_name, spy)
    monkeypatch.setattr(bc, "CHUNK_SECONDS", 1e9)             # chunks 1, 4, 16, ... epochs
    with pytest.warns(RuntimeWarning, match=r"training interrupted after \d+ of 500 epochs"):
        history = bc.train(model, X, y, 500, engine=engine_name)
    kept = sum(spy.calls[:at - 1])
    assert spy.calls[:at] == [1, 4, 16, 64][:at]
    assert history.interrupted and history.epochs == kept
    assert len(history.loss) == len(history.accuracy) == len(history.mae) == len(history.lr)
    assert model.lr == initial.lr
    reference = initial.copy()
    monkeypatch.undo()
    if kept:
        bc.train(reference, X, y, kept, engine=engine_name)
    assert _same_state(model, reference)


def test_ctrl_c_in_the_callback_keeps_the_chunk_the_callback_saw():
    X, y = bc.generate_linear(20, seed=0)
    model, seen = bc.Model((3, 4), seed=0), []
    initial = model.copy()

    def callback(epoch, history):
        seen.append(epoch)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.warns(RuntimeWarning, match=r"interrupted after \d+ of 300"):
        history = bc.train(model, X, y, 300, engine="numpy", callback=callback)
    assert len(seen) == 3 and history.epochs == seen[-1]     # the third chunk is kept
    bc.train(initial, X, y, seen[-1], engine="numpy")
    assert _same_state(model, initial)


def test_a_sweep_stops_at_ctrl_c_and_returns_the_runs_that_finished(monkeypatch):
    calls = []

    def interrupting(model, X, y, orders, lrs, batch_size):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return bc._numpy_epochs(model, X, y, orders, lrs, batch_size)

    monkeypatch.setitem(bc.ENGINES, "numpy", interrupting)
    base = experiments.RunConfig(epochs=1, n=10)
    with pytest.warns(RuntimeWarning) as caught:
        rows = experiments.sweep({"lr": [0.1, 0.01, 0.001]}, seeds=[0, 1], base=base,
                                 engine="numpy")
    assert [str(w.message) for w in caught] == [
        "training interrupted after 0 of 1 epochs; the model and the history hold those epochs.",
        "interrupted in run 3 of 6; the rows hold the 2 runs that finished."]
    assert [(r["lr"], r["seed"]) for r in rows] == [(0.1, 0), (0.1, 1)]
    assert all(r["epochs_run"] == 1 for r in rows)


def test_run_experiment_interrupted_before_its_first_epoch_gives_nan(monkeypatch):
    monkeypatch.setitem(bc.ENGINES, "numpy", InterruptAt(bc.ENGINES["numpy"], 1, True))
    with pytest.warns(RuntimeWarning, match="interrupted after 0"):
        _, history, row = experiments.run_experiment(epochs=5, engine="numpy")
    assert history.interrupted and row["epochs_run"] == 0
    assert np.isnan(row["final_loss"]) and np.isnan(row["mae"]) and np.isnan(row["accuracy"])


@NUMBA
def test_an_interrupted_compile_resets_the_engine_for_the_next_call(monkeypatch):
    """Any exception, Ctrl-C included, halfway through the compile undoes it."""
    import numba
    real, calls = numba.njit, []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_kernel", None)
    monkeypatch.setattr(numba, "njit", interrupting)
    with pytest.raises(KeyboardInterrupt):
        engine.kernel()
    assert engine._kernel is None
    assert all(getattr(engine, name) is engine._PYTHON[name] for name in engine._FUNCTIONS)
    monkeypatch.setattr(numba, "njit", real)
    X, y = bc.generate_linear(20, seed=0)
    h_nb = bc.train(bc.Model((3, 4), seed=0), X, y, 3, engine="numba")
    h_np = bc.train(bc.Model((3, 4), seed=0), X, y, 3, engine="numpy")
    assert h_nb.engine == "numba" and np.allclose(h_nb.loss, h_np.loss, rtol=1e-10, atol=0)


# =============================================================================
# Memory: shuffle orders per chunk, not epochs x n up front
# =============================================================================


def test_orders_are_drawn_per_chunk_and_stay_small(monkeypatch):
    """Before: 10^6 epochs of 100 points preallocated a 10^6 x 100 index array (800 MB).

    Here 2 x 10^5 epochs (160 MB before) with an engine that takes no time, so that
    only the cap on the orders keeps each call small.
    """
    sizes = []

    def instant(model, X, y, orders, lrs, batch_size):       # an engine that takes no time
        sizes.append(orders.shape)
        assert all(np.array_equal(np.sort(order), np.arange(len(X))) for order in orders[:3])
        return [0.1] * len(orders), [0.5] * len(orders), [0.4] * len(orders)

    monkeypatch.setitem(bc.ENGINES, "numpy", instant)
    X, y = bc.generate_linear(100, seed=0)
    history = bc.train(bc.Model((2, 2)), X, y, 200_000, shuffle=True, seed=0, engine="numpy")
    assert history.epochs == 200_000 == sum(rows for rows, _ in sizes)
    assert max(rows * n for rows, n in sizes) <= 2**20      # at most 8 MB of int64 at a time


# =============================================================================
# A full disk: a writer that fails halfway
# =============================================================================


@pytest.fixture
def saved_model(tmp_path):
    model = bc.Model((3, 4), seed=0)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


def _failing_savez(exc):
    def savez(file, *args, **kwargs):
        file.write(b"PK\x03\x04" + b"\x00" * 60000)      # half a file, then the disk is full
        raise exc
    return savez


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"),
                                 KeyboardInterrupt()])
def test_a_failed_save_leaves_the_old_file_whole_and_no_temporary_file(monkeypatch, tmp_path,
                                                                     saved_model, exc):
    model, path = saved_model
    before = path.read_bytes()
    bc.train(model, *bc.generate_linear(10, seed=0), 2, engine="numpy")   # something new
    monkeypatch.setattr(np, "savez", _failing_savez(exc))
    with pytest.raises(type(exc)) as caught:
        model.save(path)
    if isinstance(exc, OSError):
        assert caught.value.errno == errno.ENOSPC
        assert f"cannot save the model to {str(path)!r}: No space left" in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    monkeypatch.undo()
    assert _same_state(bc.Model.load(path), bc.Model((3, 4), seed=0))


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_leaves_the_old_file(monkeypatch, tmp_path, saved_model, step):
    model, path = saved_model
    before = path.read_bytes()

    def fail(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match="cannot save the model to .*Input/output error"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_a_failed_first_save_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(np, "savez", _failing_savez(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(OSError):
        bc.Model((2, 2)).save(tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_model_is_not_saved_over_a_good_file(saved_model):
    model, path = saved_model
    before = path.read_bytes()
    model.w2[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"model\.w2 holds NaN or inf: the model diverged"):
        model.save(path)
    assert path.read_bytes() == before


def test_save_keeps_the_mode_of_the_file_it_replaces_and_the_umask_for_a_new_one(tmp_path):
    old = tmp_path / "old.npz"
    old.write_bytes(b"x")
    old.chmod(0o640)
    bc.Model((2, 2)).save(old)
    assert old.stat().st_mode & 0o777 == 0o640
    umask = os.umask(0o022)
    os.umask(umask)
    bc.Model((2, 2)).save(tmp_path / "new.npz")
    assert (tmp_path / "new.npz").stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_through_a_symbolic_link_updates_the_file_it_names(tmp_path):
    real, link = tmp_path / "real.npz", tmp_path / "link.npz"
    bc.Model((2, 2), seed=0).save(real)
    link.symlink_to(real)
    bc.Model((2, 2), seed=1).save(link)
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link.npz",
                                                                               "real.npz"]
    assert _same_state(bc.Model.load(real), bc.Model((2, 2), seed=1))


# =============================================================================
# Oversized and forged model files
# =============================================================================


def _npy_header(shape, dtype="<f8"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                 "shape": shape})
    return buffer.getvalue()


def _forged(path, saved, replace=None, extra=None, compress=zipfile.ZIP_STORED):
    """A copy of the model file ``saved`` with members replaced or added.

    ``replace`` / ``extra``: name -> array, or bytes written as the member itself,
    or a callable that writes the member to an open member file.
    """
    with np.load(saved, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    members = {**arrays, **(replace or {}), **(extra or {})}
    with zipfile.ZipFile(path, "w", compression=compress, compresslevel=9) as archive:
        for key, value in members.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                if callable(value):
                    value(member)
                elif isinstance(value, bytes):
                    member.write(value)
                else:
                    np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
    return path


def _peak_megabytes(function):
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_a_gigabyte_of_compressed_zeros_in_an_extra_key_is_never_read(tmp_path, saved_model):
    """Before: every key was read, 1 GB of memory for a 1 MB file."""
    def zeros(member):                          # a .npy of 2^27 float64: 1 GiB of zeros
        member.write(_npy_header((2**27,)))
        block = bytes(2**24)
        for _ in range(2**30 // 2**24):
            member.write(block)

    model, saved = saved_model
    path = _forged(tmp_path / "bomb.npz", saved, extra={"junk": zeros},
                   compress=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**21
    loaded = []
    peak = _peak_megabytes(lambda: loaded.append(bc.Model.load(path)))
    assert peak < 20
    assert _same_state(loaded[0], model)


def test_a_needed_member_with_a_gigabyte_of_trailing_zeros_reads_only_its_data(tmp_path,
                                                                             saved_model):
    model, saved = saved_model

    def w1_and_junk(member):
        np.lib.format.write_array(member, model.w1)
        block = bytes(2**24)
        for _ in range(2**30 // 2**24):
            member.write(block)

    path = _forged(tmp_path / "tail.npz", saved, replace={"w1": w1_and_junk},
                   compress=zipfile.ZIP_DEFLATED)
    loaded = []
    assert _peak_megabytes(lambda: loaded.append(bc.Model.load(path))) < 20
    assert _same_state(loaded[0], model)


@pytest.mark.parametrize("replace, message", [
    ({"hidden_size": np.array([20000, 20000])}, r"hidden_size \(20000, 20000\) means more "
                                                r"than MAX_PARAMS = 50,000,000 parameters"),
    ({"hidden_size": np.array([10**9, 10**9])}, "MAX_PARAMS"),
    ({"w2": _npy_header((10**6, 10**6))}, r"array 'w2' has shape \(1000000, 1000000\)"),
    ({"s_w2": _npy_header((3, 4), "<f16")}, None),             # float128: fine, small
    ({"lr": _npy_header((10**12,))}, r"array 'lr' has shape \(1000000000000,\)"),
    ({"activation": _npy_header((), "<U250000000")}, r"array 'activation' has shape \(\) and "
                                                     r"dtype <U250000000"),
    ({"hidden_size": _npy_header((2,), "<U250000000")}, "array 'hidden_size'"),
    ({"w1": _npy_header((2, 3), "|O")}, "pickled objects are refused"),
])
def test_declared_sizes_are_checked_before_anything_is_read(tmp_path, saved_model, replace,
                                                            message):
    """An 11 KB file that declares (20000, 20000) took 3 GB; a header of 8 TB: MemoryError."""
    _, saved = saved_model
    path = _forged(tmp_path / "forged.npz", saved, replace=replace)

    def load():
        with pytest.raises(ValueError, match=message or "cannot read a model"):
            bc.Model.load(path)

    assert _peak_megabytes(load) < 5


@pytest.mark.parametrize("replace, message", [
    ({"s_w1": -np.ones((2, 3))}, r"array 's_w1', Adam's mean of squared gradients, holds "
                                 r"negative values"),
    ({"t": np.float64(2.5)}, r"t 2\.5 is not made of integers"),
    ({"t": np.float64(1e30)}, r"t 1e\+30 is not made of integers"),
    ({"hidden_size": np.array([3.5, 4.0])}, r"hidden_size \[3\.5, 4\.0\] is not made of "
                                            r"integers"),
    ({"lr": np.bool_(True)}, r"array 'lr' has shape \(\) and dtype bool"),
    ({"lr": np.array("0.1")}, r"lr must be a real number, got str '0\.1'"),
    ({"seed": np.array("1.5")}, r"seed '1\.5' is neither 'None' nor an integer >= 0"),
    ({"v_b3": np.full((1, 1), np.inf)}, r"array 'v_b3' holds NaN or inf"),
    ({"format_version": np.array(2)}, r"its format_version is 2, this workbook reads 1"),
])
def test_files_that_would_load_but_are_not_valid_models_are_refused(tmp_path, saved_model,
                                                                    replace, message):
    _, saved = saved_model
    path = _forged(tmp_path / "invalid.npz", saved, replace=replace)
    with pytest.raises(ValueError, match=message):
        bc.Model.load(path)


# =============================================================================
# Without numba, and with a numba that cannot run
# =============================================================================


def test_engine_numba_without_numba_names_the_argument(monkeypatch):
    monkeypatch.delitem(bc.ENGINES, "numba", raising=False)
    model = bc.Model((3, 4), seed=0)
    w1 = model.w1.copy()
    with pytest.raises(ValueError, match=r"engine must be one of \('auto', 'numpy'\) here, got "
                                         r"'numba': numba is not installed"):
        bc.train(model, *bc.generate_linear(10, seed=0), 2, engine="numba")
    np.testing.assert_array_equal(model.w1, w1)


@NUMBA
def test_a_numba_that_cannot_run_falls_back_honestly(monkeypatch):
    monkeypatch.setattr(engine, "problem", lambda: "ImportError: numba needs another numpy")
    X, y = bc.generate_linear(20, seed=0)
    model = bc.Model((3, 4), seed=0)
    w1 = model.w1.copy()
    with pytest.raises(ValueError, match=r"engine='numba' cannot run here \(ImportError: numba "
                                         r"needs another numpy\); pass 'numpy'"):
        bc.train(model, X, y, 2, engine="numba")
    np.testing.assert_array_equal(model.w1, w1)
    with pytest.warns(RuntimeWarning, match=r"numba engine cannot run here .* training with "
                                            r"engine='numpy'"):
        history = bc.train(model, X, y, 2)
    reference = bc.Model((3, 4), seed=0)
    assert history.engine == "numpy"
    assert history == bc.train(reference, X, y, 2, engine="numpy")


def test_without_numba_the_workbook_trains_and_the_playground_stays_small():
    """numba hidden in a fresh process: numpy trains, the playground lowers its ceilings."""
    code = """
        import json, sys, warnings
        sys.modules["numba"] = None
        import backprop_core as bc
        from workbook import experiments, widgets
        _, history, row = experiments.run_experiment(epochs=3)
        try:
            experiments.run_experiment(epochs=3, engine="numba")
        except ValueError as exc:
            refused = str(exc)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ui = widgets.playground(epochs=1000, hidden_size=(100, 100))
        print(json.dumps({"engines": list(bc.ENGINES), "engine": history.engine,
                          "epochs": row["epochs_run"],
                          "ceilings": {k: ui.controls[k].max for k in ("epochs", "l1", "l2")},
                          "values": {k: ui.controls[k].value for k in ("epochs", "l1", "l2")},
                          "warnings": [str(w.message) for w in caught], "refused": refused}))
    """
    out = last_json(child(code))
    assert out["refused"].startswith("engine must be one of ('auto', 'numpy') here, got 'numba': "
                                     "numba is not installed")
    assert out["engines"] == ["numpy"] and out["engine"] == "numpy" and out["epochs"] == 3
    assert out["ceilings"] == widgets.NUMPY_LIMITS
    assert out["values"] == widgets.NUMPY_LIMITS
    assert any("numba cannot run here" in w and "about 100x slower" in w
               for w in out["warnings"])


def test_with_numba_the_playground_keeps_its_ceilings():
    if not widgets.numpy_only("auto"):
        ui = widgets.playground()
        assert ui.controls["epochs"].max == 2000 and ui.controls["l1"].max == 128
    with pytest.warns(RuntimeWarning, match=r"numba cannot run here.*stop at 200 epochs"):
        ui = widgets.playground(engine="numpy")
    assert {k: ui.controls[k].max for k in widgets.NUMPY_LIMITS} == widgets.NUMPY_LIMITS


def test_history_engine_says_what_ran(monkeypatch):
    X, y = bc.generate_linear(10, seed=0)
    ran = []
    monkeypatch.setitem(bc.ENGINES, "numpy", lambda *a: ran.append("numpy") or
                        bc._numpy_epochs(*a))
    watched = diagnostics.WatchedModel((3, 4), seed=0)
    history = bc.train(watched, X, y, 2, engine="auto")      # numba measures nothing
    assert history.engine == "numpy" and ran


# =============================================================================
# Numeric edges of the options: no leaked numpy warnings, no misleading advice
# =============================================================================


@pytest.mark.parametrize("options", [
    {"lr": 5e-324}, {"lr": 1e-300}, {"lr": 1e300}, {"lr": 1e308, "activation": "tanh"},
    {"momentum": 0.0}, {"momentum": 0.999999}, {"optimizer": "adam", "lr": 1e300},
    {"optimizer": "sgd", "lr": 1e300, "activation": "relu", "loss": "bce"},
    {"init": "he", "activation": "relu", "lr": 1e-200},
])
@pytest.mark.parametrize("engine_name", [pytest.param("numba", marks=NUMBA), "numpy"])
def test_extreme_options_leak_no_numpy_warning(options, engine_name):
    X, y = bc.generate_linear(20, seed=0)
    model = bc.Model((3, 4), seed=0, **options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = bc.train(model, X, y, 20, engine=engine_name)
        bc.evaluate(model, X, y) if history.diverged_at is None else None
    leaked = [str(w.message) for w in caught if "training diverged" not in str(w.message)]
    assert leaked == []


@pytest.mark.parametrize("lr_decay, epochs", [(1e-10, 50), (1e-300, 5), (0.5, 2000),
                                              (1e10, 50), (1.5, 2000), (2.0, 1100)])
def test_a_schedule_that_leaves_the_float_range_is_refused_up_front(lr_decay, epochs):
    model = bc.Model((3, 4), seed=0)
    w1 = model.w1.copy()
    decay = re.escape(f"{lr_decay:g}")
    with pytest.raises(ValueError, match=rf"lr_decay={decay} takes the lr from 0\.1 to 1e-?\d+ "
                                         rf"by epoch {epochs}, beyond 1e300 or below 1e-300.*"
                                         r"Pass an lr_decay closer to 1"):
        bc.train(model, *bc.generate_linear(10, seed=0), epochs, lr_decay=lr_decay)
    np.testing.assert_array_equal(model.w1, w1)


def test_the_lab_decay_over_a_long_run_is_still_allowed():
    history = bc.train(bc.Model((2, 2)), *bc.generate_linear(5, seed=0), 3000, lr_decay=0.9,
                       engine="numpy" if "numba" not in bc.ENGINES else "auto")
    assert history.epochs == 3000 and history.lr[-1] < 1e-130


def test_divergence_driven_by_lr_decay_says_so():
    model = bc.Model((5, 10), lr=0.01, activation="none", output_activation="none", seed=0)
    with pytest.warns(RuntimeWarning) as caught:
        bc.train(model, *bc.generate_linear(20, seed=0), 200, lr_decay=1.2)
    message = str(caught[0].message)
    assert "Try a smaller lr than 0.01" in message
    assert "or lr_decay <= 1 (it had grown the lr to" in message


def test_divergence_with_a_constant_lr_does_not_blame_lr_decay():
    model = bc.Model((5, 10), lr=0.1, activation="none", output_activation="none", seed=0)
    with pytest.warns(RuntimeWarning) as caught:
        bc.train(model, *bc.generate_linear(100, seed=0), 50)
    assert "lr_decay" not in str(caught[0].message)


def test_training_a_diverged_model_is_refused_instead_of_blaming_the_lr():
    model = bc.Model((5, 10), lr=0.1, activation="none", output_activation="none", seed=0)
    X, y = bc.generate_linear(100, seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        bc.train(model, X, y, 50)
    with pytest.raises(ValueError, match=r"model\.\w+ holds NaN or inf: the model diverged"):
        bc.train(model, X, y, 5)


# =============================================================================
# Global state: no call changes what later calls see
# =============================================================================


def _global_state():
    import matplotlib
    return (np.geterr(), list(warnings.filters), np.get_printoptions(),
            dict(matplotlib.rcParams), np.random.get_state()[1].tolist(),  # noqa: NPY002
            signal.getsignal(signal.SIGINT))


def test_no_call_changes_global_state(tmp_path):
    from matplotlib.figure import Figure
    X, y = bc.generate_linear(20, seed=0)
    before = _global_state()
    model = bc.Model((3, 4), seed=0)
    bc.train(model, X, y, 3)
    bc.train(model, X, y, 3, engine="numpy", shuffle=True, seed=1, lr_decay=0.9)
    with contextlib.suppress(RuntimeWarning), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bc.train(bc.Model((3, 4), lr=10.0, activation="none", output_activation="none"), X,
                 y, 20)
    bc.gradient_check(model, X, y)
    bc.evaluate(model, X, y)
    model.save(tmp_path / "m.npz")
    bc.Model.load(tmp_path / "m.npz")
    rows = experiments.sweep({"lr": [0.1, 100.0]}, seeds=[0], base=experiments.RunConfig(
        epochs=3, activation="none", output_activation="none"))
    experiments.format_table(experiments.summarize(rows, ("lr",)), ("lr",))
    widgets.playground_run(epochs=2)
    diagnostics.train(diagnostics.WatchedModel((3, 4)), X, y, 2)
    axes = Figure().subplots(1, 2)
    plots.plot_decision_boundary(model, X, y, ax=axes[0])
    plots.plot_history(bc.train(model, X, y, 2), axes=axes)
    assert _global_state() == before


# =============================================================================
# The bad-input table: every public function, every refusal names its argument
# =============================================================================

X_OK, Y_OK = bc.generate_linear(6, seed=0)
M = bc.Model((3, 4), seed=0)
H = bc.train(M.copy(), X_OK, Y_OK, 2, engine="numpy")
ROWS = experiments.compare({"a": {}}, experiments.RunConfig(epochs=2, n=10), seeds=[0],
                           datasets=("xor",), engine="numpy")
SUMMARY = experiments.summarize(ROWS, ("lr",))
GRADS = {k: np.zeros_like(v) for k, v in M.params.items()}
FAKE = type("FakeModel", (), {"activation": "sigmoid", "w1": np.zeros((2, 3))})()

# (call, exception, message): the message names the argument, shows the value, says what to pass
BAD_INPUTS = {
    # backprop_core: activations
    **{f"{name}({bad!r})": (lambda name=name, bad=bad: getattr(bc, name)(bad), TypeError,
                            r"^[xy] must be a number or an array of numbers, got .*Pass numbers")
       for name in ("sigmoid", "der_sigmoid", "tanh", "der_tanh", "relu", "der_relu", "identity",
                    "der_identity")
       for bad in ("0.5", None, 1j, [1, "a"], [[1, 2], [3]], {"x": 1})},
    # data
    "generate_linear(n=2.5)": (lambda: bc.generate_linear(2.5), ValueError,
                               r"n must be a positive integer up to 10,000,000, got 2\.5\. "
                               r"Pass e\.g\."),
    "generate_linear(n=10**10)": (lambda: bc.generate_linear(10**10), ValueError,
                                  r"n must be a positive integer up to 10,000,000, got "
                                  r"10000000000\. Pass e\.g\. generate_linear\(n=100\)"),
    "generate_linear(seed=-1)": (lambda: bc.generate_linear(5, seed=-1), ValueError,
                                 r"seed must be an integer >= 0.*got int -1\. Pass e\.g\. seed=0"),
    "generate_linear(seed='a')": (lambda: bc.generate_linear(5, seed="a"), TypeError,
                                  r"seed must be an integer >= 0.*got str 'a'"),
    "generate_linear(seed=True)": (lambda: bc.generate_linear(5, seed=True), TypeError,
                                   r"seed must be .*got bool True"),
    "generate_xor_easy(5)": (lambda: bc.generate_xor_easy(5), TypeError,
                             r"generate_xor_easy\(\) takes 0 positional arguments"),
    # Model
    "Model(hidden_size=(5,))": (lambda: bc.Model((5,)), ValueError,
                                r"hidden_size must be two positive integers \(l1, l2\), got "
                                r"\(5,\)\. Pass e\.g\. hidden_size=\(5, 10\)"),
    "Model(hidden_size=(20000, 20000))": (lambda: bc.Model((20000, 20000)), ValueError,
                                          r"hidden_size \(20000, 20000\) means 400,100,001 "
                                          r"parameters, more than MAX_PARAMS = 50,000,000"),
    "Model(lr='0.1')": (lambda: bc.Model(lr="0.1"), TypeError,
                        r"lr must be a real number, got str '0\.1'\. Pass e\.g\. lr=0\.1"),
    "Model(lr=0)": (lambda: bc.Model(lr=0), ValueError, r"lr must be a finite number in \(0, inf"),
    "Model(momentum=1)": (lambda: bc.Model(momentum=1), ValueError,
                          r"momentum must be a finite number in \[0, 1\), got 1\.0"),
    "Model(activation=True)": (lambda: bc.Model(activation=True), ValueError,
                               r"activation must be one of \('sigmoid'.*got True"),
    "Model(optimizer=['adam'])": (lambda: bc.Model(optimizer=["adam"]), ValueError,
                                  r"optimizer must be one of .*got \['adam'\]"),
    "Model(seed=1.5)": (lambda: bc.Model(seed=1.5), TypeError, r"seed must be .*got float 1\.5"),
    "Model(loss='bce', output_activation='none')": (
        lambda: bc.Model(loss="bce", output_activation="none"), ValueError,
        r"loss='bce' needs output_activation='sigmoid'.*got output_activation='none'"),
    "Model.forward(X=strings)": (lambda: M.forward([["a", "b"]]), TypeError,
                                 r"X must be an array of numbers of shape \(n, 2\), got list"),
    "Model.predict(X=(3, 3))": (lambda: M.predict(np.zeros((3, 3))), ValueError,
                                r"X must have shape \(n, 2\).*got shape \(3, 3\)"),
    "Model.loss_value(y=0.9999)": (
        lambda: M.loss_value(X_OK, np.where(Y_OK == 1, 0.9999999999999999, 0.0)), ValueError,
        r"y must hold labels 0 or 1 only, got values \[0\.9999999999999999\]"),
    "Model.gradients(y=complex)": (lambda: M.gradients(X_OK, Y_OK + 0j), TypeError,
                                   r"y must be an array of 0/1 labels.*got an array of "
                                   r"complex128, shape \(6, 1\)"),
    "Model.step(grads=list)": (lambda: M.copy().step([1]), ValueError,
                               r"grads must be a dict with keys .*got list"),
    "Model.step(grads['w1']=strings)": (
        lambda: M.copy().step({**GRADS, "w1": np.full((2, 3), "a")}), TypeError,
        r"grads\['w1'\] must be a number or an array of numbers, got an array of <U1"),
    "Model.save(path=None)": (lambda: M.save(None), TypeError,
                              r"path must be a file name \(str or os.PathLike\), got NoneType"),
    "Model.save(path='')": (lambda: M.save(""), ValueError, r"path is empty; pass a file name"),
    "Model.load(path=5)": (lambda: bc.Model.load(5), TypeError, r"path must be a file name"),
    "Model.load(missing)": (lambda: bc.Model.load("/nonexistent/m.npz"), ValueError,
                            r"cannot read a model from '/nonexistent/m\.npz'"),
    # train
    "train(model=dict)": (lambda: bc.train({}, X_OK, Y_OK, 1), TypeError,
                          r"model must be a backprop_core\.Model, got dict \{\}"),
    "train(epochs=10.7)": (lambda: bc.train(M.copy(), X_OK, Y_OK, 10.7), ValueError,
                           r"epochs must be a positive integer, got 10\.7\. Pass e\.g\."),
    "train(epochs=True)": (lambda: bc.train(M.copy(), X_OK, Y_OK, True), ValueError,
                           r"epochs must be a positive integer, got True"),
    "train(batch_size=0)": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, batch_size=0),
                            ValueError, r"batch_size must be a positive integer, got 0"),
    "train(shuffle='no')": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, shuffle="no"), TypeError,
                            r"shuffle must be True or False, got str 'no'\. Pass e\.g\."),
    "train(shuffle=1)": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, shuffle=1), TypeError,
                         r"shuffle must be True or False, got int 1"),
    "train(callback=5)": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, callback=5), TypeError,
                          r"callback must be None or a function f\(epoch, history\), got int 5"),
    "train(callback=f())": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, callback=lambda: None),
                            TypeError, r"callback must be None or a function f\(epoch, history\), "
                                       r"got function <function"),
    "train(lr_decay='0.9')": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, lr_decay="0.9"),
                              TypeError, r"lr_decay must be a real number, got str '0\.9'"),
    "train(seed=-3)": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, seed=-3), ValueError,
                       r"seed must be an integer >= 0.*got int -3"),
    "train(engine='cuda')": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, engine="cuda"),
                             ValueError, r"engine must be one of \('auto'.*got 'cuda'"),
    "train(engine=['numpy'])": (lambda: bc.train(M.copy(), X_OK, Y_OK, 1, engine=["numpy"]),
                                ValueError, r"engine must be one of .*got \['numpy'\]"),
    "train(model.lr='0.1' by hand)": (
        lambda: bc.train(_with_attribute("lr", "0.1"), X_OK, Y_OK, 1), TypeError,
        r"model\.lr must be a real number, got str '0\.1'"),
    "train(model.activation='softmax' by hand)": (
        lambda: bc.train(_with_attribute("activation", "softmax"), X_OK, Y_OK, 1), ValueError,
        r"model\.activation must be one of"),
    "train(model.w2 of another shape)": (
        lambda: bc.train(_with_attribute("w2", np.zeros((4, 3))), X_OK, Y_OK, 1), ValueError,
        r"model\.w2 must be a float array of shape \(3, 4\), got ndarray \(4, 3\)"),
    "evaluate(y=None)": (lambda: bc.evaluate(M, X_OK, None), TypeError,
                         r"y must be an array of 0/1 labels of shape \(n, 1\), got NoneType None"),
    "train(model.t=-1 by hand)": (lambda: bc.train(_with_attribute("t", -1), X_OK, Y_OK, 1),
                                  ValueError, r"model\.t must be an integer >= 0, Adam's step "
                                              r"count, got int -1\. Call model\.reset_optimizer"),
    "evaluate(model=FakeModel)": (lambda: bc.evaluate(FAKE, X_OK, Y_OK), TypeError,
                                  r"model must be a backprop_core\.Model, got FakeModel"),
    "mean_abs_error(model=None)": (lambda: bc.mean_abs_error(None, X_OK, Y_OK), TypeError,
                                   r"model must be a backprop_core\.Model, got NoneType"),
    "rel_error(shapes)": (lambda: bc.rel_error(np.zeros(3), np.zeros(4)), ValueError,
                          r"a and b must share a shape.*got shapes \(3,\) and \(4,\)"),
    "rel_error(empty)": (lambda: bc.rel_error([], []), ValueError, r"a and b must share"),
    "rel_error(b='x')": (lambda: bc.rel_error(1.0, "x"), TypeError,
                         r"b must be a number or an array of numbers, got str 'x'"),
    "numerical_gradients(order=4.0)": (lambda: bc.numerical_gradients(M, X_OK, Y_OK, order=4.0),
                                       ValueError, r"order must be one of \(2, 4\), got 4\.0"),
    "numerical_gradients(eps=0)": (lambda: bc.numerical_gradients(M, X_OK, Y_OK, eps=0),
                                   ValueError, r"eps must be a finite number in \(0, inf\)"),
    "gradient_check(model=list)": (lambda: bc.gradient_check([], X_OK, Y_OK), TypeError,
                                   r"model must be a backprop_core\.Model, got list"),
    # workbook.datasets
    "generate_circle(seed='a')": (lambda: datasets.generate_circle(5, seed="a"), TypeError,
                                  r"seed must be an integer >= 0.*got str 'a'"),
    "generate_circle(n=0)": (lambda: datasets.generate_circle(0), ValueError,
                             r"n must be a positive integer up to 10,000,000, got 0"),
    "load_dataset('moons')": (lambda: datasets.load_dataset("moons"), ValueError,
                              r"dataset must be one of \('linear', 'xor', 'circle'\), got 'moons'"),
    "load_dataset(array)": (lambda: datasets.load_dataset(np.array(["linear"])), ValueError,
                            r"dataset must be one of .*got array\(\['linear'\]"),
    "load_dataset('xor', n=-1)": (lambda: datasets.load_dataset("xor", n=-1), ValueError,
                                  r"n must be a positive integer up to 10,000,000, got -1"),
    # workbook.experiments
    "run_experiment(config=5)": (lambda: experiments.run_experiment(5), TypeError,
                                 r"config must be a RunConfig, got int 5"),
    "run_experiment(learning_rate=)": (lambda: experiments.run_experiment(learning_rate=0.1),
                                       TypeError, r"overrides has unknown RunConfig fields "
                                                  r"\['learning_rate'\]; the fields are"),
    "run_experiment(shuffle='no')": (lambda: experiments.run_experiment(shuffle="no"), TypeError,
                                     r"shuffle must be True or False, got str 'no'"),
    "run_experiment(seed=None)": (lambda: experiments.run_experiment(seed=None), TypeError,
                                  r"seed must be an integer >= 0 \(it seeds the data"),
    "run_experiment(hidden_size=[5, 10.5])": (
        lambda: experiments.run_experiment(hidden_size=[5, 10.5]), ValueError,
        r"hidden_size must be two positive integers"),
    "run_experiment(progress=3)": (lambda: experiments.run_experiment(progress=3), TypeError,
                                   r"progress must be True or False, got int 3"),
    "run_experiment(callback=5)": (lambda: experiments.run_experiment(callback=5), TypeError,
                                   r"callback must be None or a function"),
    "run_experiment(engine='gpu')": (lambda: experiments.run_experiment(engine="gpu"),
                                     ValueError, r"engine must be one of \('auto'"),
    "sweep(grid={'lr': 0.1})": (lambda: experiments.sweep({"lr": 0.1}), TypeError,
                                r"grid\['lr'\] must be a list of values, got float 0\.1\. "
                                r"Pass e\.g\. grid=\{'lr': \[0\.1\]\}"),
    "sweep(grid={'activation': 'tanh'})": (
        lambda: experiments.sweep({"activation": "tanh"}), TypeError,
        r"grid\['activation'\] must be a list of values, got str 'tanh'"),
    "sweep(grid={'lr': []})": (lambda: experiments.sweep({"lr": []}), ValueError,
                               r"grid\['lr'\] must be a non-empty list"),
    "sweep(grid={'foo': [1]})": (lambda: experiments.sweep({"foo": [1]}), TypeError,
                                 r"grid has unknown RunConfig fields \['foo'\]"),
    "sweep(grid=[('lr', 0.1)])": (lambda: experiments.sweep([("lr", 0.1)]), TypeError,
                                  r"grid must be a dict"),
    "sweep(grid={'lr': [0.1, -1]})": (lambda: experiments.sweep({"lr": [0.1, -1.0]}),
                                      ValueError, r"lr must be a finite number in \(0, inf\), "
                                                  r"got -1\.0"),
    "sweep(seeds=5)": (lambda: experiments.sweep({}, seeds=5), TypeError,
                       r"seeds must be an iterable of integers >= 0, got int 5"),
    "sweep(seeds=[])": (lambda: experiments.sweep({}, seeds=[]), ValueError,
                        r"seeds must be a non-empty iterable"),
    "sweep(base=dict)": (lambda: experiments.sweep({}, base={"lr": 0.1}), TypeError,
                         r"base must be a RunConfig, got dict"),
    "sweep(keep_models='yes')": (lambda: experiments.sweep({}, keep_models="yes"), TypeError,
                                 r"keep_models must be True or False, got str 'yes'"),
    "compare(settings=5)": (lambda: experiments.compare(5), TypeError,
                            r"settings must be a dict of label -> dict of RunConfig fields"),
    "compare(settings={'a': {'lr_': 1}})": (lambda: experiments.compare({"a": {"lr_": 1}}),
                                            TypeError, r"settings\['a'\] has unknown RunConfig "
                                                       r"fields \['lr_'\]"),
    "compare(datasets='xor')": (lambda: experiments.compare({"a": {}}, datasets="xor"),
                                TypeError, r"datasets must be a tuple of names, got str 'xor'"),
    "compare(datasets=('moons',))": (lambda: experiments.compare({"a": {}}, datasets=("moons",)),
                                     ValueError, r"datasets names \['moons'\], which are not"),
    "summarize(by='lr')": (lambda: experiments.summarize(ROWS, by="lr"), TypeError,
                           r"by must be a tuple of names, got str 'lr'\. Pass e\.g\. by="),
    "summarize(by=('foo',))": (lambda: experiments.summarize(ROWS, by=("foo",)), ValueError,
                               r"a row has no field \['foo'\]"),
    "summarize(metrics=('dataset',))": (
        lambda: experiments.summarize(ROWS, ("lr",), metrics=("dataset",)), ValueError,
        r"metrics must name numeric fields; 'dataset' holds 'xor'"),
    "summarize(rows=5)": (lambda: experiments.summarize(5, by=("lr",)), TypeError,
                          r"rows must be a list of dicts"),
    "format_table(digits=-1)": (lambda: experiments.format_table(SUMMARY, ("lr",), digits=-1),
                                ValueError, r"digits must be an integer from 0 to 17, got int -1"),
    "format_table(digits=2.5)": (lambda: experiments.format_table(SUMMARY, ("lr",), digits=2.5),
                                 TypeError, r"digits must be an integer from 0 to 17"),
    "format_table(metrics=('foo',))": (
        lambda: experiments.format_table(SUMMARY, ("lr",), metrics=("foo",)), ValueError,
        r"summary has no \['foo_mean'\]"),
    "format_comparison(reference=5)": (
        lambda: experiments.format_comparison(SUMMARY, ("lr",), 5), TypeError,
        r"reference must be a dict of group"),
    "format_comparison(reference={0.1: {'mae': '0.07'}})": (
        lambda: experiments.format_comparison(SUMMARY, ("lr",), {0.1: {"mae": "0.07"}}),
        TypeError, r"reference must be a dict of group -> \{metric: number\}"),
    "format_comparison(label=None)": (
        lambda: experiments.format_comparison(SUMMARY, ("lr",), {}, label=None), TypeError,
        r"label must be a string, got NoneType"),
    # workbook.diagnostics
    "WatchedModel(lr=-1)": (lambda: diagnostics.WatchedModel(lr=-1), ValueError,
                            r"lr must be a finite number"),
    "diagnostics.train(model=Model)": (lambda: diagnostics.train(M.copy(), X_OK, Y_OK, 1),
                                       TypeError, r"model must be a workbook\.diagnostics\."
                                                  r"WatchedModel, got Model"),
    "diagnostics.train(shuffle='yes')": (
        lambda: diagnostics.train(diagnostics.WatchedModel((3, 4)), X_OK, Y_OK, 1,
                                  shuffle="yes"), TypeError, r"shuffle must be True or False"),
    "layer_inputs(model=FakeModel)": (lambda: diagnostics.layer_inputs(FAKE, X_OK), TypeError,
                                      r"model must be a backprop_core\.Model, got FakeModel"),
    "layer_inputs(X=3 columns)": (lambda: diagnostics.layer_inputs(M, np.zeros((2, 3))),
                                  ValueError, r"X must have shape \(n, 2\)"),
    # workbook.plots
    "plot_data(X=strings)": (lambda: plots.plot_data([["a", "b"]], [0]), TypeError,
                             r"X must be an array of numbers of shape \(n, 2\)"),
    "plot_data(y=(3,) for 2 rows)": (lambda: plots.plot_data(X_OK[:2], [0, 1, 1]), ValueError,
                                     r"y must have shape \(n, 1\) = \(2, 1\), one label per row "
                                     r"of X, got shape \(3, 1\)"),
    "show_result(pred_y=2s)": (lambda: plots.show_result(X_OK, Y_OK, Y_OK * 2), ValueError,
                               r"y must hold labels 0 or 1 only, got values \[2\.0\]"),
    "plot_decision_boundary(model=dict)": (lambda: plots.plot_decision_boundary({}),
                                           TypeError, r"model must be a backprop_core\.Model"),
    "plot_decision_boundary(resolution=1)": (
        lambda: plots.plot_decision_boundary(M, resolution=1), ValueError,
        r"resolution must be an integer from 2 to 2000.*got 1\. Pass e\.g\. resolution=200"),
    "plot_decision_boundary(resolution=10**5)": (
        lambda: plots.plot_decision_boundary(M, resolution=10**5), ValueError,
        r"resolution must be an integer from 2 to 2000"),
    "plot_decision_boundary(X without y)": (lambda: plots.plot_decision_boundary(M, X_OK),
                                            ValueError, r"pass X and y together"),
    "plot_history(history=dict)": (lambda: plots.plot_history({"loss": [1]}), TypeError,
                                   r"history must be a backprop_core\.History, got dict"),
    "plot_history(axes=one)": (lambda: plots.plot_history(H, axes=[None]), ValueError,
                               r"axes must be two matplotlib Axes \(loss, accuracy\), got 1"),
    "plot_curves(metric='lr_')": (lambda: plots.plot_curves(ROWS, "t", metric="lr_"),
                                  ValueError, r"metric must be one of \('loss', 'accuracy', "
                                              r"'mae'\), got 'lr_'"),
    "plot_curves(rows=[])": (lambda: plots.plot_curves([], "t"), ValueError,
                             r"rows must be a non-empty list of rows with a 'dataset'"),
    "draw_network(hidden_size=(0, 5))": (lambda: plots.draw_network((0, 5)), ValueError,
                                         r"hidden_size must be two positive integers"),
    "draw_network(max_drawn=0)": (lambda: plots.draw_network((5, 10), max_drawn=0), ValueError,
                                  r"max_drawn must be an integer from 1 to 100, got 0"),
    "plot_health(health=H)": (lambda: plots.plot_health(H), ValueError,
                              r"health must be a workbook\.diagnostics\.Health"),
    # workbook.widgets
    "lr_slider(value=-1)": (lambda: widgets.lr_slider(value=-1), ValueError,
                            r"value must be a number in \[0\.001, 1\], got -1"),
    "lr_slider(min_exp=1, max_exp=0)": (lambda: widgets.lr_slider(min_exp=1, max_exp=0),
                                        ValueError, r"min_exp and max_exp must be integers"),
    "hidden_size_sliders(value=5)": (lambda: widgets.hidden_size_sliders(5), ValueError,
                                     r"value must be two integers in 1\.\.128, got 5"),
    "playground_run(callback=5)": (lambda: widgets.playground_run(callback=5), TypeError,
                                   r"callback must be None or a function f\(model, X, y, "
                                   r"history\), got int 5"),
    "playground_run(callback=f(epoch, history))": (
        lambda: widgets.playground_run(callback=lambda epoch, history: None), TypeError,
        r"callback must be None or a function f\(model, X, y, history\)"),
    "playground_run(epochs=2.5)": (lambda: widgets.playground_run(epochs=2.5), ValueError,
                                   r"epochs must be a positive integer, got 2\.5"),
    "playground_run(dataset=None)": (lambda: widgets.playground_run(dataset=None), ValueError,
                                     r"dataset must be one of"),
    "playground_run(engine='gpu')": (lambda: widgets.playground_run(engine="gpu"), ValueError,
                                     r"engine must be one of"),
    "playground(engine='gpu')": (lambda: widgets.playground(engine="gpu"), ValueError,
                                 r"engine must be one of"),
    "playground(dataset='moons')": (lambda: widgets.playground(dataset="moons"), ValueError,
                                    r"dataset must be one of \('linear', 'xor', 'circle'\)"),
    "playground(epochs=5000)": (lambda: widgets.playground(epochs=5000), ValueError,
                                r"epochs must be an integer from 10 to 2000, the range of its "
                                r"slider, got 5000"),
    "playground(momentum=1.0)": (lambda: widgets.playground(momentum=1.0), ValueError,
                                 r"momentum must be a finite number in \[0, 0\.995\)"),
    "playground(redraw_seconds=-1)": (lambda: widgets.playground(redraw_seconds=-1), ValueError,
                                      r"redraw_seconds must be a finite number in \[0, inf\)"),
    "explore(l1=0)": (lambda: widgets.explore(l1=0), ValueError,
                      r"hidden_size must be two positive integers"),
}


def _with_attribute(name, value):
    model = M.copy()
    setattr(model, name, value)
    return model


@pytest.mark.parametrize("call, error, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_table(call, error, message):
    with pytest.raises(error, match=message) as caught:
        call()
    assert type(caught.value) in (ValueError, TypeError)


PUBLIC = {
    "backprop_core": bc.__all__,
    "workbook.datasets": ["generate_circle", "load_dataset"],
    "workbook.experiments": ["run_experiment", "sweep", "compare", "summarize", "format_table",
                             "format_comparison"],
    "workbook.diagnostics": ["WatchedModel", "train", "layer_inputs"],
    "workbook.plots": ["plot_data", "show_result", "plot_decision_boundary", "plot_history",
                       "plot_curves", "draw_network", "plot_health"],
    "workbook.widgets": ["lr_slider", "hidden_size_sliders", "playground_run", "playground",
                         "explore"],
}
METHODS = ["forward", "predict", "loss_value", "gradients", "step", "save", "load"]


def test_the_table_covers_every_public_function():
    covered = {key.split("(")[0].split(".")[-1] for key in BAD_INPUTS}
    covered |= {key.split("(")[0] for key in BAD_INPUTS}
    missing = [f"{module}.{name}" for module, names in PUBLIC.items() for name in names
               if callable(getattr(sys.modules[module], name)) and name not in covered
               and name not in ("History", "ACTIVATIONS", "PARAM_NAMES")]
    missing += [f"Model.{m}" for m in METHODS if f"Model.{m}" not in {k.split("(")[0]
                                                                      for k in BAD_INPUTS}]
    assert missing == []


BAD_TRAIN_ARGUMENTS = [
    {"epochs": 10.7}, {"epochs": True}, {"batch_size": 0}, {"shuffle": "no"}, {"shuffle": 1},
    {"callback": 5}, {"callback": lambda epoch: None}, {"lr_decay": "0.9"}, {"lr_decay": 1e10},
    {"seed": -3}, {"engine": "cuda"}, {"engine": ["numpy"]}, {"X": X_OK[:, :1]}, {"y": Y_OK * 2},
]


# ids without object addresses, the same in every process (pytest-xdist compares them)
@pytest.mark.parametrize("arguments", BAD_TRAIN_ARGUMENTS,
                         ids=lambda a: re.sub(r" at 0x[0-9a-f]+", "", str(a)))
def test_a_refused_train_changes_nothing(arguments):
    model = M.copy()
    before = model.copy()
    arguments = {"X": X_OK, "y": Y_OK, "epochs": 50, **arguments}
    with pytest.raises((ValueError, TypeError)):
        bc.train(model, **arguments)
    assert _same_state(model, before) and model.lr == before.lr


def test_a_refused_step_or_save_changes_nothing(tmp_path):
    model, path = M.copy(), tmp_path / "m.npz"
    model.save(path)
    before, saved = model.copy(), path.read_bytes()
    for bad in ([1], {**GRADS, "b3": np.zeros(3)}, {**GRADS, "w1": np.full((2, 3), "a")}):
        with pytest.raises((ValueError, TypeError)):
            model.step(bad)
    model.lr = -1.0
    with pytest.raises(ValueError, match=r"model\.lr must be a finite number"):
        model.save(path)
    model.lr = before.lr
    assert _same_state(model, before) and path.read_bytes() == saved
