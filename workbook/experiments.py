"""Experiments: one run, a grid of runs over seeds, and their tables.

Every hyperparameter of a run sits in one ``RunConfig``; ``run_experiment``
trains it, ``sweep`` runs a grid over seeds, ``summarize`` groups the rows and
``format_table`` / ``format_comparison`` print them beside a report's numbers.
"""

import warnings
from dataclasses import asdict, dataclass, replace
from itertools import product

import numpy as np

import backprop_core as bc
from workbook.datasets import load_dataset


@dataclass(frozen=True)
class RunConfig:
    """One training run, every hyperparameter in one place.

    ``seed`` seeds the data (for "linear"), the initial weights and the
    shuffling, through independent streams of ``np.random.SeedSequence(seed)``.
    """

    dataset: str = "linear"           # one of DATASETS: "linear", "xor", "circle"
    n: int = 100                      # points in the linear set
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


def _prepare_run(config):
    """The data, the model and the shuffling seed of one run, all drawn from ``config.seed``."""
    data_seq, init_seq, shuffle_seq = np.random.SeedSequence(config.seed).spawn(3)
    X, y = load_dataset(config.dataset, config.n, seed=data_seq)
    model = bc.Model(config.hidden_size, lr=config.lr, momentum=config.momentum,
                  activation=config.activation, output_activation=config.output_activation,
                  seed=init_seq, optimizer=config.optimizer, loss=config.loss,
                  init=config.init)
    model.seed = config.seed
    return X, y, model, shuffle_seq


def _train_run(config, X, y, model, shuffle_seq, engine, progress, callback):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # kept in history.diverged_at
        return bc.train(model, X, y, config.epochs, batch_size=config.batch_size,
                     shuffle=config.shuffle, lr_decay=config.lr_decay, seed=shuffle_seq,
                     engine=engine, progress=progress, callback=callback)


def run_experiment(config=None, engine="auto", progress=False, callback=None, **overrides):
    """Train one model as ``config`` says; ``overrides`` replace its fields.

    ``engine``, ``progress`` and ``callback`` are passed to ``train``. A
    divergence does not warn here: it is recorded in the row.

    Returns
    -------
    model : Model
    history : History
    row : dict
        The config's fields plus the final ``final_loss``, ``accuracy``, ``mae``,
        ``diverged_at`` and ``epochs_run``.
    """
    config = replace(config or RunConfig(), **overrides)
    X, y, model, shuffle_seq = _prepare_run(config)
    history = _train_run(config, X, y, model, shuffle_seq, engine, progress, callback)
    row = asdict(config)
    row.update(final_loss=history.loss[-1], accuracy=history.accuracy[-1], mae=history.mae[-1],
               diverged_at=history.diverged_at, epochs_run=history.epochs)
    return model, history, row


def sweep(grid, seeds=range(5), base=None, engine="auto", progress=False,
          keep_histories=False, keep_models=False):
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

    Returns
    -------
    list of dict
        One ``run_experiment`` row per (combination, seed), combinations outermost.
    """
    base = base or RunConfig()
    names = list(grid)
    combos = [dict(zip(names, values, strict=True)) for values in product(*grid.values())]
    jobs = [(combo, seed) for combo in combos for seed in seeds]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), unit="run", leave=False)
    rows = []
    for combo, seed in jobs:
        model, history, row = run_experiment(base, engine=engine, seed=seed, **combo)
        rows.append({**row, **({"history": history} if keep_histories else {}),
                     **({"model": model} if keep_models else {})})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows


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
    base = base or RunConfig()
    return [{**row, "label": label}
            for dataset in datasets for label, setting in settings.items()
            for row in sweep({}, seeds=seeds, base=replace(base, dataset=dataset, **setting),
                             engine=engine, keep_histories=True, keep_models=True)]


def summarize(rows, by, metrics=("final_loss", "mae", "accuracy")):
    """Group ``rows`` by the fields ``by`` and give mean and std of each metric.

    Returns a list of dicts with the ``by`` fields, ``runs``, ``diverged``
    (how many runs diverged) and ``<metric>_mean`` / ``<metric>_std``
    (population std over seeds), in first-appearance order.
    """
    groups = {}
    for row in rows:
        key = tuple(tuple(row[k]) if isinstance(row[k], list) else row[k] for k in by)
        groups.setdefault(key, []).append(row)       # lists (e.g. from JSON) as tuples
    out = []
    for key, members in groups.items():
        summary = dict(zip(by, key, strict=True), runs=len(members),
                       diverged=sum(r["diverged_at"] is not None for r in members))
        for metric in metrics:
            values = np.array([r[metric] for r in members], dtype=float)
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


def format_table(summary, by, metrics=("mae", "accuracy"), digits=4):
    """A plain-text table of ``summarize`` output: one line per group, mean ± std."""
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
