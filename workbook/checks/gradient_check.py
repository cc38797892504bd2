"""Checker for central finite differences."""


import numpy as np

from workbook.checks._common import (
    _array,
    _by_how_much,
    _call,
    _case_model,
    _Fail,
    _first_match,
    _run_check,
)


def check_gradient_check(fn):
    r"""Check a student's central finite differences.

    Parameters
    ----------
    fn : callable
        ``fn(f, x, eps) -> ndarray``: the numerical gradient of the scalar
        function ``f`` at the float array ``x`` (any shape), one element at a
        time, by central differences
        :math:`(f(x + \epsilon e_i) - f(x - \epsilon e_i)) / (2\epsilon)`;
        same shape as ``x``. It may perturb ``x`` in place but must restore it.

    Returns
    -------
    bool
        True if ``fn`` is as accurate as central differences on every case
        (a vector, a (1, 1) array, a coupled matrix function, the network's
        loss as a function of w2), and leaves ``x`` as it found it. The verdict
        names a one-sided difference, a missing factor 2, perturbing every
        element at once, a loop over the rows of a 2-D ``x`` (with a row view
        saved as the old value, or not), an ignored ``eps``, an ``x`` never
        restored, and one restored by arithmetic that rounds.
    """
    return _run_check("check_gradient_check", _check_gradient_check, fn)


def _central(f, x, eps):
    """Reference central differences (x is copied, never changed)."""
    x = np.array(x, dtype=float, copy=True)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _one_sided(f, x, eps):
    """(f(x + eps e_i) - f(x)) / eps; with a negative eps, the backward difference."""
    x = np.array(x, dtype=float, copy=True)
    f0, grad = f(x), np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        grad[idx] = (f(x) - f0) / eps
        x[idx] = old
    return grad


def _rows_at_once(f, x, eps, view=False):
    """The loop ``for i in range(len(x))`` on a 2-D x, where ``x[i]`` is a whole row.

    With ``view=False`` every row is perturbed by ±eps and restored; with
    ``view=True`` the saved ``old = x[i]`` is a view of the row, so that
    ``x[i] = old - eps`` restores it instead: (f(x + eps row) - f(x)) / (2 eps).
    """
    x = np.array(x, dtype=float, copy=True)
    grad = np.zeros_like(x)
    for i in range(len(x)):
        old = x[i].copy()
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old if view else old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def _second_derivatives(f, x, h=1e-3):
    """Diagonal second derivatives, by the three-point stencil."""
    x = np.array(x, dtype=float, copy=True)
    f0, out = f(x), np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        out[idx] = (f_plus - 2.0 * f0 + f(x)) / (h * h)
        x[idx] = old
    return out


def _gradient_check_cases():
    rng = np.random.default_rng(400)
    x = rng.uniform(-1.5, 1.5, size=6)
    yield ("f(x) = Σ sin(3x) + x³/3 on a vector of shape (6,)",
           lambda x: float(np.sum(np.sin(3.0 * x) + x ** 3 / 3.0)), x,
           3.0 * np.cos(3.0 * x) + x ** 2)
    x = rng.uniform(-1.0, 1.0, size=(1, 1))
    yield ("f(x) = exp(2x) on an array of shape (1, 1)",
           lambda x: float(np.sum(np.exp(2.0 * x))), x, 2.0 * np.exp(2.0 * x))
    x = rng.uniform(0.5, 1.5, size=(2, 2))
    yield ("the coupled f(x) = x00 x01² + x10 exp(x11) on a (2, 2) matrix",
           lambda x: float(x[0, 0] * x[0, 1] ** 2 + x[1, 0] * np.exp(x[1, 1])), x,
           np.array([[x[0, 1] ** 2, 2.0 * x[0, 0] * x[0, 1]],
                     [np.exp(x[1, 1]), x[1, 0] * np.exp(x[1, 1])]]))
    model = _case_model((3, 4), rng, scale=2.0)
    X = rng.uniform(0.0, 1.0, size=(5, 2))
    y = rng.integers(0, 2, size=(5, 1)).astype(float)

    def loss_of_w2(w2):
        net = model.copy()
        net.w2 = np.array(w2, dtype=float)
        return net._loss(*net._forward(X)[2:], y)

    yield ("the network's loss as a function of w2, shape (3, 4)", loss_of_w2,
           model.w2.copy(), model._gradients(X, y)["w2"])


_HINTS = {
    "AttributeError": ("x is a numpy array and f a function that you call as f(x); neither "
                       "needs an attribute beyond x.shape."),
    "shape": ("f takes an array of x's shape and returns one number: perturb one "
                   "element of x at a time, x[i] with i from np.ndindex(x.shape), and call "
                   "f(x) on the whole array."),
}


_ROWS = "for i in range(len(x)) runs over the ROWS of a 2-D x, and x[i] is a whole row: "


