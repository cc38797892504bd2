"""Checker for the backward pass: the six gradients."""


import numpy as np

from backprop_core import PARAM_NAMES, der_sigmoid
from workbook.checks._common import (
    _array,
    _by_how_much,
    _call,
    _case_model,
    _changed,
    _close,
    _describe,
    _Fail,
    _first_match,
    _run_check,
    _sigmoid_forward,
    _snapshot,
)


def check_gradients(fn):
    r"""Check a student's backward pass against ``Model.gradients``.

    Parameters
    ----------
    fn : callable
        ``fn(model, X, y) -> grads``: the six gradients of the lab's loss
        :math:`L = \frac1n \sum_i \tfrac12 (\hat y_i - y_i)^2` for a sigmoid
        ``Model``, ``X`` (n, 2) and labels ``y`` (n, 1), as a dict with the keys
        "w1", "b1", "w2", "b2", "w3", "b3", each of its parameter's shape
        (so ``grads["w2"]`` is dL/dw2, shape (l1, l2), and ``grads["b2"]`` is
        dL/db2, shape (1, l2)). It must not change the model.

    Returns
    -------
    bool
        True if all six gradients agree with the reference on every case
        (batches of 1 to 8 rows, square and non-square layers, saturated units).
        On a failure the verdict lists each gradient as right or wrong, with its
        errors, and names the mistake when it recognises it: sigma' of z instead
        of sigma(z) (in every layer or in one), a missing sigma', a transposed
        matrix, the wrong array in dw_k (z instead of a, or another layer's
        activation), a sum instead of a mean (or the reverse), a missing 1/2, a
        flipped sign.
    """
    return _run_check("check_gradients", _check_gradients, fn)


_GRADIENT_SPECS = (((2, 2), 6, 1.0), ((5, 10), 8, 1.0), ((2, 3), 3, 1.0), ((3, 7), 1, 1.0),
                   ((6, 1), 5, 1.0), ((4, 4), 5, 8.0))   # square first: transposes then run
#: gradient order from the loss backwards, for reports
_BACKWARD_ORDER = ("w3", "b3", "w2", "b2", "w1", "b1")


def _gradients_variant(model, X, y, der_of_z=(), no_der=(), transpose_w2=False, scale=1.0,
                       bias_scale=1.0):
    """``Model._gradients`` for sigmoid and mse, with typical mistakes switched on."""
    n = X.shape[0]
    z1, a1, z2, a2, z3, a3 = _sigmoid_forward(model, X)

    def der(k, z, a):
        if k in no_der:
            return 1.0
        return der_sigmoid(z) if k in der_of_z else der_sigmoid(a)

    dz3 = (a3 - y) * der(3, z3, a3) / n                             # (n, 1)
    dz2 = (dz3 @ model.w3.T) * der(2, z2, a2)                       # (n, l2)
    dz1 = (dz2 @ (model.w2 if transpose_w2 else model.w2.T)) * der(1, z1, a1)   # (n, l1)
    grads = {"w3": a2.T @ dz3, "b3": dz3.sum(axis=0, keepdims=True),
             "w2": a1.T @ dz2, "b2": dz2.sum(axis=0, keepdims=True),
             "w1": X.T @ dz1, "b1": dz1.sum(axis=0, keepdims=True)}
    return {k: v * (bias_scale if k[0] == "b" else 1.0) * scale for k, v in grads.items()}


