"""Checker for the exercise of notebook 04: one table row, rerun over seeds."""

from dataclasses import fields, replace

import numpy as np

from workbook.checks._common import _call, _Fail, _run_check, _value_text
from workbook.experiments import RunConfig, run_experiment, summarize, sweep

METRICS = ("mae", "accuracy", "final_loss")


def check_rerun_row(fn):
    """Check a student's ``rerun_row(config, seeds, metric)`` against ``workbook.experiments``.

    Parameters
    ----------
    fn : callable
        ``fn(config, seeds, metric) -> (mean, std)``: train the ``RunConfig``
        ``config`` once for every seed in ``seeds`` (``run_experiment(config,
        seed=seed)``) and return the mean and the population standard deviation
        (``np.std``, ddof 0, as the tables print) of the final value of
        ``metric`` ("mae", "accuracy" or "final_loss") over those runs.

    Returns
    -------
    bool
        True if ``fn`` gives the numbers of ``summarize(sweep({}, seeds,
        base=config))`` on every case (small configs, seeds that are not
        0, 1, 2, ..., every metric, a decayed learning rate). The verdict names
        a sample standard deviation, the same seed for every run, seeds 0..k-1
        in place of those given, another metric, the best epoch in place of the
        last, a field of ``config`` left out, and mean and std swapped.
    """
    return _run_check("check_rerun_row", _check_rerun_row, fn)


_CASES = (
    (RunConfig(dataset="xor", hidden_size=(3, 4), lr=1.0, epochs=150), (2, 0, 5), "mae"),
    (RunConfig(dataset="linear", n=40, hidden_size=(5, 10), lr=0.3, epochs=30, lr_decay=0.9),
     (4, 1, 7, 3), "accuracy"),
    (RunConfig(dataset="xor", hidden_size=(2, 2), lr=0.3, momentum=0.5, epochs=40), (6, 8),
     "final_loss"),
)

_HINTS = {
    "AttributeError": ("config is a RunConfig, with the fields config.dataset, config.lr, "
                       "config.hidden_size, ...; run_experiment(config, seed=seed) returns "
                       "(model, history, row), and row is a dict: row['mae'], "
                       "row['accuracy'], row['final_loss']."),
    "KeyError": ("run_experiment returns (model, history, row); the final values are "
                 "row['mae'], row['accuracy'] and row['final_loss']."),
    "TypeError": ("the checker calls your function as rerun_row(config, seeds, metric), with "
                  "a RunConfig, a tuple of seeds and a metric name; train each seed with "
                  "run_experiment(config, seed=seed)."),
}


class _Runs:
    """Final rows and histories of (config, seed) runs, each trained once."""

    def __init__(self):
        self.cache = {}

    def run(self, config, seed):
        key = (config, seed)
        if key not in self.cache:
            _, history, row = run_experiment(config, seed=seed)
            self.cache[key] = (row, history)
        return self.cache[key]

    def values(self, config, seeds, metric, pick=None):
        out = []
        for seed in seeds:
            row, history = self.run(config, seed)
            if pick is None:
                out.append(row[metric])
            else:
                series = {"mae": history.mae, "accuracy": history.accuracy,
                          "final_loss": history.loss}[metric]
                out.append(pick(series))
        return np.array(out, dtype=float)


def _pair(result, case):
    """The (mean, std) the student returned, as two floats."""
    if result is None:
        raise _Fail(f"your function returned None on {case}. Did you forget the `return`? "
                    "Return two numbers: return mean, std.")
    if isinstance(result, dict):
        raise _Fail(f"your function returned a dict on {case}; return two numbers, the mean "
                    "and the std: return mean, std (from summarize's row, for example, "
                    "row['mae_mean'], row['mae_std']).")
    if isinstance(result, (list, tuple, np.ndarray)) and len(result) == 2:
        try:
            mean, std = (float(v) for v in np.asarray(result, dtype=float).ravel())
        except (TypeError, ValueError):
            raise _Fail(f"your function returned {_value_text(result)} on {case}, but its two "
                        "items are not numbers. Return two numbers: mean, std.") from None
        return mean, std
    if isinstance(result, (list, tuple, np.ndarray)):
        raise _Fail(f"your function returned {_value_text(result)} on {case}: the value of "
                    "every run? Return their mean and standard deviation instead, "
                    "np.mean(values), np.std(values).")
    raise _Fail(f"your function returned {_value_text(result)} on {case}; return two "
                "numbers, the mean and the std: return mean, std.")


