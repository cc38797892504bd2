"""Experiments: one run, a grid of runs over seeds, and their tables.

Every hyperparameter of a run sits in one ``RunConfig``; ``run_experiment``
trains it, ``sweep`` runs a grid over seeds, ``summarize`` groups the rows and
``format_table`` / ``format_comparison`` print them beside a report's numbers.

Every argument, and every field of every run of a grid, is checked before the
first run starts. Ctrl-C stops a run (see ``backprop_core.train``); ``sweep``
and ``compare`` then stop too, and return the rows of the runs that finished.
"""

import math
import os
import warnings
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from concurrent.futures import wait as wait_for
from dataclasses import asdict, dataclass, fields, replace
from itertools import product

import numpy as np

import backprop_core as bc
from workbook.datasets import DATASETS, load_dataset


@dataclass(frozen=True)
class RunConfig:
    """One training run, every hyperparameter in one place.

    ``seed`` seeds the data (for "linear"), the initial weights and the
    shuffling, through independent streams of ``np.random.SeedSequence(seed)``.
    """

    dataset: str = "linear"           # one of DATASETS: "linear", "xor", "circle"
    n: int = 100                      # points in "linear" and "circle"; "xor" has 21
    hidden_size: tuple = (5, 10)      # (l1, l2)
    lr: float = 0.1                   # learning rate eta
    momentum: float = 0.9             # mu
    activation: str = "sigmoid"       # hidden layers
    output_activation: str = "sigmoid"
    optimizer: str = "momentum"
    loss: str = "mse"
    init: str = "normal"
    epochs: int = 1000
    batch_size: int = 1
    shuffle: bool = False
    lr_decay: float = 1.0             # 0.9 reproduces the lab's accidental decay
    seed: int = 0


FIELDS = tuple(f.name for f in fields(RunConfig))


def _refuse(name, value, what, hint, error=TypeError):
    raise error(f"{name} must be {what}, got {type(value).__name__} {value!r:.60}. {hint}")


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        _refuse(name, value, "True or False", f"Pass e.g. {name}=False.")
    return bool(value)


def _check_config(config, name="config"):
    """``config``, a RunConfig whose every field is valid; nothing is trained."""
    if not isinstance(config, RunConfig):
        _refuse(name, config, "a RunConfig", "Build one with RunConfig(...) or pass None.")
    if not isinstance(config.dataset, str) or config.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {config.dataset!r:.60}. "
                         "Pass e.g. dataset='linear'.")
    bc._check_positive_int(config.n, "n", "n=100", most=10**7)
    bc._check_hyper(asdict(config))
    bc._check_positive_int(config.epochs, "epochs", "epochs=1000")
    bc._check_positive_int(config.batch_size, "batch_size", "batch_size=1")
    _check_flag(config.shuffle, "shuffle")
    bc._check_real(config.lr_decay, "lr_decay", 0.0, math.inf, True, "lr_decay=1.0")
    if not (bc._is_int(config.seed) and config.seed >= 0):
        _refuse("seed", config.seed, "an integer >= 0 (it seeds the data, the weights and "
                "the shuffling)", "Pass e.g. seed=0.", ValueError if bc._is_int(config.seed)
                else TypeError)
    return config


def _with(config, overrides, name="overrides"):
    """``replace(config, **overrides)``, naming an unknown field."""
    unknown = [key for key in overrides if key not in FIELDS]
    if unknown:
        raise TypeError(f"{name} has unknown RunConfig fields {unknown}; the fields are "
                        f"{FIELDS}.")
    return replace(config, **overrides)


def _check_engine(engine):
    if isinstance(engine, str) and engine == "numba" and "numba" not in bc.ENGINES:
        raise ValueError("engine must be one of ('auto', 'numpy') here, got 'numba': numba is "
                         "not installed. Install it (pip install numba), or pass engine='auto'.")
    return bc._check_choice(engine, "engine", ("auto", *bc.ENGINES))


def _check_seeds(seeds):
    try:
        seeds = list(seeds)
    except TypeError:
        _refuse("seeds", seeds, "an iterable of integers >= 0", "Pass e.g. seeds=range(5).")
    if not seeds or not all(bc._is_int(seed) and seed >= 0 for seed in seeds):
        _refuse("seeds", seeds, "a non-empty iterable of integers >= 0",
                "Pass e.g. seeds=range(5).", ValueError)
    return seeds


