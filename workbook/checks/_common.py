"""What every exercise checker shares: running the student's code, verdicts, hints."""

import math
import os
import re
import warnings

import numpy as np

import backprop_core
from backprop_core import Model, rel_error, sigmoid

_RTOL, _ATOL = 1e-6, 1e-9      # float64 re-implementations agree far closer than this


class _Fail(Exception):
    """Stops a check at the first failure; its message is the verdict."""


def _run_check(title, body, fn):
    """Run ``body(fn, name)``, print the verdict and return True or False."""
    name = getattr(fn, "__name__", "")
    name = name if name.isidentifier() else "your_function"
    if not callable(fn):
        print(_scrub(f"✗ {title}: expected your function, got {_value_text(fn)}. Pass the "
                     f"function itself, without calling it: {title}(my_function)."))
        return False
    try:
        message = body(fn, name)
    except _Fail as fail:
        print(_scrub(f"✗ {title}: {fail}"))
        return False
    print(_scrub(f"✓ {title}: {message}"))
    return True


_ADDRESS = re.compile(r"<(?:(?:bound )?(?:function|method|built-in function|class)\s+)?"
                      r"(?P<name>[\w.<>]+?)(?: of <[^<>]*>)?(?:\s+object)?\s+at\s+0x[0-9a-fA-F]+>")


def _scrub(text):
    """``text`` without object reprs that show a memory address: the name stays."""
    text = _ADDRESS.sub(lambda m: "`" + m.group("name").rpartition(".")[2] + "`", str(text))
    return re.sub(r"\s+at\s+0x[0-9a-fA-F]+", "", text)


def _value_text(value):
    """A short description of a value for a verdict: never a repr with an address."""
    if value is None or isinstance(value, (bool, int, float, complex, np.generic)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, str):
        return f"the string {_short(repr(value), 40)}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value)} items"
    if callable(value):
        return f"the {type(value).__name__} `{getattr(value, '__name__', '?')}`"
    return f"a {type(value).__name__} object"


