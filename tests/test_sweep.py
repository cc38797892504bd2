"""``experiments.sweep`` on every core and on any executor, with the same rows.

Oracle: the same sweep run one run at a time (``ThreadPoolExecutor(max_workers=1)``),
which is ``run_experiment`` per (combination, seed), in order. Every run's bits
depend on its config and seed alone, so the rows must be equal, kept histories
and models included, whatever runs them: the default threads, a
``dask.distributed`` cluster. Speed is measured in tests/benchmark_training.py.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import backprop_core as bc
from workbook import experiments

pytest.importorskip("numba")

GRID = {"lr": [0.1, 0.05], "hidden_size": [(4, 3), (6, 5)]}
BASE = experiments.RunConfig(epochs=30, n=20)
SEEDS = [0, 1]


def assert_same_rows(rows, want):
    assert len(rows) == len(want)
    for row, expected in zip(rows, want, strict=True):
        plain = {k: v for k, v in row.items() if k not in ("history", "model")}
        assert plain == {k: v for k, v in expected.items() if k not in ("history", "model")}
        if "history" in expected:
            for field in ("loss", "accuracy", "mae", "lr"):
                assert getattr(row["history"], field) == getattr(expected["history"], field)
        if "model" in expected:
            for prefix in ("", "v_"):
                for name in bc.PARAM_NAMES:
                    assert np.array_equal(getattr(row["model"], prefix + name),
                                          getattr(expected["model"], prefix + name))


@pytest.fixture(scope="module")
def serial():
    """The oracle: one run at a time, in order, with histories and models."""
    with ThreadPoolExecutor(max_workers=1) as one:
        rows = experiments.sweep(GRID, seeds=SEEDS, base=BASE, keep_histories=True,
                                 keep_models=True, executor=one)
    assert [(r["lr"], r["hidden_size"], r["seed"]) for r in rows] == [
        (lr, size, seed) for lr in GRID["lr"] for size in GRID["hidden_size"] for seed in SEEDS]
    for row in rows[:2]:                        # and that is run_experiment, run by run
        model, history, again = experiments.run_experiment(
            BASE, lr=row["lr"], hidden_size=row["hidden_size"], seed=row["seed"])
        assert_same_rows([row], [{**again, "history": history, "model": model}])
    return rows


def test_the_default_runs_on_every_core_with_the_same_rows(serial, monkeypatch):
    threads = set()
    run_job = experiments._run_job

    def spy(*args):
        threads.add(threading.get_ident())
        return run_job(*args)

    monkeypatch.setattr(experiments, "_run_job", spy)
    monkeypatch.setattr(experiments.os, "cpu_count", lambda: 2)    # as on a 2-core machine
    rows = experiments.sweep(GRID, seeds=SEEDS, base=BASE, keep_histories=True,
                             keep_models=True)
    assert_same_rows(rows, serial)
    assert len(threads) == 2 and threading.get_ident() not in threads


def test_rows_without_histories_and_models(serial):
    rows = experiments.sweep(GRID, seeds=SEEDS, base=BASE)
    assert all("history" not in row and "model" not in row for row in rows)
    assert_same_rows(rows, [{k: v for k, v in r.items() if k not in ("history", "model")}
                            for r in serial])


def test_a_dask_cluster_gives_the_same_rows(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rows = experiments.sweep(GRID, seeds=SEEDS, base=BASE, keep_histories=True,
                                 keep_models=True, executor=client.get_executor())
    assert_same_rows(rows, serial)


def test_the_progress_bar_counts_finished_runs(monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.closed = total, 0, False
            bars.append(self)

        def update(self, count):
            self.n += count

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm_auto, "tqdm", Bar)
    experiments.sweep(GRID, seeds=SEEDS, base=BASE, progress=True)
    assert [(bar.total, bar.n, bar.closed) for bar in bars] == [(8, 8, True)]


def test_a_run_that_fails_stops_the_sweep_and_raises(monkeypatch):
    def failing(config, *args):
        if config.seed == 1:
            raise ArithmeticError("run failed")
        return run_job(config, *args)

    run_job = experiments._run_job
    monkeypatch.setattr(experiments, "_run_job", failing)
    with pytest.raises(ArithmeticError, match="run failed"):
        experiments.sweep(GRID, seeds=SEEDS, base=BASE)


def test_an_interrupted_run_stops_the_sweep_with_the_finished_rows(monkeypatch):
    """A run stopped (Ctrl-C reaches only the main thread, and the sweep passes it on
    through a stop event): the rows of the runs that finished, in order, and a warning."""
    def interrupted_first(config, engine, keep_histories, keep_models, stop=None):
        if (config.lr, config.hidden_size, config.seed) == (0.1, (4, 3), 0):
            stop.set()                          # as the main thread does on Ctrl-C
        return run_job(config, engine, keep_histories, keep_models, stop)

    run_job = experiments._run_job
    monkeypatch.setattr(experiments, "_run_job", interrupted_first)
    with pytest.warns(RuntimeWarning, match=r"interrupted in run 1 of 8; the rows hold the"):
        rows = experiments.sweep(GRID, seeds=SEEDS, base=BASE)
    assert len(rows) < 8
    order = [(lr, size, seed) for lr in GRID["lr"] for size in GRID["hidden_size"]
             for seed in SEEDS]
    keys = [(r["lr"], r["hidden_size"], r["seed"]) for r in rows]
    assert keys == sorted(keys, key=order.index) and (0.1, (4, 3), 0) not in keys
    assert all(r["epochs_run"] == BASE.epochs for r in rows)


@pytest.mark.parametrize("executor", [2, "threads", ThreadPoolExecutor])
def test_executor_must_be_an_executor(executor):
    with pytest.raises(TypeError, match=r"executor must be a concurrent.futures.Executor or "
                                        r"None, got .*Pass e.g. executor=ThreadPoolExecutor"):
        experiments.sweep(GRID, seeds=SEEDS, base=BASE, executor=executor)
