"""Checker for the momentum update."""


import numpy as np

from backprop_core import PARAM_NAMES
from workbook.checks._common import (
    _array,
    _by_how_much,
    _call,
    _case_model,
    _changed,
    _close,
    _Fail,
    _first_match,
    _run_check,
    _snapshot,
)


def check_step(fn):
    """Check a student's momentum update against ``Model.step`` (the lab's rule).

    Parameters
    ----------
    fn : callable
        ``fn(model, grads) -> None``: for every name in "w1", "b1", ..., "b3",
        ``v <- model.momentum * v + model.lr * grads[name]``, then
        ``theta <- theta - v``, where ``theta`` is ``model.<name>`` and ``v`` is
        ``model.v_<name>``, updating the model's attributes in place.
        Storing the velocity with the opposite sign (v <- mu v - lr g,
        theta <- theta + v) or without the learning rate (v <- mu v + g,
        theta <- theta - lr v) gives the same parameters and is accepted, with a note.

    Returns
    -------
    bool
        True if, over several consecutive steps from zero velocity, the
        parameters follow the reference exactly and the velocities are stored.
        The verdict names a swapped sign or order, the learning rate and the
        momentum swapped, the damped (1 - mu) form, Nesterov's update, plain
        SGD, a missing learning rate, and a hard-coded lr or momentum.
    """
    return _run_check("check_step", _check_step, fn)


_STEP_SPECS = (((5, 10), 0.1, 0.9, 3), ((3, 4), 0.05, 0.5, 3), ((2, 2), 0.2, 0.0, 2))


def _momentum_trajectory(model, grads_seq, rule="lab", lr=None, momentum=None):
    """Parameters after each step under ``rule``, one typical mistake each."""
    lr = model.lr if lr is None else lr
    mu = model.momentum if momentum is None else momentum
    theta = _snapshot(model, PARAM_NAMES)
    v = {k: np.array(getattr(model, "v_" + k), dtype=float, copy=True) for k in PARAM_NAMES}
    out = []
    for grads in grads_seq:
        for k in PARAM_NAMES:
            g = grads[k]
            if rule == "order":             # theta moved with the old velocity
                theta[k] = theta[k] - v[k]
                v[k] = mu * v[k] + lr * g
            elif rule == "sgd":
                theta[k] = theta[k] - lr * g
            elif rule == "swapped":         # eta and mu in each other's place
                v[k] = lr * v[k] + mu * g
                theta[k] = theta[k] - v[k]
            elif rule == "damped":          # v <- mu v + (1 - mu) eta g, an average
                v[k] = mu * v[k] + (1.0 - mu) * lr * g
                theta[k] = theta[k] - v[k]
            elif rule == "nesterov":        # theta moved by the look-ahead mu v + eta g
                v[k] = mu * v[k] + lr * g
                theta[k] = theta[k] - (mu * v[k] + lr * g)
            else:
                v[k] = mu * v[k] + (g if rule == "no_lr" else lr * g)
                theta[k] = theta[k] + v[k] if rule == "ascent" else theta[k] - v[k]
        out.append({k: a.copy() for k, a in theta.items()})
    return out


def _step_mistakes(model, grads_seq):
    """(verdict, trajectory) for each typical mistake; each trajectory is computed only
    when the one before it did not match."""
    mistakes = (
        ({"rule": "ascent"},
         "the momentum sign is swapped: the parameters move uphill, along +g. The lab's "
         "rule is v ← μ v + η g, then θ ← θ − v (or, the same, v ← μ v − η g, then "
         "θ ← θ + v)."),
        ({"rule": "order"},
         "the order is swapped: θ was updated with the OLD velocity. First "
         "v ← μ v + η g, then θ ← θ − v with the new v."),
        ({"rule": "swapped"},
         "the learning rate and the momentum are swapped: you computed v ← η v + μ g. "
         "The momentum μ = model.momentum multiplies the old velocity and the learning rate "
         "η = model.lr the gradient: v ← μ v + η g, then θ ← θ − v."),
        ({"rule": "damped"},
         "the damped form: v ← μ v + (1 − μ) η g (an exponential average of the gradients, "
         "as in Adam or PyTorch's dampening) takes steps 1 − μ times the lab's. The lab "
         "adds the whole η g: v ← μ v + η g, then θ ← θ − v."),
        ({"rule": "nesterov"},
         "Nesterov momentum: you moved θ by the look-ahead μ v + η g. Nesterov's method is "
         "a fine optimiser, but the lab's is the classical one: v ← μ v + η g, then "
         "θ ← θ − v with that v."),
        ({"rule": "sgd"},
         "no momentum: your update is plain SGD, θ ← θ − η g. Keep a velocity per "
         "parameter in model.v_<name>: v ← μ v + η g, then θ ← θ − v."),
        ({"rule": "no_lr"},
         "the learning rate is missing: v ← μ v + η g, with η = model.lr."),
        ({"momentum": 0.9},
         "the momentum is hard-coded as 0.9: use model.momentum, which this case sets to "
         f"{model.momentum:g}."),
        ({"lr": 0.1},
         "the learning rate is hard-coded as 0.1: use model.lr, which this case sets to "
         f"{model.lr:g}."),
    )
    for how, message in mistakes:
        yield message, _momentum_trajectory(model, grads_seq, **how)