def _short(text, limit=240):
    text = " ".join(_scrub(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _where(exc):
    """The innermost frame outside numpy and this module: (' (in `fn`, at `line`)', line)."""
    import traceback
    np_dir = os.path.dirname(np.__file__)
    here = os.path.dirname(os.path.dirname(__file__))   # the workbook's and the core's frames
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((here, np_dir, backprop_core.__file__))]
    if not frames:
        return "", ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    where = _FRAME_NAMES.get(frame.name, f"`{frame.name.strip('<>')}`")
    return f" (in {where}" + (f", at `{line}`)" if line else ")"), line


_FRAME_NAMES = {"<lambda>": "a lambda", "<listcomp>": "a list comprehension",
                "<genexpr>": "a generator expression", "<dictcomp>": "a dict comprehension",
                "<setcomp>": "a set comprehension", "<module>": "the cell"}


def _hint(exc, usage, line="", hints=None):
    """Advice for an exception raised by the student's code. ``hints`` maps an exception
    class name (or "shape", for numpy's shape errors) to the exercise's own advice, which
    replaces the generic one."""
    text = str(exc)
    hints = hints or {}
    shapes = isinstance(exc, ValueError) and any(w in text for w in ("matmul", "shape",
                                                                     "broadcast", "align"))
    own = hints.get("shape") if shapes else hints.get(type(exc).__name__)
    if own:
        return own
    if shapes and ".T" in line:
        return ("you transposed a matrix on that line. In the forward pass each weight is used "
                "as stored (a @ w_k); in the backward pass the delta flows back through "
                "w_k.T and dw_k = a_(k-1).T @ dz_k. Check the shapes: X (n, 2), w1 (2, l1), "
                "w2 (l1, l2), w3 (l2, 1).")
    if shapes:
        return ("a matrix product A @ B needs A's columns to equal B's rows. The shapes are "
                "X (n, 2), w1 (2, l1), w2 (l1, l2), w3 (l2, 1), b_k (1, l_k); write the shape "
                "of each array beside its line, as in Model.gradients.")
    if isinstance(exc, TypeError):
        return (f"the checker calls your function as {usage}. Check its parameters, and "
                "that every step works on numpy arrays (not None or lists).")
    if isinstance(exc, NameError):
        return ("a name is not defined: run the cells that define it first, "
                "and `import numpy as np` if you use np.")
    if isinstance(exc, AttributeError):
        missing = getattr(exc, "name", None)
        what = f"`{missing}`" if missing else "the name after the dot"
        return (f"{what} does not exist on that object: print the object's type, and check "
                "the spelling of the name after the dot.")
    if isinstance(exc, KeyError):
        return f"the key {_short(exc, 40)} is not in that dict: print its keys."
    if isinstance(exc, IndexError):
        return "an index is out of range: print the shapes of the arrays you index."
    return f"call it by hand as {usage} on a small input and read the message."


def _call(fn, args, case, usage, hints=None):
    """``fn(*args)``, with the student's exceptions turned into a friendly verdict;
    ``hints`` as in ``_hint``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")     # e.g. overflow in a hand-written sigmoid
        try:
            return fn(*args)
        except NotImplementedError as exc:
            what = f" ({_short(exc, 120)})" if str(exc) else ""
            raise _Fail(f"not implemented yet{what}. Replace the `raise "
                        "NotImplementedError` line with your code, run that cell, "
                        "then run this check again.") from None
        except Exception as exc:            # the student's bug, reported, not re-raised
            where, line = _where(exc)
            raise _Fail(f"your function raised {type(exc).__name__}: {_short(exc)}"
                        f"{where} on {case}. Hint: {_hint(exc, usage, line, hints)}") from None


def _close(got, want):
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=_RTOL, atol=_ATOL))


def _by_how_much(got, want):
    with np.errstate(all="ignore"):
        abs_err = float(np.max(np.abs(got - want)))
    return f"max abs error {abs_err:.2g}, max rel error {rel_error(got, want):.2g}"


def _array(got, what, shape, case, shape_hint=""):
    """Check that ``got`` is a float array of ``shape``; return it as float64."""
    if got is None:
        raise _Fail(f"{what} is None on {case}: your function returns nothing. "
                    "Did you forget the `return` statement?")
    if isinstance(got, (tuple, list)):
        raise _Fail(_sequence_message(got, what, shape, case))
    if not isinstance(got, (np.ndarray, np.generic, float, int)) or isinstance(got, bool) or (
            not np.issubdtype(np.asarray(got).dtype, np.number)):
        raise _Fail(f"{what} should be a numpy array of numbers, shape {shape}; your function "
                    f"returned {_value_text(got)} on {case}.")
    got = np.asarray(got, dtype=float)
    if got.shape != tuple(shape):
        hint = shape_hint(got) if callable(shape_hint) else shape_hint
        if got.size == math.prod(shape):
            hint = hint or (" It has the right number of entries: check where it lost or "
                            "gained an axis.")
        raise _Fail(f"{what} has the wrong shape on {case}: got {got.shape}, expected "
                    f"{tuple(shape)}.{hint}")
    if not np.all(np.isfinite(got)):
        raise _Fail(f"{what} contains NaN or inf on {case}, where the reference is finite. "
                    "Look for a division by zero or an exp that overflows.")
    return got


def _as_numbers(seq):
    """``seq`` as a float array, or None if it is not a (nested) sequence of numbers."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.asarray(seq, dtype=float)
    except (TypeError, ValueError):
        return None
    return array


def _sequence_message(got, what, shape, case):
    """The verdict for a list or tuple where one array of ``shape`` belongs."""
    kind = type(got).__name__
    array = _as_numbers(got)
    if array is not None and array.shape == tuple(shape):
        if any(isinstance(v, np.ndarray) for v in got):
            return (f"{what} should be a numpy array of shape {shape}, but your function "
                    f"returned a Python {kind} of {len(got)} arrays on {case} (what list(a) or "
                    "a list comprehension gives). Return one array: compute it with array "
                    "arithmetic on the whole input, with no loop over its rows.")
        return (f"{what} should be a numpy array of shape {shape}, but your function returned "
                f"a Python {kind} of numbers on {case} (the kind that .tolist() makes). "
                "Return the numpy array itself: the code that uses it needs array "
                "arithmetic and .shape.")
    return (f"{what} should be a numpy array of shape {shape}, but your function returned a "
            f"{kind} of {len(got)} items on {case}. Return one array.")


def _first_match(got, mistakes, reference, compare=_close):
    """The message of the first mistake whose answer differs from the reference
    but equals ``got``; ``mistakes`` yields (message, answer) pairs."""
    for message, wrong in mistakes:
        if wrong is not None and not compare(wrong, reference) and compare(got, wrong):
            return message
    return None


def _snapshot(obj, names):
    return {k: np.array(getattr(obj, k), dtype=float, copy=True) for k in names}


def _changed(before, obj):
    return [k for k, v in before.items()
            if not np.array_equal(np.asarray(getattr(obj, k)), v, equal_nan=True)]


def _case_model(hidden_size, rng, scale=1.0, lr=0.1, momentum=0.9):
    """A sigmoid model with random non-zero biases, so that a forgotten bias shows."""
    model = Model(hidden_size, lr=lr, momentum=momentum, activation="sigmoid",
                  output_activation="sigmoid", seed=rng.integers(2**31), optimizer="momentum",
                  loss="mse", init="normal")
    for k in (1, 2, 3):
        w, b = f"w{k}", f"b{k}"
        setattr(model, w, scale * getattr(model, w))
        setattr(model, b, scale * 0.5 * rng.standard_normal(getattr(model, b).shape))
    return model


def _sigmoid_forward(model, X):
    """The lab's forward pass (sigmoid, every layer), keeping every z and a:
    ``(z1, a1, z2, a2, z3, a3)``."""
    z1 = X @ model.w1 + model.b1                                    # (n, l1)
    a1 = sigmoid(z1)
    z2 = a1 @ model.w2 + model.b2                                   # (n, l2)
    a2 = sigmoid(z2)
    z3 = a2 @ model.w3 + model.b3                                   # (n, 1)
    a3 = sigmoid(z3)
    return z1, a1, z2, a2, z3, a3


def _describe(hidden_size, n, scale):
    rows = "1 row" if n == 1 else f"{n} rows"
    return f"hidden {hidden_size} with {rows}" + (" and saturated units" if scale > 1 else "")