def _gradient_mistakes(model, X, y):
    n = X.shape[0]

    def variant(**mistake):
        return _gradients_variant(model, X, y, **mistake)

    yield ("σ′ applied to z instead of σ(z), in every layer. der_sigmoid takes the sigmoid's "
           "OUTPUT: use der_sigmoid(a3), der_sigmoid(a2), der_sigmoid(a1), not "
           "der_sigmoid(z3), ...", variant(der_of_z=(1, 2, 3)))
    yield ("σ′ applied to z3 instead of σ(z3) at the output: dz3 = (a3 − y) * "
           "der_sigmoid(a3) / n.", variant(der_of_z=(3,)))
    yield ("σ′ applied to z instead of σ(z) in the hidden layers: use der_sigmoid(a2) and "
           "der_sigmoid(a1), which take the sigmoid's output.", variant(der_of_z=(1, 2)))
    for k, layers in ((1, "dw1 and db1"), (2, "dw2, db2, dw1 and db1")):
        yield (f"σ′ applied to z{k} instead of σ(z{k}) in layer {k}: der_sigmoid(z{k}) computes "
               f"z{k} (1 − z{k}), which is not σ′(z{k}). der_sigmoid takes the sigmoid's OUTPUT: "
               f"dz{k} = (dz{k + 1} @ w{k + 1}.T) * der_sigmoid(a{k}). (This is the bug that "
               f"03's broken backward pass shows: it spoils {layers}, and only those.)",
               variant(der_of_z=(k,)))
    yield ("a missing σ′ factor, in every layer: each delta is multiplied by der_sigmoid of "
           "its layer's output a_k.", variant(no_der=(1, 2, 3)))
    yield ("a missing σ′ factor at the output: dz3 = (a3 − y) * der_sigmoid(a3) / n.",
           variant(no_der=(3,)))
    yield ("a missing σ′ factor in the hidden layers: dz2 = (dz3 @ w3.T) * der_sigmoid(a2) "
           "and dz1 = (dz2 @ w2.T) * der_sigmoid(a1).", variant(no_der=(1, 2)))
    for k, up in ((2, "dz3 @ w3.T"), (1, "dz2 @ w2.T")):
        yield (f"a missing σ′ factor in layer {k}: dz{k} = ({up}) * der_sigmoid(a{k}).",
               variant(no_der=(k,)))
    if model.w2.shape[0] == model.w2.shape[1]:
        yield ("a transposed matrix: the delta flows back through w2 transposed, "
               "dz1 = (dz2 @ w2.T) * der_sigmoid(a1); you used w2 without .T.",
               variant(transpose_w2=True))
    yield (f"a sum where a mean belongs: every gradient is n = {n} times too large. The loss "
           "is the MEAN over the rows of ½(ŷ − y)², so divide the output delta by n: "
           "dz3 = (a3 − y) * der_sigmoid(a3) / n.", variant(scale=n))
    yield (f"a mean where a sum belongs: the bias gradients are n = {n} times too small. The "
           "1/n is already in dz3, so each bias gradient SUMS its delta over the rows: "
           "db_k = dz_k.sum(axis=0, keepdims=True).", variant(bias_scale=1.0 / n))
    yield (f"a mean where a sum belongs: every gradient is n = {n} times too small; you "
           "divided by n twice. Divide once, in dz3, then sum over the rows.",
           variant(scale=1.0 / n))
    yield ("every gradient is 2 times too large: you differentiated (ŷ − y)² without the ½ "
           "of the lab's loss L = mean of ½(ŷ − y)², whose derivative is (ŷ − y).",
           variant(scale=2.0))
    yield ("the sign is flipped: dL/dŷ = a3 − y, not y − a3.", variant(scale=-1.0))


def _gradient_shape_hint(key, shape, got):
    got = np.asarray(got)
    layer = key[1]
    if key[0] == "b" and got.shape == shape[1:]:
        return (f" Keep the row axis: db{layer} = dz{layer}.sum(axis=0, keepdims=True). "
                "(The lab's listing drops it; Model.step needs the parameter's shape.)")
    if key[0] == "b" and got.ndim == 2 and got.shape[1] == shape[1]:
        return (f" The bias gradient sums its delta over the rows: "
                f"db{layer} = dz{layer}.sum(axis=0, keepdims=True).")
    if key[0] == "w" and got.shape == shape[::-1]:
        inputs = {"1": "X", "2": "a1", "3": "a2"}[layer]
        return (f" It is transposed: dw{layer} = {inputs}.T @ dz{layer}, with the shape of "
                f"w{layer}, not dz{layer}.T @ {inputs}.")
    return ""


_HINTS = {
    "AttributeError": ("the model's parameters are model.w1, model.b1, ..., model.b3; the "
                       "sigmoid and its derivative are bc.sigmoid and bc.der_sigmoid (numpy has "
                       "neither)."),
    "KeyError": ("return a dict with exactly the keys 'w1', 'b1', 'w2', 'b2', 'w3', 'b3', one "
                 "gradient per parameter."),
}