def _check_names(value, name, allowed=None, hint="('lr',)"):
    """A sequence of strings (not one string), each in ``allowed`` if given."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) for v in value):
        _refuse(name, value, "a tuple of names", f"Pass e.g. {name}={hint}.")
    unknown = [v for v in value if allowed is not None and v not in allowed]
    if unknown:
        raise ValueError(f"{name} names {unknown}, which are not among {tuple(allowed)}. "
                         f"Pass e.g. {name}={hint}.")
    return tuple(value)


def _prepare_run(config):
    """The data, the model and the shuffling seed of one run, all drawn from ``config.seed``."""
    _check_config(config)
    data_seq, init_seq, shuffle_seq = np.random.SeedSequence(config.seed).spawn(3)
    X, y = load_dataset(config.dataset, config.n, seed=data_seq)
    model = bc.Model(config.hidden_size, lr=config.lr, momentum=config.momentum,
                  activation=config.activation, output_activation=config.output_activation,
                  seed=init_seq, optimizer=config.optimizer, loss=config.loss,
                  init=config.init)
    model.seed = config.seed
    return X, y, model, shuffle_seq


def _train_run(config, X, y, model, shuffle_seq, engine, progress, callback):
    """``train`` as ``config`` says; ``progress``: a bar of epochs (tqdm)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.epochs, unit="epoch", leave=False)

    def hook(epoch, history):
        if bar is not None:
            bar.update(epoch - bar.n)
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}", acc=f"{history.accuracy[-1]:.3f}")
        if callback is not None:
            callback(epoch, history)

    try:
        with warnings.catch_warnings():                   # kept in history.diverged_at
            warnings.filterwarnings("ignore", "training diverged", RuntimeWarning)
            return bc.train(model, X, y, config.epochs, batch_size=config.batch_size,
                            shuffle=config.shuffle, lr_decay=config.lr_decay, seed=shuffle_seq,
                            engine=engine, callback=hook if progress or callback else None)
    finally:
        if bar is not None:
            bar.close()


def run_experiment(config=None, engine="auto", progress=False, callback=None, **overrides):
    """Train one model as ``config`` says; ``overrides`` replace its fields.

    ``engine`` and ``callback`` are passed to ``train``; ``progress`` shows a
    bar of epochs. A divergence does not warn here: it is recorded in the row.
    Every argument is checked before anything is trained.

    Returns
    -------
    model : Model
    history : History
    row : dict
        The config's fields plus the final ``final_loss``, ``accuracy``, ``mae``,
        ``diverged_at`` and ``epochs_run`` (NaN for a run interrupted before
        its first epoch). Its ``n`` is the number of points trained on: 21 for
        "xor", whose points are fixed, whatever ``n`` the config holds.
    """
    config = _with(_check_config(RunConfig() if config is None else config), overrides)
    _check_config(config)
    _check_engine(engine)
    _check_flag(progress, "progress")
    if callback is not None and not bc._takes(callback, 2):
        _refuse("callback", callback, "None or a function f(epoch, history)", "Pass a function.")
    X, y, model, shuffle_seq = _prepare_run(config)
    history = _train_run(config, X, y, model, shuffle_seq, engine, progress, callback)
    return model, history, _row(config, history, len(X))


def _row(config, history, n):
    """The config's fields, ``n`` the points trained on, and the run's final metrics, as
    ``run_experiment`` returns."""
    last = {k: getattr(history, k)[-1] if history.epochs else math.nan
            for k in ("loss", "accuracy", "mae")}
    row = {**asdict(config), "n": n}
    row.update(final_loss=last["loss"], accuracy=last["accuracy"], mae=last["mae"],
               diverged_at=history.diverged_at, epochs_run=history.epochs)
    return row


def _check_grid(grid):
    """The combinations of ``grid``, a dict field -> non-empty list of values."""
    if not isinstance(grid, dict):
        _refuse("grid", grid, "a dict of RunConfig field -> list of values",
                "Pass e.g. grid={'lr': [0.1, 0.01]}.")
    _with(RunConfig(), {k: None for k in grid}, "grid")              # unknown fields
    lists = {}
    for key, values in grid.items():
        hint = f"Pass e.g. grid={{{key!r}: [{getattr(RunConfig(), key)!r}]}}."
        if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
            _refuse(f"grid[{key!r}]", values, "a list of values", hint)
        lists[key] = list(values)
        if not lists[key]:
            _refuse(f"grid[{key!r}]", values, "a non-empty list of values", hint, ValueError)
    return [dict(zip(lists, values, strict=True)) for values in product(*lists.values())]