def _check_gradient_check(fn, name):
    eps = 1e-4
    usage = f"{name}(f, x, eps)"
    cases = list(_gradient_check_cases())
    for i, (label, f, x0, exact) in enumerate(cases, start=1):
        case = f"case {i} of {len(cases)} ({label}, eps={eps:g})"
        x_in = x0.copy()
        got = _array(_call(fn, (f, x_in, eps), case, usage, _HINTS), "the numerical gradient",
                     x0.shape, case, " Return one derivative per element of x, in x's shape "
                     "(np.zeros_like(x) is a good start).")
        central = _central(f, x0, eps)
        scale = 1.0 + float(np.max(np.abs(exact)))
        tolerance = 10.0 * float(np.max(np.abs(central - exact))) + 1e-8 * scale
        right = float(np.max(np.abs(got - exact))) <= tolerance
        if right and np.array_equal(x_in, x0):
            continue
        message = (f"wrong values on {case}: {_by_how_much(got, exact)} against the exact "
                   f"gradient, where central differences with this eps are within "
                   f"{float(np.max(np.abs(central - exact))):.2g}.")
        diagnosis = (None if right else
                     _gradient_check_diagnosis(f, x0, eps, got, central, exact))
        if not np.array_equal(x_in, x0) and not (diagnosis or "").startswith(_ROWS):
            raise _Fail(_changed_x_message(x_in, x0, eps, case))   # the mistake that explains
        raise _Fail(message + "\n  Diagnosis: " + diagnosis)           # both comes first
    return (f"{name}(f, x, eps) gives central differences on all {len(cases)} cases, "
            "and leaves x as it found it.")


def _changed_x_message(x_in, x0, eps, case):
    """Why x came back changed: never restored, or restored by arithmetic that rounds."""
    change = float(np.max(np.abs(x_in - x0)))
    if change < 1e-3 * eps:
        return (f"your function left x changed on {case}, by at most {change:.2g}: a rounding "
                "error. Putting x[i] back by arithmetic (x[i] += ε, then x[i] -= 2ε, then "
                "x[i] += ε) rounds at every step, so x[i] + ε − ε is not always exactly x[i] "
                "in floating point. Save the old value first, old = x[i], and restore it "
                "with x[i] = old.")
    return (f"your function left x changed on {case} (max change {change:.2g}, about "
            f"{change / eps:.2g} ε): x[i] is never put back. Save the old value, old = x[i], "
            "and after the two evaluations of f restore it with x[i] = old, before the next "
            "element.")


def _gradient_check_diagnosis(f, x0, eps, got, central, exact):
    central_rule = "(f(x + ε e_i) − f(x − ε e_i)) / (2ε)"
    ones = np.ones_like(x0)
    all_at_once = np.full_like(x0, (f(x0 + eps * ones) - f(x0 - eps * ones)) / (2.0 * eps))
    mistakes = [
        ("a one-sided (forward) difference: (f(x + ε e_i) − f(x)) / ε is off by about "
         f"ε/2 · f''(x); the central difference {central_rule} by about ε²/6 · f'''(x), "
         "far less.", _one_sided(f, x0, eps)),
        ("a one-sided (backward) difference: (f(x) − f(x − ε e_i)) / ε is off by about "
         f"ε/2 · f''(x); use the central difference {central_rule}.",
         _one_sided(f, x0, -eps)),
        (f"twice the derivative: you divided by ε; the central difference divides by 2ε: "
         f"{central_rule}.", 2.0 * central),
        ("every element perturbed at once: x + ε changes all of x, so each entry gets the "
         "sum of all the partial derivatives. Perturb one element at a time (x[i] += ε, "
         "then restore it).", all_at_once),
    ]
    mistakes += [(f"eps is ignored: your result is the central difference with ε = {e:g}, "
                  f"not the ε = {eps:g} passed in. Use the eps argument.", _central(f, x0, e))
                 for e in (1e-1, 1e-2, 1e-3)]
    if x0.ndim == 2:
        loop = _ROWS
        every = ("Loop over single elements instead, for i in np.ndindex(x.shape), where "
                 "x[i] is one number.")
        mistakes += [
            (loop + "`old = x[i]` is then a view of that row, not a copy, so it changes when "
             "x[i] does: x[i] = old − ε puts back the original instead of going below it, "
             "and every element of the row gets (f(x + ε row) − f(x)) / 2ε. " + every,
             _rows_at_once(f, x0, eps, view=True)),
            (loop + "your loop perturbs every element of row i at once, so each entry gets "
             "the sum of the partial derivatives of its row. " + every,
             _rows_at_once(f, x0, eps)),
        ]

    def close(a, b):
        return bool(np.allclose(a, b, rtol=1e-7, atol=1e-10))

    message = _first_match(got, mistakes, central, compare=close)
    if message:
        return message
    # A one-sided difference with some other step h is off by h/2 f''(x), elementwise.
    curvature = _second_derivatives(f, x0)
    residual = (got - exact).ravel()
    c = curvature.ravel()
    if c @ c > 0 and residual @ residual > 0:
        h = 2.0 * float(residual @ c / (c @ c))
        fit = np.linalg.norm(residual - h / 2.0 * c) / np.linalg.norm(residual)
        # Name it only if a one-sided difference with that step does give the answer.
        if fit < 0.05 and 0 < abs(h) < 0.05 and np.allclose(
                got, _one_sided(f, x0, h), rtol=0.05, atol=1e-3 * abs(h)):
            kind = "forward" if h > 0 else "backward"
            return (f"a one-sided ({kind}) difference, with a step of about {abs(h):.2g}: "
                    "the error is proportional to f''(x), as for (f(x + h) − f(x)) / h. "
                    f"Use the central difference {central_rule} with the eps passed in.")
    return (f"use the central difference {central_rule}, one element at a time, with the "
            "eps passed in, and restore x[i] after each one.")