_HINTS = {
    "AttributeError": ("the model's parameters are model.w1, model.b1, ..., model.b3, their "
                       "velocities model.v_w1, ..., model.v_b3, and its hyperparameters "
                       "model.lr (η) and model.momentum (μ)."),
    "KeyError": "grads has the keys 'w1', 'b1', 'w2', 'b2', 'w3', 'b3', one per parameter.",
}


def _check_step(fn, name):
    usage = f"{name}(model, grads)"
    notes = set()
    for i, (hidden_size, lr, momentum, steps) in enumerate(_STEP_SPECS, start=1):
        rng = np.random.default_rng(300 + i)
        model = _case_model(hidden_size, rng, lr=lr, momentum=momentum)
        grads_seq = [{k: rng.standard_normal(getattr(model, k).shape) for k in PARAM_NAMES}
                     for _ in range(steps)]
        reference, student = model.copy(), model.copy()
        label = (f"case {i} of {len(_STEP_SPECS)} (hidden {hidden_size}, lr={lr:g}, "
                 f"momentum={momentum:g}, {steps} steps from zero velocity)")
        want_theta, want_v, got_theta, got_v = [], [], [], []
        for t, grads in enumerate(grads_seq, start=1):
            case = f"step {t} of {label}"
            reference._step(grads)
            want_theta.append(_snapshot(reference, PARAM_NAMES))
            want_v.append(_snapshot(reference, ["v_" + k for k in PARAM_NAMES]))
            state = [*PARAM_NAMES, *("v_" + k for k in PARAM_NAMES)]
            before = _snapshot(student, state)
            result = _call(fn, (student, {k: g.copy() for k, g in grads.items()}), case,
                           usage, _HINTS)
            for k in PARAM_NAMES:
                _array(getattr(student, k, None), f"model.{k}", want_theta[-1][k].shape, case)
            if not _changed(before, student):
                returned = (f" It returned a {type(result).__name__}: step changes the model "
                            "it is given and returns None." if result is not None else "")
                raise _Fail(f"the model did not change on {case}. Update its parameters and "
                            "velocities in place, e.g. model.w1 -= model.v_w1 (or assign "
                            f"model.w1 = ...).{returned}")
            got_theta.append(_snapshot(student, PARAM_NAMES))
            got_v.append({"v_" + k: np.array(getattr(student, "v_" + k, np.nan), dtype=float,
                                             copy=True) for k in PARAM_NAMES})
            wrong = [k for k in PARAM_NAMES if not _close(got_theta[-1][k], want_theta[-1][k])]
            if wrong:
                raise _Fail(_step_report(got_theta, want_theta, wrong, model, grads_seq, case))
        notes.add(_velocity_convention(got_v, want_v, lr, label))
    notes.discard(None)
    note = f" Note: {' '.join(sorted(notes))}" if notes else ""
    return (f"{name} follows the lab's momentum update on all {len(_STEP_SPECS)} cases "
            f"(lr and momentum from the model, consecutive steps).{note}")


def _step_report(got_theta, want_theta, wrong, model, grads_seq, case):
    t = len(got_theta)
    lines = [f"wrong parameters after {case}:"]
    for k in PARAM_NAMES:
        status = (f"wrong: {_by_how_much(got_theta[-1][k], want_theta[-1][k])}"
                  if k in wrong else "ok")
        lines.append(f"    {k:<3} {status}")
    message = "\n".join(lines)
    right = [k for k in PARAM_NAMES if k not in wrong]

    def same(a, b):
        return all(_close(x[k], y[k]) for x, y in zip(a, b, strict=True) for k in PARAM_NAMES)

    mistakes = ((m, trajectory[:t]) for m, trajectory in _step_mistakes(model, grads_seq))
    diagnosis = _first_match(got_theta, mistakes, want_theta, compare=same)
    if diagnosis is None and right:
        diagnosis = f"update every parameter the same way: {', '.join(wrong)} went wrong."
    return message + (f"\n  Diagnosis: {diagnosis}" if diagnosis else "")


def _velocity_convention(got_v, want_v, lr, label):
    """None if the velocities are the lab's, a note if they are an equivalent form."""
    conventions = ((1.0, None),
                   (-1.0, "you store the velocity with the opposite sign to the lab "
                          "(v ← μ v − η g, θ ← θ + v): the same update, but your v_* are "
                          "the negatives of Model.step's, so do not mix the two on one "
                          "model."),
                   (1.0 / lr, "you keep the learning rate out of the velocity (v ← μ v + g, "
                              "θ ← θ − η v): the same update at a constant lr, but your v_* "
                              "are Model.step's divided by lr."),
                   (-1.0 / lr, "your velocity is Model.step's divided by −lr: the same "
                               "update at a constant lr."))
    for factor, note in conventions:
        if all(_close(g[k], factor * w[k]) for g, w in zip(got_v, want_v, strict=True)
               for k in w):
            return note
    key = "v_w1"
    if all(np.all(g[key] == 0) for g in got_v):
        raise _Fail(f"the parameters are right on {label}, but model.v_w1 ... model.v_b3 "
                    "stay zero. Keep the velocities in the model (model.v_w1 = ...), so "
                    "that the next step, Model.step and Model.save see them.")
    error = _by_how_much(got_v[-1][key], want_v[-1][key])
    raise _Fail(f"the parameters are right on {label}, but the velocities model.v_* are not "
                f"the lab's (v_w1 after the last step: {error}). "
                "Store v ← μ v + η g in model.v_<name>.")