def _run_jobs(jobs, engine, progress, keep_histories, keep_models, executor=None):
    """One ``run_experiment`` row per (config, seed) of ``jobs``, all checked first.

    Runs them on ``executor`` (see ``sweep``); by default, with the compiled
    engine, on threads for every core, else one after another. Stops at a run
    stopped by Ctrl-C, with a warning; returns the finished rows, in order.
    """
    compiled = _check_engine(engine) != "numpy" and "numba" in bc.ENGINES
    for name, flag in (("progress", progress), ("keep_histories", keep_histories),
                       ("keep_models", keep_models)):
        _check_flag(flag, name)
    if executor is not None and not isinstance(executor, Executor):
        _refuse("executor", executor, "a concurrent.futures.Executor or None",
                "Pass e.g. executor=ThreadPoolExecutor(max_workers=2), or None for threads "
                "on every core.")
    for config, seed in jobs:                    # every run's fields, before the first run
        _check_config(replace(config, seed=seed))
    cores = os.cpu_count() or 1
    if executor is None and compiled and cores > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=min(cores, len(jobs))) as threads:
            return _run_parallel(jobs, engine, progress, keep_histories, keep_models,
                                 threads)
    if executor is not None:
        return _run_parallel(jobs, engine, progress, keep_histories, keep_models, executor)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), unit="run", leave=False)
    rows = []
    try:
        for config, seed in jobs:
            model, history, row = run_experiment(config, engine=engine, seed=seed)
            if history.interrupted:
                warnings.warn(f"interrupted in run {len(rows) + 1} of {len(jobs)}; the rows "
                              f"hold the {len(rows)} runs that finished.", RuntimeWarning,
                              stacklevel=3)
                break
            rows.append({**row, **({"history": history} if keep_histories else {}),
                         **({"model": model} if keep_models else {})})
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return rows


def _run_job(config, engine, keep_histories, keep_models, stop=None):
    """One run of a sweep, on whichever worker runs it: (its row, whether interrupted).

    ``stop``, a ``threading.Event``, stops the run as Ctrl-C would, within 1% of
    its epochs, once it is set (a worker thread does not see Ctrl-C itself).
    Warnings are left to the caller: the filters are shared by all threads.
    """
    X, y, model, shuffle_seq = _prepare_run(config)

    def check(epoch, history):
        if stop.is_set():
            raise KeyboardInterrupt

    history = bc.train(model, X, y, config.epochs, batch_size=config.batch_size,
                       shuffle=config.shuffle, lr_decay=config.lr_decay, seed=shuffle_seq,
                       engine=engine, callback=None if stop is None else check)
    return ({**_row(config, history, len(X)), **({"history": history} if keep_histories else {}),
             **({"model": model} if keep_models else {})}, history.interrupted)


def _stop(futures, stop):
    """Cancel the runs not started; stop the running ones if ``stop`` can, and wait."""
    if stop is not None:
        stop.set()
    for future in futures:
        future.cancel()
    if stop is not None:                        # our threads stop within 1% of a run
        wait_for(futures)


def _work(config):
    """A run's rough cost, epochs x points x weights: to start the longest runs first."""
    l1, l2 = config.hidden_size
    points = 21 if config.dataset == "xor" else config.n
    return config.epochs * points * (2 * l1 + l1 * l2 + l2)


def _run_parallel(jobs, engine, progress, keep_histories, keep_models, executor):
    """``_run_jobs`` on ``executor``: the rows in the order of ``jobs``.

    The runs are submitted longest first, so that no worker is left with a long run
    at the end while the others idle; each row is the same whatever the order.
    """
    import threading
    stop = threading.Event() if isinstance(executor, ThreadPoolExecutor) else None
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), unit="run", leave=False)
    results, futures = {}, {}
    with warnings.catch_warnings():             # the runs in this process's threads
        warnings.filterwarnings("ignore", "training (diverged|interrupted)", RuntimeWarning)
        try:
            for i in sorted(range(len(jobs)), key=lambda i: -_work(jobs[i][0])):
                config, seed = jobs[i]
                future = executor.submit(_run_job, replace(config, seed=seed), engine,
                                         keep_histories, keep_models, stop)
                futures[future] = i
            for future in as_completed(futures):        # the bar counts finished runs
                results[futures[future]] = future.result()
                if bar is not None:
                    bar.update(1)
                if results[futures[future]][1]:         # a run stopped: stop the others
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            _stop(futures, stop)
            results.update({i: f.result() for f, i in futures.items()
                            if f.done() and not f.cancelled() and f.exception() is None})
            finished = [i for i in sorted(results) if not results[i][1]]
            first = next((i for i in range(len(jobs)) if i not in finished), None)
            if first is not None:
                warnings.warn(f"interrupted in run {first + 1} of {len(jobs)}; the rows hold "
                              f"the {len(finished)} runs that finished.", RuntimeWarning,
                              stacklevel=4)
            return [results[i][0] for i in finished]
        except BaseException:                   # a run failed: the others are not wanted
            _stop(futures, stop)
            raise
        finally:
            if bar is not None:
                bar.close()
    return [results[i][0] for i in range(len(jobs))]


