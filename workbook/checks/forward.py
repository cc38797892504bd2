"""Checker for the forward pass."""


import numpy as np

from backprop_core import PARAM_NAMES, sigmoid
from workbook.checks._common import (
    _array,
    _as_numbers,
    _by_how_much,
    _call,
    _case_model,
    _changed,
    _close,
    _describe,
    _Fail,
    _first_match,
    _run_check,
    _snapshot,
)


def check_forward(fn):
    """Check a student's forward pass against ``Model.forward``.

    Parameters
    ----------
    fn : callable
        ``fn(model, X) -> a3``: the lab's forward pass for a sigmoid ``Model``,
        ``a1 = sigmoid(X @ w1 + b1)``, ``a2 = sigmoid(a1 @ w2 + b2)``,
        ``a3 = sigmoid(a2 @ w3 + b3)``, reading ``model.w1`` ... ``model.b3``.
        ``X`` has shape (n, 2); return the output ``a3`` only, shape (n, 1),
        as the lab's ``forward`` does. It must not change the model's parameters.

    Returns
    -------
    bool
        True if ``fn`` agrees with the reference on every case (hidden sizes
        from (1, 1) to (8, 2), one row to six, saturated units); the printed
        verdict names a wrong layer, a missing bias or sigmoid, or a transposed w2.
    """
    return _run_check("check_forward", _check_forward, fn)


_FORWARD_SPECS = (((2, 2), 6, 1.0), ((5, 10), 4, 1.0), ((1, 1), 1, 1.0), ((8, 2), 1, 1.0),
                  ((4, 4), 5, 25.0))   # square layers first: a transposed weight then runs


def _forward_variant(model, X, skip_bias=(), skip_sigmoid=(), transpose=()):
    """The forward pass with typical mistakes in the layers given (numbered 1 to 3)."""
    a = X
    for k, (w, b) in enumerate(((model.w1, model.b1), (model.w2, model.b2),
                                (model.w3, model.b3)), start=1):
        z = a @ (w.T if k in transpose else w) + (0.0 if k in skip_bias else b)
        a = z if k in skip_sigmoid else sigmoid(z)
    return a


def _forward_mistakes(model, X):
    with np.errstate(all="ignore"):
        yield ("no bias in any layer: z_k = a_(k−1) @ w_k + b_k, so add model.b1, model.b2 "
               "and model.b3."), _forward_variant(model, X, skip_bias=(1, 2, 3))
        for k in (1, 2, 3):
            yield (f"the bias b{k} is missing: add model.b{k} in layer {k}."
                   ), _forward_variant(model, X, skip_bias=(k,))
        yield ("no sigmoid on the output: you returned z3 = a2 @ w3 + b3, but the network's "
               "output is a3 = σ(z3)."), _forward_variant(model, X, skip_sigmoid=(3,))
        yield ("no sigmoid in the hidden layers: a1 = σ(z1) and a2 = σ(z2)."
               ), _forward_variant(model, X, skip_sigmoid=(1, 2))
        yield ("no sigmoid at all: without σ the network is one linear map. "
               "Apply σ after every layer."), _forward_variant(model, X, skip_sigmoid=(1, 2, 3))
        for k, cols in ((1, "2, l1"), (2, "l1, l2")):
            w = getattr(model, f"w{k}")
            if w.shape[0] == w.shape[1]:
                yield (f"a transposed matrix: you used w{k}.T. Layer {k} multiplies by w{k} as "
                       f"stored, shape ({cols}), with no .T."
                       ), _forward_variant(model, X, transpose=(k,))


_HINTS = {
    "AttributeError": ("the model's parameters are model.w1, model.b1, model.w2, model.b2, "
                       "model.w3 and model.b3; the sigmoid is bc.sigmoid (numpy has no "
                       "np.sigmoid)."),
}


def _check_forward(fn, name):
    usage = f"{name}(model, X)"
    for i, (hidden_size, n, scale) in enumerate(_FORWARD_SPECS, start=1):
        rng = np.random.default_rng(100 + i)
        model = _case_model(hidden_size, rng, scale)
        X = rng.uniform(-0.5, 1.5, size=(n, 2))                    # (n, 2)
        want = model._forward(X)[3]                                 # (n, 1)
        case = f"case {i} of {len(_FORWARD_SPECS)} ({_describe(hidden_size, n, scale)})"
        student = model.copy()
        before = _snapshot(student, PARAM_NAMES)
        result = _call(fn, (student, X.copy()), case, usage, _HINTS)
        as_array = _as_numbers(result) if isinstance(result, (tuple, list)) else None
        if isinstance(result, (tuple, list)) and len(result) >= 2 and (
                as_array is None or as_array.shape != want.shape):
            last = np.asarray(result[-1]) if result[-1] is not None else None
            extra = (" Its last item is the right output: return just that, a3."
                     if last is not None and last.shape == want.shape
                     and _close(last.astype(float), want) else "")
            raise _Fail(f"your function returned a {type(result).__name__} of "
                        f"{len(result)} items on {case}; {name} should return only the "
                        f"network's output a3, an array of shape {want.shape}, as the lab's "
                        f"forward does.{extra}")
        got = _array(result, "the output", want.shape, case,
                     lambda got, shape=want.shape: f" Keep the column: a3 = σ(a2 @ w3 + b3) "
                     f"already has shape {shape}; do not ravel it or index it with [:, 0]."
                     if got.shape == shape[:1] else "")
        changed = _changed(before, student)
        if changed:
            raise _Fail(f"your function changed model.{', model.'.join(changed)} on {case}. "
                        "The forward pass only reads the parameters.")
        if not _close(got, want):
            message = _first_match(got, _forward_mistakes(model, X), want)
            raise _Fail(f"wrong output on {case}: {_by_how_much(got, want)}.\n  Diagnosis: "
                        + (message or "compute layer by layer: a1 = σ(X @ w1 + b1), "
                           "a2 = σ(a1 @ w2 + b2), a3 = σ(a2 @ w3 + b3), and print each "
                           "shape."))
    return (f"{name}(model, X) matches Model.forward on all {len(_FORWARD_SPECS)} cases "
            "(hidden sizes (1, 1) to (8, 2), 1 to 6 rows, saturated units included).")
