"""Checker for the exercise of notebook 01: ``der_sigmoid(y)``."""


import numpy as np

from backprop_core import der_sigmoid, sigmoid
from workbook.checks._common import (
    _array,
    _by_how_much,
    _call,
    _close,
    _Fail,
    _first_match,
    _run_check,
)


def check_der_sigmoid(fn):
    r"""Check a student's ``der_sigmoid(y)`` against ``der_sigmoid``.

    Parameters
    ----------
    fn : callable
        ``fn(y) -> ndarray``, where ``y = sigmoid(x)`` is the sigmoid's OUTPUT,
        an array of any shape; returns :math:`\sigma'(x) = y (1 - y)`, same shape.
        It must not change ``y`` in place.

    Returns
    -------
    bool
        True if ``fn`` agrees with the reference on every case. A verdict is
        printed either way: on a failure it names the case, the error and, if it
        recognises it, the mistake (such as applying sigma' to x instead of sigma(x)).
    """
    return _run_check("check_der_sigmoid", _check_der_sigmoid, fn)


def _der_sigmoid_cases():
    rng = np.random.default_rng(7)
    yield "y of shape (4, 3)", sigmoid(3.0 * rng.standard_normal((4, 3)))
    yield "y of shape (1, 1)", sigmoid(rng.standard_normal((1, 1)))
    yield "a vector y of shape (7,)", sigmoid(2.0 * rng.standard_normal(7))
    yield "edge values y = 0, 1e-12, 0.5, 1 - 1e-12, 1", np.array(
        [0.0, 1e-12, 0.5, 1.0 - 1e-12, 1.0])
    yield "saturated outputs y = σ(±20), σ(±40)", sigmoid(np.array([-40.0, -20.0, 20.0, 40.0]))


def _der_sigmoid_mistakes(y):
    yield ("σ′ applied to x instead of σ(x): you computed σ(y) (1 − σ(y)), as if y were the "
           "pre-activation x. der_sigmoid receives the sigmoid's OUTPUT y = σ(x), so "
           "σ′(x) = y (1 − y), with no σ inside."), der_sigmoid(sigmoid(y))
    yield "you computed 1 − y², the derivative of tanh; the sigmoid's is y (1 − y).", 1.0 - y * y
    yield "the sign is flipped: σ′(x) = y (1 − y) is never negative.", -der_sigmoid(y)
    yield "you computed y (1 + y); the sigmoid's derivative is y (1 − y).", y * (1.0 + y)


_HINTS = {
    "AttributeError": ("der_sigmoid needs no attribute of anything: y is a plain numpy array "
                       "of the sigmoid's outputs, and σ′ in terms of y is arithmetic on y "
                       "alone. (numpy has no np.sigmoid, and you do not need a sigmoid here.)"),
    "shape": ("σ′ is taken elementwise: multiply with *, not with @ or np.dot, so that "
                   "the result has y's shape."),
}


def _check_der_sigmoid(fn, name):
    usage = f"{name}(y)"
    cases = list(_der_sigmoid_cases())
    for i, (label, y) in enumerate(cases, start=1):
        case = f"case {i} of {len(cases)} ({label})"
        y_in = y.copy()
        got = _array(_call(fn, (y_in,), case, usage, _HINTS), f"{name}(y)", y.shape, case,
                     " σ′ is taken elementwise: return an array of y's shape.")
        want = der_sigmoid(y)
        if not _close(got, want):
            message = _first_match(got, _der_sigmoid_mistakes(y), want)
            raise _Fail(f"wrong values on {case}: {_by_how_much(got, want)}.\n  Diagnosis: "
                        + (message or "the sigmoid's derivative, in terms of its output y, "
                           "is y (1 − y)."))
        if not np.array_equal(y_in, y):
            raise _Fail(f"your function changed its argument y in place on {case} (with "
                        "y *= ... or similar). A caller's activations would be overwritten: "
                        "compute a new array instead, e.g. return y * (1 - y).")
    return (f"{name}(y) = y (1 − y) on all {len(cases)} cases, "
            "saturated and edge values included.")