def _check_gradients(fn, name):
    usage = f"{name}(model, X, y)"
    for i, (hidden_size, n, scale) in enumerate(_GRADIENT_SPECS, start=1):
        rng = np.random.default_rng(200 + i)
        model = _case_model(hidden_size, rng, scale)
        X = rng.uniform(-0.5, 1.5, size=(n, 2))                    # (n, 2)
        y = rng.integers(0, 2, size=(n, 1)).astype(float)           # (n, 1)
        want = model._gradients(X, y)
        case = f"case {i} of {len(_GRADIENT_SPECS)} ({_describe(hidden_size, n, scale)})"
        student = model.copy()
        before = _snapshot(student, PARAM_NAMES)
        grads = _call(fn, (student, X.copy(), y.copy()), case, usage, _HINTS)
        if grads is None:
            raise _Fail(f"your function returned None on {case}. Did you forget `return "
                        "grads`? Return a dict: {'w1': dw1, 'b1': db1, ..., 'b3': db3}.")
        if not isinstance(grads, dict):
            raise _Fail(f"your function returned a {type(grads).__name__} on {case}; it "
                        "should return a dict {'w1': dw1, 'b1': db1, 'w2': dw2, 'b2': db2, "
                        "'w3': dw3, 'b3': db3}.")
        if set(grads) != set(PARAM_NAMES):
            got_keys = sorted(map(str, grads))
            renamed = all(str(k).removeprefix("grad_").removeprefix("d") in PARAM_NAMES
                          for k in grads)
            hint = (" Name each gradient after its parameter: 'w1', not 'dw1'."
                    if renamed and len(grads) == 6 else "")
            raise _Fail(f"the dict your function returned has the keys {got_keys}; expected "
                        f"exactly {list(PARAM_NAMES)}.{hint}")
        got = {}
        for key in _BACKWARD_ORDER:
            value = grads[key]
            if isinstance(value, np.ndarray) and value.shape != want[key].shape and (
                    value.shape == want[key].shape[::-1]) and _close(value.T.astype(float),
                                                                     want[key]):
                raise _Fail(f"d{key} has the wrong shape on {case}: got {value.shape}, "
                            f"expected {want[key].shape}."
                            + _gradient_shape_hint(key, want[key].shape, value))
            got[key] = _array(value, f"d{key}", want[key].shape, case,
                              lambda v, key=key, shape=want[key].shape:
                              _gradient_shape_hint(key, shape, v))
        changed = _changed(before, student)
        if changed:
            raise _Fail(f"your function changed model.{', model.'.join(changed)} on {case}. "
                        "Computing gradients only reads the parameters: the update belongs "
                        "in step.")
        wrong = [k for k in _BACKWARD_ORDER if not _close(got[k], want[k])]
        if wrong:
            raise _Fail(_gradient_report(got, want, wrong, model, X, y, case))
    return (f"all six gradients match Model.gradients on all {len(_GRADIENT_SPECS)} cases "
            "(batches of 1 to 8 rows, square and non-square layers, saturated units).")


def _wrong_inputs(got, wrong, model, X, y):
    """{"wk": message} for each wrong dw_k that is ``v.T @ dz_k`` for the wrong array ``v``:
    an activation of another layer, or a pre-activation z where its a = σ(z) belongs."""
    z1, a1, z2, a2, z3, a3 = _sigmoid_forward(model, X)
    n = X.shape[0]
    dz3 = (a3 - y) * der_sigmoid(a3) / n                            # (n, 1)
    dz2 = (dz3 @ model.w3.T) * der_sigmoid(a2)                      # (n, l2)
    dz1 = (dz2 @ model.w2.T) * der_sigmoid(a1)                      # (n, l1)
    arrays = {"X": X, "z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": a3}
    right = {1: "X", 2: "a1", 3: "a2"}
    found = {}
    for k, dz in ((1, dz1), (2, dz2), (3, dz3)):
        key = f"w{k}"
        if key not in wrong:
            continue
        for label, v in arrays.items():
            if label == right[k] or v.shape[1] != got[key].shape[0]:
                continue
            if _close(got[key], v.T @ dz):
                why = (f"{right[k]} = σ({label}) is layer {k}'s input, not {label} itself"
                       if label == "z" + right[k][1:] and k > 1 else
                       f"layer {k}'s input is {right[k]}" + (" (a0 = X)" if k == 1 else ""))
                found[key] = (f"d{key} = {label}.T @ dz{k} multiplies by the wrong array: "
                              f"{why}, so d{key} = {right[k]}.T @ dz{k}")
                break
    return found


def _gradient_report(got, want, wrong, model, X, y, case):
    lines = [f"wrong gradients on {case}:"]
    for key in _BACKWARD_ORDER:
        status = (f"wrong: {_by_how_much(got[key], want[key])}" if key in wrong else "ok")
        lines.append(f"    d{key:<3} {status}")

    def same(a, b):
        return all(_close(a[k], b[k]) for k in PARAM_NAMES)

    with np.errstate(all="ignore"):
        message = _first_match(got, _gradient_mistakes(model, X, y), want, compare=same)
    if message is None:
        first = wrong[0]
        message = (f"the first wrong gradient, going back from the loss, is d{first}: "
                   f"look at layer {first[1]}, and at the delta that flows into it.")
        factors = []
        inputs_used = _wrong_inputs(got, wrong, model, X, y)
        for key in wrong:
            if key in inputs_used:
                factors.append(inputs_used[key])
                continue
            if key[0] == "w" and _close(got[key], want[key].T):
                inputs = {"1": "X", "2": "a1", "3": "a2"}[key[1]]
                factors.append(f"d{key} is the transpose of the right answer: "
                               f"d{key} = {inputs}.T @ dz{key[1]}")
                continue
            r = want[key].ravel()
            c = float(got[key].ravel() @ r / (r @ r)) if r @ r > 0 else 0.0
            if abs(c) > 1e-12 and _close(got[key], c * want[key]):
                factors.append(f"d{key} is {c:.4g} times the right value")
        if factors and set(inputs_used) == set(wrong):      # the whole story: say only that
            message = "; ".join(factors) + "."
        elif factors:
            message += " " + "; ".join(factors) + "."
    lines.append("  Diagnosis: " + message)
    return "\n".join(lines)
