"""One sample through the lab's network, one number at a time: the stepper's record.

``trace(model, x, y)`` runs the forward and the backward pass of the lab's
network (sigmoid hidden layers, sigmoid output, squared error) on a single
sample with scalar arithmetic, unit by unit, and records every number it
computes as a ``Step``, in the order back-propagation computes them: every
``z`` and ``a``, the loss, then every gradient, each with its equation and the
numbers substituted, for example::

    dz2[1] = da2[1] · σ′(z2[1]) = da2[1] · a2[1] (1 - a2[1]) = 0.137 · 0.2491 = 0.0341

The loops are written out on purpose, one sum per unit in a fixed order, so
that the record is a computation of its own: the tests compare it with
``Model.forward`` and ``Model.gradients``. ``workbook.plots.draw_stepper``
draws a record up to a step; ``workbook.widgets.backprop_stepper`` steps through it
with buttons. With one sample, n = 1, so L = 1/2 (a3 - y)^2 and no mean.
"""

from dataclasses import dataclass

import numpy as np

import backprop_core as bc

# the arrays of one sample, in the shapes of Model._gradients with n = 1
FORWARD_ARRAYS = ("z1", "a1", "z2", "a2", "z3", "a3", "L")
GRADIENT_ARRAYS = ("da3", "dz3", "dw3", "db3", "da2", "dz2", "dw2", "db2",
                   "da1", "dz1", "dw1", "db1")


@dataclass(frozen=True)
class Step:
    """One number of the computation.

    ``array`` and ``index`` place it in the arrays of ``Model._gradients`` for
    one sample (``z2`` is (1, l2), ``dw2`` is (l1, l2), ``L`` is ()), ``name`` is
    how the equations write it (``z2[1]``, ``dw2[0,1]``, ``z3``), ``reads``
    names the numbers its equation uses.
    """

    phase: str              # "forward" or "backward"
    array: str
    index: tuple
    name: str
    value: float
    equation: str
    reads: tuple


@dataclass
class Trace:
    """The record of one sample: its inputs, the parameters and every ``Step``, in order."""

    x: np.ndarray           # (2,)
    y: float
    params: dict            # name -> a copy of the model's array
    steps: list

    @property
    def hidden_size(self):
        """(l1, l2)."""
        return self.params["w2"].shape

    @property
    def n_forward(self):
        """How many steps the forward pass takes (the loss included)."""
        return sum(step.phase == "forward" for step in self.steps)

    def known(self, upto):
        """name -> value of the numbers computed by the first ``upto`` steps."""
        return {step.name: step.value for step in self.steps[:upto]}

    def arrays(self):
        """Array name -> ndarray of every computed number, in ``Model._gradients``'s shapes."""
        l1, l2 = self.hidden_size
        shapes = {"z1": (1, l1), "a1": (1, l1), "z2": (1, l2), "a2": (1, l2), "z3": (1, 1),
                  "a3": (1, 1), "L": (), "da3": (1, 1), "dz3": (1, 1), "dw3": (l2, 1),
                  "db3": (1, 1), "da2": (1, l2), "dz2": (1, l2), "dw2": (l1, l2),
                  "db2": (1, l2), "da1": (1, l1), "dz1": (1, l1), "dw1": (2, l1),
                  "db1": (1, l1)}
        out = {name: np.full(shape, np.nan) for name, shape in shapes.items()}
        for step in self.steps:
            out[step.array][step.index] = step.value
        return out


def name_of(array, index):
    """How the equations write element ``index`` of ``array``: ``z2[1]``, ``dw2[0,1]``, ``z3``."""
    layer = array.lstrip("d")
    if layer in ("z3", "a3", "b3", "L"):
        return array                                    # one number: no index
    if layer == "w3":
        return f"{array}[{index[0]}]"
    if layer in ("w1", "w2"):
        return f"{array}[{index[0]},{index[1]}]"
    if layer == "x":
        return f"x[{index[1]}]"
    return f"{array}[{index[1]}]"                       # (1, l) rows: z, a, b and theirs