def sweep(grid, seeds=range(5), base=None, engine="auto", progress=False,
          keep_histories=False, keep_models=False, executor=None):
    """Run every combination of ``grid`` for every seed.

    Parameters
    ----------
    grid : dict
        ``RunConfig`` field -> list of values, e.g. ``{"lr": [0.1, 0.01]}``.
    seeds : iterable of int
    base : RunConfig, optional
        Values of the fields not in ``grid``.
    engine, progress
        Passed to ``train``; ``progress`` shows a bar that counts finished runs.
    keep_histories, keep_models : bool, default False
        Also keep each run's ``History`` (for curves) and trained ``Model`` in its
        row, under "history" and "model".
    executor : concurrent.futures.Executor, optional
        What runs the runs. By default, with the compiled engine, threads on
        every core: it releases Python's lock (the GIL), so the runs train side
        by side. Pass e.g. ``ThreadPoolExecutor(max_workers=1)`` for one run at
        a time, or ``dask.distributed.Client(...).get_executor()`` for a
        cluster. Every run's bits depend on its config and seed alone, so the
        rows are the same, in the same order, whatever runs them.

    Returns
    -------
    list of dict
        One ``run_experiment`` row per (combination, seed), combinations outermost;
        after Ctrl-C, those of the runs that finished (with a warning).
    """
    base = _check_config(RunConfig() if base is None else base, "base")
    combos, seeds = _check_grid(grid), _check_seeds(seeds)
    jobs = [(replace(base, **combo), seed) for combo in combos for seed in seeds]
    return _run_jobs(jobs, engine, progress, keep_histories, keep_models, executor)


def compare(settings, base=None, seeds=range(5), datasets=("linear", "xor"), engine="auto"):
    """Each setting on each data set, for every seed: rows with their histories and models.

    Parameters
    ----------
    settings : dict
        Label -> dict of ``RunConfig`` fields, e.g. ``{"adam": {"optimizer": "adam"}}``.
    base : RunConfig, optional
        The fields no setting changes.
    seeds : iterable of int
    datasets : sequence of str

    Returns
    -------
    list of dict
        ``sweep`` rows with their "history" and "model", and their setting's "label".
    """
    base = _check_config(RunConfig() if base is None else base, "base")
    if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
        _refuse("settings", settings, "a dict of label -> dict of RunConfig fields",
                "Pass e.g. settings={'adam': {'optimizer': 'adam'}}.")
    datasets = _check_names(datasets, "datasets", DATASETS, "('linear', 'xor')")
    seeds = _check_seeds(seeds)
    jobs, labels = [], []
    for dataset in datasets:
        for label, setting in settings.items():
            config = _with(replace(base, dataset=dataset), setting, f"settings[{label!r}]")
            jobs += [(config, seed) for seed in seeds]
            labels += [label] * len(seeds)
    rows = _run_jobs(jobs, engine, False, True, True)
    return [{**row, "label": label} for row, label in zip(rows, labels, strict=False)]


def summarize(rows, by, metrics=("final_loss", "mae", "accuracy")):
    """Group ``rows`` by the fields ``by`` and give mean and std of each metric.

    Returns a list of dicts with the ``by`` fields, ``runs``, ``diverged``
    (how many runs diverged) and ``<metric>_mean`` / ``<metric>_std``
    (population std over seeds), in first-appearance order.
    """
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        _refuse("rows", rows, "a list of dicts (run_experiment's rows)",
                "Pass e.g. the list that sweep returns.")
    by, metrics = _check_names(by, "by"), _check_names(metrics, "metrics", hint="('mae',)")
    for row in rows:
        missing = [k for k in (*by, *metrics) if k not in row]
        if missing:
            raise ValueError(f"a row has no field {missing}; its fields are {tuple(row)}. "
                             "Pass by and metrics among them.")
    groups = {}
    for row in rows:
        key = tuple(tuple(row[k]) if isinstance(row[k], list) else row[k] for k in by)
        groups.setdefault(key, []).append(row)       # lists (e.g. from JSON) as tuples
    out = []
    for key, members in groups.items():
        summary = dict(zip(by, key, strict=True), runs=len(members),
                       diverged=sum(r["diverged_at"] is not None for r in members))
        for metric in metrics:
            try:
                values = np.array([r[metric] for r in members], dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"metrics must name numeric fields; {metric!r} holds "
                                 f"{members[0][metric]!r:.40}. Pass e.g. metrics=('mae',)."
                                 ) from None
            summary[metric + "_mean"] = float(np.mean(values))
            summary[metric + "_std"] = float(np.std(values))
        out.append(summary)
    return out