def _close(a, b):
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _mistakes(runs, config, seeds, metric):
    """(message, (mean, std)) for each typical mistake."""
    def stats(values, ddof=0):
        return float(np.mean(values)), float(np.std(values, ddof=ddof))

    values = runs.values(config, seeds, metric)
    if len(seeds) > 1:
        yield ("the sample standard deviation (ddof=1): the tables print the population "
               "standard deviation over the seeds, np.std(values) (ddof=0), as "
               "experiments.summarize does.", stats(values, ddof=1))
    yield ("mean and std are swapped: return mean, std, in that order.",
           stats(values)[::-1])
    yield (f"every run used the same seed, config.seed = {config.seed}: your runs are "
           "identical, so the std is 0. Pass each seed to the run: "
           "run_experiment(config, seed=seed).",
           stats(runs.values(config, [config.seed] * len(seeds), metric)))
    first = tuple(range(len(seeds)))
    if first != tuple(seeds):
        yield (f"you ran seeds {first[0]} to {first[-1]}, not the seeds given, {list(seeds)}: "
               "loop over the seeds themselves, for seed in seeds.",
               stats(runs.values(config, first, metric)))
    for other in METRICS:
        if other != metric:
            yield (f"you averaged {other}, not {metric}: take row[metric], the metric passed "
                   "in.", stats(runs.values(config, seeds, other)))
    best = max if metric == "accuracy" else min
    yield (f"you took each run's best epoch ({best.__name__} over the history), not its last: "
           "a table row reports where training ended, row[metric].",
           stats(runs.values(config, seeds, metric, pick=best)))
    default = RunConfig()
    for field in fields(RunConfig):
        name = field.name
        if name == "seed" or getattr(config, name) == getattr(default, name):
            continue
        dropped = replace(config, **{name: getattr(default, name)})
        yield (f"config.{name} was left out: your runs used {name} = "
               f"{getattr(default, name)!r}, RunConfig's default, not the config's "
               f"{getattr(config, name)!r}. Pass the config itself: "
               "run_experiment(config, seed=seed).",
               stats(runs.values(dropped, seeds, metric)))


def _check_rerun_row(fn, name):
    usage = f"{name}(config, seeds, metric)"
    runs = _Runs()
    for i, (config, seeds, metric) in enumerate(_CASES, start=1):
        case = (f"case {i} of {len(_CASES)} ({config.dataset}, hidden {config.hidden_size}, "
                f"lr {config.lr:g}, {config.epochs} epochs"
                + (f", lr_decay {config.lr_decay:g}" if config.lr_decay != 1 else "")
                + f", seeds {list(seeds)}, metric {metric!r})")
        reference = summarize(sweep({}, seeds=seeds, base=config), ("dataset",),
                              metrics=(metric,))[0]
        want = (reference[metric + "_mean"], reference[metric + "_std"])
        got = _pair(_call(fn, (config, tuple(seeds), metric), case, usage, _HINTS), case)
        if _close(got, want):
            continue
        diagnosis = next((message for message, wrong in _mistakes(runs, config, seeds, metric)
                          if not _close(wrong, want) and _close(got, wrong)), None)
        raise _Fail(f"wrong numbers on {case}: you returned mean {got[0]:.6g}, std "
                    f"{got[1]:.6g}; the row is mean {want[0]:.6g}, std {want[1]:.6g}.\n"
                    "  Diagnosis: " + (diagnosis or "train run_experiment(config, seed=seed) "
                                       "for each seed, collect row[metric] of each run, and "
                                       "return np.mean and np.std of those values."))
    return (f"{name}(config, seeds, metric) gives the mean and std of summarize(sweep(...)) "
            f"on all {len(_CASES)} cases (any seeds, every metric, a decayed lr).")