def fmt(value):
    """A number as the equations print it: 4 significant digits, ``-0`` as ``0``."""
    text = f"{value:.4g}"
    return "0" if text == "-0" else text


def _factor(value):
    """A number inside a product or after a ``+``: negative ones in brackets."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def _dot(names, values):
    """``(symbolic, numeric)`` of a sum of products, e.g. ``a1[0]·w2[0,1] + ...``."""
    symbolic = " + ".join(f"{a}·{b}" for a, b in names)
    numeric = " + ".join(f"{_factor(a)}·{_factor(b)}" for a, b in values)
    return symbolic, numeric


def _check_model(model):
    if not isinstance(model, bc.Model):
        raise TypeError(f"model must be a backprop_core.Model, got {type(model).__name__}. "
                        "Pass e.g. bc.Model(hidden_size=(2, 3), seed=0).")
    lab = {"activation": "sigmoid", "output_activation": "sigmoid", "loss": "mse"}
    for name, value in lab.items():
        if getattr(model, name) != value:
            raise ValueError(f"the stepper follows the lab's network, {name}={value!r}; the "
                             f"model has {name}={getattr(model, name)!r}. Pass a Model built "
                             f"with {name}={value!r}.")


def trace(model, x, y):
    r"""Forward and backward pass of ``model`` on one sample, every number a ``Step``.

    Parameters
    ----------
    model : backprop_core.Model
        The lab's network: sigmoid hidden layers and output, loss "mse".
    x : array_like of shape (2,) or (1, 2)
        The sample's inputs.
    y : {0, 1} or array_like of shape (1,) or (1, 1)
        Its label.

    Returns
    -------
    Trace
        Its steps come in the order of ``Model._gradients``: z and a unit by
        unit and layer by layer, then L; then
        :math:`\partial L/\partial a_3,\ \delta_3,\ \partial L/\partial W_3,\
        \partial L/\partial b_3`, and layer 2 and layer 1 the same way, element
        by element. Equations are printed to 4 significant digits.

    Raises
    ------
    TypeError, ValueError
        If ``model`` is not the lab's network, or ``x``, ``y`` are not one sample.
    """
    _check_model(model)
    X = bc._check_X(np.reshape(np.asarray(x, dtype=float), (1, -1)) if np.size(x) == 2
                    else x, name="x")
    if X.shape[0] != 1:
        raise ValueError(f"x must be one sample, shape (2,) or (1, 2), got {X.shape[0]} rows. "
                         "Pass e.g. X[0].")
    Y = bc._check_y(np.reshape(np.asarray(y, dtype=float), (1, 1)) if np.size(y) == 1 else y,
                    1, name="y")
    x0, y0 = X[0], float(Y[0, 0])
    params = {name: getattr(model, name).copy() for name in bc.PARAM_NAMES}
    w = {k: params[f"w{k}"] for k in (1, 2, 3)}
    b = {k: params[f"b{k}"][0] for k in (1, 2, 3)}
    steps = []

    def record(phase, array, index, value, equation, reads):
        name = name_of(array, index)
        steps.append(Step(phase, array, index, name, float(value), f"{name} = {equation}",
                          tuple(reads)))
        return float(value)

    # -- forward: z_k[j] = sum_i a_{k-1}[i] w_k[i, j] + b_k[j], a_k[j] = sigma(z_k[j])
    a_prev, prev = list(x0), "x"
    a = {}
    for k in (1, 2, 3):
        width = w[k].shape[1]
        a[k] = []
        for j in range(width):
            ins = [name_of(prev, (0, i)) for i in range(len(a_prev))]
            ws = [name_of(f"w{k}", (i, j)) for i in range(len(a_prev))]
            bname = name_of(f"b{k}", (0, j))
            z = 0.0
            for i, value in enumerate(a_prev):          # the sum, left to right
                z += value * w[k][i, j]
            z += b[k][j]
            symbolic, numeric = _dot(zip(ins, ws, strict=True),
                                     [(value, w[k][i, j]) for i, value in enumerate(a_prev)])
            zname = name_of(f"z{k}", (0, j))
            record("forward", f"z{k}", (0, j), z,
                   f"{symbolic} + {bname} = {numeric} + {_factor(b[k][j])} = {fmt(z)}",
                   [*ins, *ws, bname])
            act = float(bc.sigmoid(z))
            record("forward", f"a{k}", (0, j), act, f"σ({zname}) = σ({fmt(z)}) = {fmt(act)}",
                   [zname])
            a[k].append(act)
        a_prev, prev = a[k], f"a{k}"
    a3 = a[3][0]
    loss = 0.5 * (a3 - y0) ** 2
    record("forward", "L", (), loss, f"½ (a3 - y)² = ½ ({fmt(a3)} - {fmt(y0)})² = {fmt(loss)}",
           ["a3", "y"])

    # -- backward, in the order of Model._gradients
    da3 = record("backward", "da3", (0, 0), a3 - y0,
                 f"∂L/∂a3 = a3 - y = {fmt(a3)} - {fmt(y0)} = {fmt(a3 - y0)}", ["a3", "y"])
    dz_next = [record("backward", "dz3", (0, 0), da3 * (a3 * (1.0 - a3)),
                      f"da3 · σ′(z3) = da3 · a3 (1 - a3) = {_factor(da3)} · "
                      f"{_factor(a3 * (1.0 - a3))} = {fmt(da3 * (a3 * (1.0 - a3)))}",
                      ["da3", "a3"])]
    da = []                                             # da_k, set before layer k's turn
    for k in (3, 2, 1):
        below = list(x0) if k == 1 else a[k - 1]
        bname = "x" if k == 1 else f"a{k - 1}"
        if k < 3:                                       # dz_k = da_k * sigma'(z_k)
            dz_next = []
            for j, act in enumerate(a[k]):
                da_name, a_name = name_of(f"da{k}", (0, j)), name_of(f"a{k}", (0, j))
                dz = da[j] * (act * (1.0 - act))
                dz_next.append(record(
                    "backward", f"dz{k}", (0, j), dz,
                    f"{da_name} · σ′({name_of(f'z{k}', (0, j))}) = {da_name} · {a_name} "
                    f"(1 - {a_name}) = {_factor(da[j])} · {_factor(act * (1.0 - act))} = "
                    f"{fmt(dz)}", [da_name, a_name]))
        for i, value in enumerate(below):              # dw_k[i, j] = a_{k-1}[i] dz_k[j]
            for j, dz in enumerate(dz_next):
                a_name, dz_name = name_of(bname, (0, i)), name_of(f"dz{k}", (0, j))
                record("backward", f"dw{k}", (i, j), value * dz,
                       f"{a_name} · {dz_name} = {_factor(value)} · {_factor(dz)} = "
                       f"{fmt(value * dz)}", [a_name, dz_name])
        for j, dz in enumerate(dz_next):               # db_k[j] = dz_k[j]
            dz_name = name_of(f"dz{k}", (0, j))
            record("backward", f"db{k}", (0, j), dz, f"{dz_name} = {fmt(dz)}", [dz_name])
        if k > 1:                                       # da_{k-1}[i] = sum_j dz_k[j] w_k[i, j]
            da = []
            for i in range(len(below)):
                dzs = [name_of(f"dz{k}", (0, j)) for j in range(len(dz_next))]
                ws = [name_of(f"w{k}", (i, j)) for j in range(len(dz_next))]
                total = 0.0
                for j, dz in enumerate(dz_next):
                    total += dz * w[k][i, j]
                symbolic, numeric = _dot(zip(dzs, ws, strict=True),
                                         [(dz, w[k][i, j]) for j, dz in enumerate(dz_next)])
                da.append(record("backward", f"da{k - 1}", (0, i), total,
                                 f"{symbolic} = {numeric} = {fmt(total)}", [*dzs, *ws]))
    return Trace(x=x0.copy(), y=y0, params=params, steps=steps)