def _text_table(header, lines):
    """Left-aligned columns under a header and a rule of dashes."""
    widths = [max([len(h)] + [len(cells[i]) for cells in lines]) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join(line.rstrip() for line in
                     [fmt.format(*header), rule, *(fmt.format(*cells) for cells in lines)])


def _check_table(summary, by, metrics, digits):
    """The arguments of format_table, checked against ``summary``'s keys."""
    if not isinstance(summary, (list, tuple)) or not all(isinstance(s, dict) for s in summary):
        _refuse("summary", summary, "a list of dicts", "Pass the result of summarize(...).")
    by, metrics = _check_names(by, "by"), _check_names(metrics, "metrics", hint="('mae',)")
    if not (bc._is_int(digits) and 0 <= digits <= 17):
        _refuse("digits", digits, "an integer from 0 to 17", "Pass e.g. digits=4.",
                ValueError if bc._is_int(digits) else TypeError)
    for s in summary:
        missing = [k for k in (*by, *(m + "_mean" for m in metrics), "runs") if k not in s]
        if missing:
            raise ValueError(f"summary has no {missing}; summarize(rows, by, metrics) with the "
                             "same by and metrics makes them.")
    return by, metrics, digits


def format_table(summary, by, metrics=("mae", "accuracy"), digits=4):
    """A plain-text table of ``summarize`` output: one line per group, mean ± std."""
    by, metrics, digits = _check_table(summary, by, metrics, digits)
    header = [*by, *metrics, "runs"]
    lines = []
    for s in summary:
        cells = [str(s[k]) for k in by]
        cells += [f"{s[m + '_mean']:.{digits}f} ± {s[m + '_std']:.{digits}f}" for m in metrics]
        cells.append(str(s["runs"]) + (f" ({s['diverged']} diverged)" if s["diverged"] else ""))
        lines.append(cells)
    return _text_table(header, lines)


def format_comparison(summary, by, reference, metrics=("mae", "accuracy"), digits=4,
                      label="published"):
    """Like ``format_table``, with reference numbers (e.g. a report's) beside ours.

    Parameters
    ----------
    summary : list of dict
        Output of ``summarize``.
    by : sequence of str
        The fields ``summary`` was grouped by.
    reference : dict
        Group -> {metric: value}. A group is the value of its single ``by``
        field, e.g. ``{0.1: {"mae": 0.0762, "accuracy": 0.98}}``, or the tuple
        of its ``by`` values when there are several. Missing entries show "-".
    metrics : sequence of str
        Metrics to show, each as ``summarize`` named it (without _mean/_std).
    digits : int
        Decimals of every number.
    label : str
        Names the reference columns: "<metric> (<label>)".

    Returns
    -------
    str
        One line per group: the ``by`` fields, then for each metric the
        reference value and our mean ± std, then the number of runs.
    """
    by, metrics, digits = _check_table(summary, by, metrics, digits)
    if not isinstance(reference, dict) or not all(
            isinstance(ref, dict) and all(isinstance(v, (int, float)) for v in ref.values())
            for ref in reference.values()):
        _refuse("reference", reference, "a dict of group -> {metric: number}",
                "Pass e.g. reference={0.1: {'mae': 0.0762}}.")
    if not isinstance(label, str):
        _refuse("label", label, "a string", "Pass e.g. label='published'.")
    header = [*by, *(f"{m} ({name})" for m in metrics for name in (label, "ours")), "runs"]
    lines = []
    for s in summary:
        ref = reference.get(s[by[0]] if len(by) == 1 else tuple(s[k] for k in by), {})
        cells = [str(s[k]) for k in by]
        for m in metrics:
            cells.append(f"{ref[m]:.{digits}f}" if m in ref else "-")
            cells.append(f"{s[m + '_mean']:.{digits}f} ± {s[m + '_std']:.{digits}f}")
        cells.append(str(s["runs"]) + (f" ({s['diverged']} diverged)" if s["diverged"] else ""))
        lines.append(cells)
    return _text_table(header, lines)
