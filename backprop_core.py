"""The lab's two-hidden-layer network, small enough to read beside the workbook.

``backprop_core`` is the one module that every notebook of the back-propagation
workbook imports. It implements, in numpy and bottom-up:

* the activations and their derivatives (sigmoid, tanh, relu, none), each
  derivative written in terms of the activation's *output*, as in the lab;
* the lab's two toy data sets, "linear" and "XOR";
* ``Model``: the feed-forward network 2 -> l1 -> l2 -> 1 of the lab report,
  with its forward pass, its exact gradients and its momentum update;
* ``train``, ``evaluate`` and ``gradient_check``; ``train`` runs the same
  updates through loops compiled by numba when it is installed (the numpy
  code stays the reference that the notebooks teach);
* an experiment runner that sweeps grids over several seeds;
* checkers for the workbook's exercises, which name a student's mistake;
* plotting and widget helpers shared by the notebooks (matplotlib and
  ipywidgets are imported inside them).

Notation, used in names and shape comments throughout::

    X  (n, 2)   inputs, one row per sample       y  (n, 1)   labels in {0, 1}
    z1 = X  @ w1 + b1   (n, l1)                  a1 = f(z1)      (n, l1)
    z2 = a1 @ w2 + b2   (n, l2)                  a2 = f(z2)      (n, l2)
    z3 = a2 @ w3 + b3   (n, 1)                   a3 = g(z3) = y_hat  (n, 1)
    L  = mean over rows of 1/2 (a3 - y)^2        (loss="mse", the lab's)

What it is not: a framework. There is no autograd, no layer abstraction and no
GPU; the network has exactly two hidden layers, and every gradient is written
out by hand so that it can be read against its derivation.
"""

from __future__ import annotations

import math
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from itertools import product

import numpy as np

__all__ = [
    "ACTIVATIONS", "PARAM_NAMES", "CLASS_COLORS",
    "sigmoid", "der_sigmoid", "tanh", "der_tanh", "relu", "der_relu",
    "identity", "der_identity",
    "generate_linear", "generate_xor_easy", "generate_circle", "load_dataset",
    "Model", "History", "train", "evaluate", "mean_abs_error", "rel_error",
    "numerical_gradients", "gradient_check", "RunConfig", "run_experiment", "sweep", "summarize",
    "format_table", "format_comparison",
    "check_der_sigmoid", "check_forward", "check_gradients", "check_step",
    "check_gradient_check",
    "plot_data", "show_result", "plot_decision_boundary", "plot_history", "plot_health",
    "draw_network", "lr_slider", "hidden_size_sliders", "playground_run", "playground",
]

# =============================================================================
# Activations
# =============================================================================
# Every derivative takes the activation's OUTPUT a = f(z), not its input z,
# exactly as the lab's ``der_sigmoid(y)`` does: the forward pass has already
# computed a, and for sigmoid the derivative is cheapest in terms of it.


def sigmoid(x):
    r"""Logistic sigmoid, computed without overflow.

    .. math:: \sigma(x) = \frac{1}{1 + e^{-x}}

    Parameters
    ----------
    x : float or array_like
        Pre-activation values, any shape.

    Returns
    -------
    float or ndarray
        :math:`\sigma(x)` in [0, 1], same shape as ``x``.

    Notes
    -----
    ``1 / (1 + exp(-x))`` overflows for x below about -709. Writing
    :math:`e = e^{-|x|} \le 1`, we use :math:`1/(1+e)` for x >= 0 and the
    equal :math:`e/(1+e)` for x < 0, so no exponential ever exceeds 1.

    Examples
    --------
    >>> float(sigmoid(0.0))
    0.5
    >>> float(sigmoid(-1000.0)), float(sigmoid(1000.0))
    (0.0, 1.0)
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))                      # in (0, 1], never overflows
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out[()] if out.ndim == 0 else out


def der_sigmoid(y):
    r"""Derivative of the sigmoid, given the sigmoid's OUTPUT ``y = sigmoid(x)``.

    .. math:: \sigma'(x) = \sigma(x)\,(1 - \sigma(x)) = y\,(1 - y)

    Parameters
    ----------
    y : float or array_like
        The sigmoid's output, in [0, 1]. Passing the pre-activation x instead
        is the most common mistake in this lab: ``der_sigmoid(x)`` is not
        :math:`\sigma'(x)`; ``der_sigmoid(sigmoid(x))`` is.

    Returns
    -------
    float or ndarray
        :math:`y (1 - y)`, same shape as ``y``.

    Examples
    --------
    >>> float(der_sigmoid(sigmoid(0.0)))
    0.25
    """
    y = np.asarray(y, dtype=float)
    return y * (1.0 - y)


def tanh(x):
    r"""Hyperbolic tangent, :math:`\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})`."""
    return np.tanh(x)


def der_tanh(y):
    r"""Derivative of tanh given its OUTPUT ``y = tanh(x)``: :math:`1 - y^2`."""
    y = np.asarray(y, dtype=float)
    return 1.0 - y * y


def relu(x):
    r"""Rectified linear unit, :math:`\max(0, x)`."""
    return np.maximum(x, 0.0)


def der_relu(y):
    r"""Derivative of relu given its OUTPUT ``y = relu(x)``: 1 where y > 0, else 0.

    At x = 0 the derivative is undefined; like most libraries we use 0.
    """
    return (np.asarray(y) > 0).astype(float)


def identity(x):
    r"""No activation: :math:`f(x) = x`."""
    return x


def der_identity(y):
    r"""Derivative of the identity: 1 everywhere."""
    return np.ones_like(y, dtype=float)


#: name -> (f, der_f), where der_f takes f's OUTPUT.
ACTIVATIONS = {
    "sigmoid": (sigmoid, der_sigmoid),
    "tanh": (tanh, der_tanh),
    "relu": (relu, der_relu),
    "none": (identity, der_identity),
}

# =============================================================================
# Data
# =============================================================================


def generate_linear(n=100, seed=None):
    """The lab's "linear" set: n points in the unit square, split by the diagonal.

    Parameters
    ----------
    n : int, default 100
        Number of points, at least 1.
    seed : int, numpy.random.SeedSequence or None
        Seed for ``np.random.default_rng``; None draws fresh entropy.

    Returns
    -------
    X : ndarray of shape (n, 2)
        Points uniform in [0, 1)^2.
    y : ndarray of shape (n, 1)
        0.0 where x0 > x1, else 1.0 (the lab's rule).

    Examples
    --------
    >>> X, y = generate_linear(5, seed=0)
    >>> X.shape, y.shape
    ((5, 2), (5, 1))
    """
    n = _check_positive_int(n, "n", hint="generate_linear(n=100)")
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 2))                  # (n, 2)
    y = (X[:, 0] <= X[:, 1]).astype(float).reshape(n, 1)    # (n, 1)
    return X, y


def generate_xor_easy():
    """The lab's "XOR" set: 21 points on the two diagonals of the unit square.

    Point i = 0..10 of the main diagonal, (0.1 i, 0.1 i), is labelled 0; point
    (0.1 i, 1 - 0.1 i) of the anti-diagonal is labelled 1, except at i = 5
    where the diagonals cross. Rows are interleaved in the lab's order.

    Returns
    -------
    X : ndarray of shape (21, 2)
    y : ndarray of shape (21, 1)
    """
    rows, labels = [], []
    for i in range(11):
        rows.append((0.1 * i, 0.1 * i))
        labels.append(0.0)
        if i == 5:                      # the centre belongs to one diagonal only
            continue
        rows.append((0.1 * i, 1.0 - 0.1 * i))
        labels.append(1.0)
    return np.array(rows), np.array(labels).reshape(-1, 1)


def generate_circle(n=100, seed=None):
    r"""A third set, after TensorFlow Playground: a disc in the middle of the square.

    Point i is labelled 1 when it lies inside the circle of radius
    :math:`r = 1/\sqrt{2\pi} \approx 0.399` around (0.5, 0.5), which holds half
    of the unit square's area, so the two classes are equally likely:

    .. math:: y_i = [\,(x_{i0} - 0.5)^2 + (x_{i1} - 0.5)^2 < r^2\,]

    No straight line separates the classes: the network must bend its boundary
    all the way round.

    Parameters
    ----------
    n : int, default 100
        Number of points, at least 1.
    seed : int, numpy.random.SeedSequence or None
        Seed for ``np.random.default_rng``; None draws fresh entropy.

    Returns
    -------
    X : ndarray of shape (n, 2)
        Points uniform in [0, 1)^2.
    y : ndarray of shape (n, 1)
        1.0 inside the circle, else 0.0.

    Examples
    --------
    >>> X, y = generate_circle(5, seed=0)
    >>> X.shape, y.shape
    ((5, 2), (5, 1))
    """
    n = _check_positive_int(n, "n", hint="generate_circle(n=100)")
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, size=(n, 2))                          # (n, 2)
    r2 = np.sum((X - 0.5) ** 2, axis=1)                              # (n,) squared radius
    y = (r2 < 1.0 / (2.0 * np.pi)).astype(float).reshape(n, 1)      # (n, 1)
    return X, y


DATASETS = ("linear", "xor", "circle")


def load_dataset(dataset, n=100, seed=None):
    """Return ``(X, y)`` for a data set by name: "linear" (n points), "xor" or "circle" (n points).

    ``n`` and ``seed`` apply to "linear" and "circle"; "xor" is fixed.
    """
    if dataset == "linear":
        return generate_linear(n, seed=seed)
    if dataset == "xor":
        return generate_xor_easy()
    if dataset == "circle":
        return generate_circle(n, seed=seed)
    raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}. "
                     "Pass e.g. dataset='linear'.")

# =============================================================================
# Validation (the public boundary)
# =============================================================================


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_positive_int(value, name, hint):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}. "
                         f"Pass e.g. {hint}.")
    return int(value)


def _check_hidden_size(hidden_size):
    ok = (isinstance(hidden_size, (tuple, list)) and len(hidden_size) == 2
          and all(_is_int(h) and h >= 1 for h in hidden_size))
    if not ok:
        raise ValueError("hidden_size must be two positive integers (l1, l2), "
                         f"got {hidden_size!r}. Pass e.g. hidden_size=(5, 10).")
    return (int(hidden_size[0]), int(hidden_size[1]))


def _check_real(value, name, low, high, low_open, hint):
    """A finite real number in the interval given by low, high and low_open."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
            value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} "
                        f"{value!r}. Pass e.g. {hint}.")
    value = float(value)
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value >= high:
        lo = "(" if low_open else "["
        hi = "inf)" if high == math.inf else f"{high:g})"
        raise ValueError(f"{name} must be a finite number in {lo}{low:g}, {hi}, "
                         f"got {value!r}. Pass e.g. {hint}.")
    return value


def _check_choice(value, name, choices):
    try:
        known = value in choices
    except TypeError:                   # unhashable, e.g. a list
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}. "
                         f"Pass e.g. {name}={next(iter(choices))!r}.")
    return value


def _check_X(X, name="X"):
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers of shape (n, 2), "
                        f"got {type(X).__name__}. Build it with np.array(...).") from None
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), one row per point, "
                         f"got shape {X.shape}. Reshape with {name}.reshape(-1, 2).")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least one row.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain finite numbers only; it has NaN or inf "
                         "values. Remove or impute them first.")
    return X


def _check_y(y, n, name="y"):
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of 0/1 labels of shape (n, 1), "
                        f"got {type(y).__name__}.") from None
    if y.ndim != 2 or y.shape[1] != 1:
        raise ValueError(f"{name} must have shape (n, 1), got shape {y.shape}. "
                         f"Reshape with {name}.reshape(-1, 1).")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} rows but X has {n}; "
                         "pass one label per row of X.")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{name} must hold labels 0 or 1 only, got values "
                         f"{np.unique(y)[:5]}. Threshold or map your labels to 0/1.")
    return y


def _check_Xy(X, y):
    X = _check_X(X)
    return X, _check_y(y, X.shape[0])

# =============================================================================
# Model
# =============================================================================

PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
OPTIMIZERS = ("momentum", "sgd", "adam")
LOSSES = ("mse", "bce")
INITS = ("normal", "xavier", "he")
OUTPUT_ACTIVATIONS = ("sigmoid", "none")
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
_FORMAT_VERSION = 1


class Model:
    r"""The lab's feed-forward network 2 -> l1 -> l2 -> 1.

    .. math::
        a_1 = f(X W_1 + b_1),\quad a_2 = f(a_1 W_2 + b_2),\quad
        \hat y = a_3 = g(a_2 W_3 + b_3)

    Parameters
    ----------
    hidden_size : tuple of two ints, default (5, 10)
        Widths (l1, l2) of the two hidden layers.
    lr : float, default 0.1
        Learning rate, > 0.
    momentum : float, default 0.9
        Momentum coefficient mu in [0, 1), used by ``optimizer="momentum"``.
    activation : {"sigmoid", "tanh", "relu", "none"}
        Hidden-layer activation f.
    output_activation : {"sigmoid", "none"}
        Output activation g.
    seed : int, SeedSequence or None, default 0
        Seed of the weight initialisation (``np.random.default_rng``).
    optimizer : {"momentum", "sgd", "adam"}
        Update rule of ``step``; the lab's is "momentum".
    loss : {"mse", "bce"}
        "mse" is the lab's mean of 1/2 (a3 - y)^2; "bce" is binary
        cross-entropy, which needs ``output_activation="sigmoid"``.
    init : {"normal", "xavier", "he"}
        Weight initialisation: the lab's standard normal, Xavier/Glorot
        normal (std sqrt(2 / (fan_in + fan_out))) or He normal (std
        sqrt(2 / fan_in)). Biases start at zero.

    Attributes
    ----------
    w1, b1, w2, b2, w3, b3 : ndarray
        Parameters, float64, of shapes (2, l1), (1, l1), (l1, l2), (1, l2),
        (l2, 1), (1, 1): the listing's names.
    v_w1, ..., v_b3 : ndarray
        Momentum velocities, same shapes, zero at the start.
    m_w1, ..., s_b3 : ndarray
        Adam's first and second moment estimates; ``t`` counts Adam steps.

    Examples
    --------
    >>> model = Model(hidden_size=(5, 10), seed=0)
    >>> model.forward(np.array([[0.2, 0.7]])).shape
    (1, 1)
    """

    def __init__(self, hidden_size=(5, 10), lr=0.1, momentum=0.9, activation="sigmoid",
                 output_activation="sigmoid", seed=0, optimizer="momentum", loss="mse",
                 init="normal"):
        self.hidden_size = _check_hidden_size(hidden_size)
        self.lr = _check_real(lr, "lr", 0.0, math.inf, True, "lr=0.1")
        self.momentum = _check_real(momentum, "momentum", 0.0, 1.0, False, "momentum=0.9")
        self.activation = _check_choice(activation, "activation", ACTIVATIONS)
        self.output_activation = _check_choice(output_activation, "output_activation",
                                               OUTPUT_ACTIVATIONS)
        self.optimizer = _check_choice(optimizer, "optimizer", OPTIMIZERS)
        self.loss = _check_choice(loss, "loss", LOSSES)
        self.init = _check_choice(init, "init", INITS)
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError("loss='bce' needs output_activation='sigmoid' (it takes "
                             f"probabilities), got output_activation={output_activation!r}. "
                             "Use loss='mse' or output_activation='sigmoid'.")
        self.seed = seed
        l1, l2 = self.hidden_size
        rng = np.random.default_rng(seed)
        self.w1 = self._init_weight(rng, 2, l1)     # (2, l1)
        self.w2 = self._init_weight(rng, l1, l2)    # (l1, l2)
        self.w3 = self._init_weight(rng, l2, 1)     # (l2, 1)
        self.b1 = np.zeros((1, l1))                 # (1, l1)
        self.b2 = np.zeros((1, l2))                 # (1, l2)
        self.b3 = np.zeros((1, 1))                  # (1, 1)
        self.reset_optimizer()

    def _init_weight(self, rng, fan_in, fan_out):
        std = {"normal": 1.0,
               "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
               "he": math.sqrt(2.0 / fan_in)}[self.init]
        return std * rng.standard_normal((fan_in, fan_out))

    def reset_optimizer(self):
        """Zero the optimizer state: velocities, Adam moments and step count."""
        for name in PARAM_NAMES:
            shape = getattr(self, name).shape
            for prefix in ("v_", "m_", "s_"):
                setattr(self, prefix + name, np.zeros(shape))
        self.t = 0

    # -- parameters --------------------------------------------------------
    @property
    def params(self):
        """dict name -> parameter array (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def copy(self):
        """An independent deep copy of the model, optimizer state included."""
        other = object.__new__(type(self))
        other.__dict__ = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                          for k, v in self.__dict__.items()}
        return other

    def __repr__(self):
        return (f"Model(hidden_size={self.hidden_size}, lr={self.lr:g}, "
                f"momentum={self.momentum:g}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r}, seed={self.seed!r}, "
                f"optimizer={self.optimizer!r}, loss={self.loss!r}, init={self.init!r})")

    # -- forward -------------------------------------------------------------
    def _forward(self, X):
        """Forward pass keeping the activations backprop needs: (a1, a2, z3, a3)."""
        f = ACTIVATIONS[self.activation][0]
        g = ACTIVATIONS[self.output_activation][0]
        a1 = f(X @ self.w1 + self.b1)           # (n, l1)
        a2 = f(a1 @ self.w2 + self.b2)          # (n, l2)
        z3 = a2 @ self.w3 + self.b3             # (n, 1)
        a3 = g(z3)                              # (n, 1)
        return a1, a2, z3, a3

    def forward(self, X):
        """Network output ``y_hat = a3`` for inputs ``X`` of shape (n, 2); returns (n, 1)."""
        return self._forward(_check_X(X))[3]

    def predict(self, X):
        """Class labels 0.0/1.0 of shape (n, 1): 1 where ``forward(X) > 0.5``."""
        return (self.forward(X) > 0.5).astype(float)

    # -- loss ----------------------------------------------------------------
    def _loss(self, z3, a3, y):
        if self.loss == "mse":
            return float(np.mean(0.5 * (a3 - y) ** 2))
        # BCE from the logit z3: -[y log s + (1-y) log(1-s)] = log(1+e^z) - y z
        return float(np.mean(np.logaddexp(0.0, z3) - y * z3))

    def loss_value(self, X, y):
        r"""The training loss L over the rows of (X, y).

        "mse": :math:`L = \frac{1}{n}\sum_i \frac12 (\hat y_i - y_i)^2`;
        "bce": :math:`L = -\frac{1}{n}\sum_i [y_i \log \hat y_i + (1-y_i)\log(1-\hat y_i)]`,
        computed from the logit so that it never takes log 0.
        """
        X, y = _check_Xy(X, y)
        _, _, z3, a3 = self._forward(X)
        return self._loss(z3, a3, y)

    # -- backward ------------------------------------------------------------
    def _gradients(self, X, y):
        der_f = ACTIVATIONS[self.activation][1]
        der_g = ACTIVATIONS[self.output_activation][1]
        n = X.shape[0]
        a1, a2, z3, a3 = self._forward(X)
        # output delta dL/dz3. For one sample and mse this is the listing's
        # grad_a3 = (output - y) * der_sigmoid(output).
        if self.loss == "mse":
            dz3 = (a3 - y) * der_g(a3) / n          # (n, 1)
        else:                                       # bce with sigmoid: the s(1-s) cancels
            dz3 = (a3 - y) / n                      # (n, 1)
        dw3 = a2.T @ dz3                            # (l2, 1)
        db3 = dz3.sum(axis=0, keepdims=True)        # (1, 1)
        da2 = dz3 @ self.w3.T                       # (n, l2)
        dz2 = da2 * der_f(a2)                       # (n, l2)
        dw2 = a1.T @ dz2                            # (l1, l2)
        db2 = dz2.sum(axis=0, keepdims=True)        # (1, l2)
        da1 = dz2 @ self.w2.T                       # (n, l1)
        dz1 = da1 * der_f(a1)                       # (n, l1)
        dw1 = X.T @ dz1                             # (2, l1)
        db1 = dz1.sum(axis=0, keepdims=True)        # (1, l1)
        return {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2, "w3": dw3, "b3": db3}

    def gradients(self, X, y):
        r"""Exact gradients of the loss L over the rows of (X, y).

        With :math:`\delta_3 = \partial L/\partial z_3`, which for "mse" is
        :math:`(a_3 - y)\, g'(z_3) / n` and for "bce" with a sigmoid output
        :math:`(a_3 - y) / n`:

        .. math::
            \partial L/\partial W_3 = a_2^\top \delta_3,\quad
            \delta_2 = (\delta_3 W_3^\top) \odot f'(z_2),\quad
            \partial L/\partial W_2 = a_1^\top \delta_2,\quad
            \delta_1 = (\delta_2 W_2^\top) \odot f'(z_1),\quad
            \partial L/\partial W_1 = X^\top \delta_1,

        and each bias gradient is its delta summed over the rows.

        Parameters
        ----------
        X : array_like of shape (n, 2)
        y : array_like of shape (n, 1), labels 0/1

        Returns
        -------
        dict
            Parameter name ("w1", "b1", ..., "b3") -> gradient of the same shape.
        """
        X, y = _check_Xy(X, y)
        return self._gradients(X, y)

    # -- update --------------------------------------------------------------
    def _step(self, grads):
        if self.optimizer == "adam":
            self.t += 1
            correction1 = 1.0 - _nb_powi(ADAM_BETA1, self.t)    # 1 - beta1^t
            correction2 = 1.0 - _nb_powi(ADAM_BETA2, self.t)
        for name in PARAM_NAMES:
            theta, g = getattr(self, name), grads[name]
            if self.optimizer == "momentum":        # the listing's rule
                v = getattr(self, "v_" + name)
                v *= self.momentum
                v += self.lr * g                    # v <- mu v + lr g
                theta -= v                          # theta <- theta - v
            elif self.optimizer == "sgd":
                theta -= self.lr * g
            else:                                   # Kingma & Ba (2015), Algorithm 1
                m, s = getattr(self, "m_" + name), getattr(self, "s_" + name)
                m *= ADAM_BETA1
                m += (1.0 - ADAM_BETA1) * g
                s *= ADAM_BETA2
                s += (1.0 - ADAM_BETA2) * g * g
                theta -= self.lr * (m / correction1) / (np.sqrt(s / correction2) + ADAM_EPS)

    def step(self, grads):
        r"""Apply one update to every parameter, in place.

        "momentum" (the lab's): :math:`v \leftarrow \mu v + \eta g,\ \theta \leftarrow \theta - v`.
        "sgd": :math:`\theta \leftarrow \theta - \eta g`.
        "adam": bias-corrected Adam with beta1 0.9, beta2 0.999, eps 1e-8.

        Parameters
        ----------
        grads : dict
            Name -> gradient, as returned by ``gradients``.
        """
        if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
            got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise ValueError(f"grads must be a dict with keys {PARAM_NAMES}, got {got}. "
                             "Pass the result of model.gradients(X, y).")
        for name in PARAM_NAMES:
            shape = getattr(self, name).shape
            if np.shape(grads[name]) != shape:
                raise ValueError(f"grads[{name!r}] must have shape {shape}, got "
                                 f"{np.shape(grads[name])}.")
        self._step({k: np.asarray(v, dtype=float) for k, v in grads.items()})

    # -- persistence ---------------------------------------------------------
    _STATE_PREFIXES = ("", "v_", "m_", "s_")

    def save(self, path):
        """Save hyperparameters, weights and optimizer state to an ``.npz`` file.

        Everything is stored as plain arrays, so ``load`` reads it back with
        ``allow_pickle=False``.
        """
        arrays = {prefix + name: getattr(self, prefix + name)
                  for prefix in self._STATE_PREFIXES for name in PARAM_NAMES}
        seed = str(int(self.seed)) if _is_int(self.seed) else "None"
        with open(path, "wb") as file:          # exactly this path: np.savez would add .npz
            np.savez(file, format_version=_FORMAT_VERSION,
                     hidden_size=np.array(self.hidden_size), lr=self.lr,
                     momentum=self.momentum, activation=self.activation,
                     output_activation=self.output_activation, optimizer=self.optimizer,
                     loss=self.loss, init=self.init, seed=seed, t=self.t, **arrays)

    @classmethod
    def load(cls, path):
        """Load a model written by ``save``; a bad file raises ``ValueError``."""
        try:
            data = np.load(path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not an .npz archive")
            with data:
                stored = {key: data[key] for key in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ValueError(f"cannot read a model from {str(path)!r}: {exc}. Pass a "
                             "file written by Model.save (pickled objects are refused).") from None
        expected = ["format_version", "hidden_size", "lr", "momentum", "activation",
                    "output_activation", "optimizer", "loss", "init", "seed", "t"]
        expected += [p + n for p in cls._STATE_PREFIXES for n in PARAM_NAMES]
        missing = [key for key in expected if key not in stored]
        if missing:
            raise ValueError(f"{str(path)!r} is not a complete model file: missing "
                             f"{missing}. Pass a file written by Model.save.")
        if int(stored["format_version"]) != _FORMAT_VERSION:
            raise ValueError(f"{str(path)!r} has format_version {int(stored['format_version'])}"
                             f", this backprop_core reads {_FORMAT_VERSION}.")
        try:
            seed = None if str(stored["seed"]) == "None" else int(str(stored["seed"]))
            model = cls(hidden_size=tuple(int(h) for h in stored["hidden_size"]),
                        lr=float(stored["lr"]), momentum=float(stored["momentum"]),
                        activation=str(stored["activation"]),
                        output_activation=str(stored["output_activation"]),
                        optimizer=str(stored["optimizer"]), loss=str(stored["loss"]),
                        init=str(stored["init"]), seed=seed)
            model.t = int(stored["t"])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{str(path)!r} holds invalid hyperparameters: {exc}") from None
        for key in expected[11:]:
            want = getattr(model, key).shape
            if stored[key].shape != want or not np.issubdtype(stored[key].dtype, np.floating):
                raise ValueError(f"{str(path)!r}: array {key!r} has shape "
                                 f"{stored[key].shape} and dtype {stored[key].dtype}, "
                                 f"expected float {want}. The file is corrupt.")
            setattr(model, key, stored[key].astype(float))
        return model

# =============================================================================
# Training
# =============================================================================


@dataclass
class History:
    """What ``train`` records, one entry per completed epoch.

    Attributes
    ----------
    loss : list of float
        The model's loss L over the whole training set after each epoch.
    accuracy : list of float
        Fraction of training points classified correctly after each epoch.
    mae : list of float
        Mean |y_hat - y| over the training set: the lab report's "loss" column.
    lr : list of float
        The learning rate used during each epoch.
    diverged_at : int or None
        1-based epoch whose loss became NaN or inf (its entry is kept), or None.
    engine : str
        Which engine ran: "numba" or "numpy".
    grad_norm : dict
        Only with ``train(..., diagnostics=True)``: weight name ("w1", "w2",
        "w3") -> per epoch, the mean over its updates of the gradient's norm
        ||dL/dW|| (on each update's batch).
    update_ratio : dict
        Only with ``diagnostics=True``: weight name -> per epoch, the mean over
        its updates of ||W_after - W_before|| / ||W_before||. CS231n's rule of
        thumb puts a healthy ratio near 1e-3: much lower, the layer barely
        learns; much higher, it is thrown about.
    seconds : float
        Wall-clock time of the run (not shown in the repr).
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    mae: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    diverged_at: int | None = None
    engine: str = "numpy"
    grad_norm: dict = field(default_factory=dict, repr=False)
    update_ratio: dict = field(default_factory=dict, repr=False)
    seconds: float = field(default=0.0, repr=False, compare=False)

    @property
    def epochs(self):
        """Number of epochs recorded."""
        return len(self.loss)

    def __repr__(self):
        last = (f"loss={self.loss[-1]:.4g}, accuracy={self.accuracy[-1]:.4g}"
                if self.loss else "empty")
        return (f"History(epochs={self.epochs}, {last}, diverged_at={self.diverged_at}, "
                f"engine={self.engine!r})")


def mean_abs_error(model, X, y):
    """Mean |y_hat - y| over the rows: the quantity the lab report calls "loss"."""
    X, y = _check_Xy(X, y)
    return float(np.mean(np.abs(model._forward(X)[3] - y)))


def _metrics(model, X, y):
    """(loss, accuracy, mae) of the model on validated (X, y)."""
    _, _, z3, a3 = model._forward(X)
    accuracy = float(np.mean((a3 > 0.5) == (y == 1)))
    return model._loss(z3, a3, y), accuracy, float(np.mean(np.abs(a3 - y)))


def evaluate(model, X, y):
    """Loss and accuracy of ``model`` on (X, y).

    Returns
    -------
    loss : float
        The model's training loss L (``model.loss_value``).
    accuracy : float
        Fraction of rows where ``predict`` equals y.

    See Also
    --------
    mean_abs_error : the lab report's "loss" column.
    """
    X, y = _check_Xy(X, y)
    loss, accuracy, _ = _metrics(model, X, y)
    return loss, accuracy


WEIGHT_NAMES = ("w1", "w2", "w3")


def _numpy_epochs(model, X, y, orders, lrs, batch_size, health=None):
    """Reference engine: epochs of ``Model._gradients`` then ``Model._step``.

    Runs one epoch per row of ``orders`` (a permutation of the rows of X) with
    learning rate ``lrs[e]``. Returns per-epoch (loss, accuracy, mae) lists and
    stops after the first epoch whose loss is not finite. If ``health`` is a
    History, appends to its ``grad_norm`` and ``update_ratio`` the epoch's mean
    over updates of ||dW|| and ||W_after - W_before|| / ||W_before||, per weight.
    """
    n = X.shape[0]
    out = ([], [], [])
    for order, lr in zip(orders, lrs, strict=True):
        model.lr = float(lr)
        sums = {name: np.zeros(2) for name in WEIGHT_NAMES}   # (sum ||dW||, sum ratio)
        updates = 0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            grads = model._gradients(X[rows], y[rows])
            if health is not None:
                before = {name: getattr(model, name).copy() for name in WEIGHT_NAMES}
            model._step(grads)
            updates += 1
            if health is not None:
                for name, W in before.items():
                    change = np.linalg.norm(getattr(model, name) - W)
                    sums[name] += (np.linalg.norm(grads[name]), change / np.linalg.norm(W))
        if health is not None:
            for name in WEIGHT_NAMES:
                health.grad_norm[name].append(float(sums[name][0] / updates))
                health.update_ratio[name].append(float(sums[name][1] / updates))
        for lst, value in zip(out, _metrics(model, X, y), strict=True):
            lst.append(value)
        if not math.isfinite(out[0][-1]):
            break
    return out


ENGINES = {"numpy": _numpy_epochs}


def _progress_bar(total, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="epoch", leave=False)

# =============================================================================
# Fast engine (numba)
# =============================================================================
# The epochs of ``_numpy_epochs`` again, as loops over one sample and one unit
# at a time that numba compiles to machine code. Per sample, numpy makes about
# 30 small array calls whose overhead dwarfs their arithmetic; the compiled
# loops do only the arithmetic. The numbers are those of the reference up to
# rounding, since a few sums are added in another order (tests/test_engine.py
# checks them to 1e-10).
#
# The ``_nb_*`` functions are plain Python, so ``import backprop_core`` needs
# numba neither installed nor imported (importing it takes about 0.3 s).
# ``_numba_kernel`` compiles them on the first ``train(engine="numba")``, and
# numba caches the machine code on disk (``cache=True``): later processes load
# it instead of compiling again.
#
# The kernel sees the parameters packed into one flat vector theta (P,), laid
# out as _FLAT_ORDER, and likewise v, m, s and the gradient, so the update is
# one loop over P numbers; w1 ... b3 are views into theta. Memory is walked
# the way it is laid out: in every loop over w2 (l1, l2) the column k is
# innermost.

_ACT_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "none": 3}   # hidden and output
_LOSS_CODES = {"mse": 0, "bce": 1}
_OPT_CODES = {"momentum": 0, "sgd": 1, "adam": 2}
_OPT_STATE = {"momentum": ("v_",), "sgd": (), "adam": ("m_", "s_")}
_FLAT_ORDER = ("w1", "b1", "b2", "w3", "b3", "w2")              # w2, the largest, last


# -- portable elementary functions ---------------------------------------------
# libm's exp, tanh and log1p pick an implementation for the CPU at load time
# (glibc has FMA variants), so their last bit may differ between machines. A
# chaotic run (lr 0.1, momentum 0.9) turns one such bit into another table.
# The engine therefore computes them here, from + - * / alone, which IEEE 754
# rounds the same way everywhere; numba is compiled without fastmath, so LLVM
# neither reorders nor fuses (FMA) them.

_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03,
          6.61375632143793436117e-05, -1.65339022054652515390e-06,
          4.13813679705723846039e-08)


def _nb_exp(x):
    """e^x within 1 ulp, by fdlibm's method (k ln2 + r, a rational in r)."""
    if x != x:                                  # NaN
        return x
    if x > 709.782712893384:
        return math.inf
    if x < -745.1332191019412:
        return 0.0
    k = int(_INV_LN2 * x + (0.5 if x >= 0.0 else -0.5))     # x = k ln2 + r, |r| <= ln2 / 2
    hi = x - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_EXP_P[0] + t * (_EXP_P[1] + t * (_EXP_P[2] + t * (_EXP_P[3]
                                                                    + t * _EXP_P[4]))))
    e_r = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)           # e^r
    return math.ldexp(e_r, k)                   # e_r 2^k, exact (a power of two)


def _nb_log1p(u):
    """log(1 + u) for u in [0, 1], as 2 atanh(s), s = u / (2 + u) <= 1/3."""
    s = u / (2.0 + u)
    s2 = s * s
    total = 0.0
    for i in range(19, 0, -1):                  # s^2 <= 1/9: 19 terms reach 1e-19
        total = total * s2 + 1.0 / (2 * i + 1)
    return 2.0 * s * (1.0 + s2 * total)


def _nb_tanh(z):
    """tanh z: a Taylor series near 0, (1 - e^-2|z|) / (1 + e^-2|z|) elsewhere."""
    if z != z:
        return z
    x = abs(z)
    if x < 0.0625:                              # terms to z^21: error below 1e-26
        x2 = x * x
        t = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (
            62.0 / 2835.0 + x2 * (-1382.0 / 155925.0 + x2 * (21844.0 / 6081075.0 + x2 * (
                -929569.0 / 638512875.0 + x2 * (6404582.0 / 10854718875.0 + x2 * (
                    -443861162.0 / 1856156927625.0 + x2 * 18888466084.0
                    / 194896477400625.0))))))))))
    elif x > 20.0:                              # tanh(20) rounds to 1
        t = 1.0
    else:
        e = _nb_exp(-2.0 * x)
        t = (1.0 - e) / (1.0 + e)
    return t if z >= 0.0 else -t


def _nb_powi(base, n):
    """base ** n for an int n >= 0, by repeated squaring (Adam's beta^t)."""
    result, power = 1.0, base
    while n > 0:
        if n & 1:
            result *= power
        power *= power
        n >>= 1
    return result


def _nb_f(z, act):
    """Activation number ``act`` (see _ACT_CODES) of one number z."""
    if act == 0:                                # the stable formula of ``sigmoid``
        e = _nb_exp(-abs(z))
        return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
    if act == 1:
        return _nb_tanh(z)
    if act == 2:                                # like np.maximum: NaN stays NaN
        return z if (z > 0.0 or z != z) else 0.0
    return z


def _nb_der_f(a, act):
    """Derivative of activation ``act`` given its OUTPUT a, as the ``der_*`` do."""
    if act == 0:
        return a * (1.0 - a)
    if act == 1:
        return 1.0 - a * a
    if act == 2:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


def _nb_softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), as ``np.logaddexp(0.0, z)``."""
    if z != z:
        return z
    if z > 0.0:
        return z + _nb_log1p(_nb_exp(-z))
    return _nb_log1p(_nb_exp(z))


def _nb_forward(x0, x1, w1, b1, w2, b2, w3, b3, act, out, a1, z2, a2):
    """One input row (x0, x1) through the net; fills a1 (l1,), z2 and a2 (l2,).

    Returns (z3, a3).
    """
    l1, l2 = w2.shape
    for j in range(l1):
        a1[j] = _nb_f(x0 * w1[0, j] + x1 * w1[1, j] + b1[0, j], act)
    for k in range(l2):
        z2[k] = 0.0
    for j in range(l1):                         # z2 = a1 @ w2, one row of w2 at a time
        a1_j = a1[j]
        for k in range(l2):
            z2[k] += a1_j * w2[j, k]
    z3 = 0.0
    for k in range(l2):
        a2[k] = _nb_f(z2[k] + b2[0, k], act)
        z3 += a2[k] * w3[k, 0]
    z3 += b3[0, 0]
    return z3, _nb_f(z3, out)


def _nb_dot(a, w, j):
    """(a @ w.T)[j] = sum_k a[k] w[j, k], for a (l2,) and w (l1, l2).

    Four partial sums, over k mod 4, added as (s0 + s1) + (s2 + s3) and then
    the tail: the order is written here, so every CPU adds the same way, and
    the four independent sums still let the CPU overlap its additions.
    """
    n = a.shape[0]
    n4 = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for k in range(0, n4, 4):
        s0 += a[k] * w[j, k]
        s1 += a[k + 1] * w[j, k + 1]
        s2 += a[k + 2] * w[j, k + 2]
        s3 += a[k + 3] * w[j, k + 3]
    total = (s0 + s1) + (s2 + s3)
    for k in range(n4, n):
        total += a[k] * w[j, k]
    return total


def _nb_update(theta, v, m, s, g, opt, lr, mu, c1, c2):
    """``Model._step`` on the flat vectors (P,), in place.

    c1 and c2 are Adam's bias corrections 1 - beta^t.
    """
    if opt == 0:                                # momentum, the listing's rule
        for i in range(theta.shape[0]):
            v[i] = v[i] * mu + lr * g[i]
            theta[i] -= v[i]
    elif opt == 1:                              # sgd
        for i in range(theta.shape[0]):
            theta[i] -= lr * g[i]
    else:                                       # adam
        for i in range(theta.shape[0]):
            m[i] = m[i] * ADAM_BETA1 + (1.0 - ADAM_BETA1) * g[i]
            s[i] = s[i] * ADAM_BETA2 + (1.0 - ADAM_BETA2) * g[i] * g[i]
            theta[i] -= lr * (m[i] / c1) / (math.sqrt(s[i] / c2) + ADAM_EPS)


def _nb_epochs(X, y, orders, lrs, batch_size, act, out, loss, opt, mu, t,
               theta, v, m, s, params, grad, grads, a1, dz1, z2, a2, dz2,
               loss_out, acc_out, mae_out):
    """``_numpy_epochs`` as loops: one epoch per row of ``orders``.

    theta, v, m, s and grad are flat vectors (P,): the parameters, their
    optimizer state and their gradient. ``params`` and ``grads`` are views
    into theta and grad: (w1, b1, w2, b2, w3, b3) and (dw1, ..., db3). a1,
    dz1 (l1,) and z2, a2, dz2 (l2,) are scratch. act, out, loss and opt are
    codes from _ACT_CODES, _LOSS_CODES and _OPT_CODES. Fills loss_out,
    acc_out and mae_out per epoch; returns (epochs run, Adam's step count t).
    """
    w1, b1, w2, b2, w3, b3 = params
    dw1, db1, dw2, db2, dw3, db3 = grads
    n = X.shape[0]
    l1, l2 = w2.shape
    n_small = theta.shape[0] - l1 * l2          # the parameters before w2
    epochs_run = 0
    for e in range(orders.shape[0]):
        lr = lrs[e]
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            n_batch = stop - start
            for i in range(n_small):            # dw2 is not zeroed: the first row writes it
                grad[i] = 0.0
            for i in range(start, stop):        # sum the gradient over the batch's rows
                r = orders[e, i]
                x0, x1, y_r = X[r, 0], X[r, 1], y[r, 0]
                z3, a3 = _nb_forward(x0, x1, w1, b1, w2, b2, w3, b3, act, out, a1, z2, a2)
                if loss == 0:                   # dL/dz3, as in Model._gradients
                    dz3 = (a3 - y_r) * _nb_der_f(a3, out) / n_batch
                else:
                    dz3 = (a3 - y_r) / n_batch
                db3[0, 0] += dz3
                for k in range(l2):
                    dw3[k, 0] += a2[k] * dz3
                    dz2[k] = dz3 * w3[k, 0] * _nb_der_f(a2[k], act)
                    db2[0, k] += dz2[k]
                for j in range(l1):             # row j of w2: da1_j, then dw2[j]
                    a1_j = a1[j]
                    dz1[j] = _nb_dot(dz2, w2, j) * _nb_der_f(a1_j, act)
                    if i == start:
                        for k in range(l2):
                            dw2[j, k] = a1_j * dz2[k]
                    else:
                        for k in range(l2):
                            dw2[j, k] += a1_j * dz2[k]
                for j in range(l1):
                    dw1[0, j] += x0 * dz1[j]
                    dw1[1, j] += x1 * dz1[j]
                    db1[0, j] += dz1[j]
            c1 = c2 = 1.0
            if opt == 2:                        # Adam counts steps, not epochs
                t += 1
                c1 = 1.0 - _nb_powi(ADAM_BETA1, t)
                c2 = 1.0 - _nb_powi(ADAM_BETA2, t)
            _nb_update(theta, v, m, s, grad, opt, lr, mu, c1, c2)
        total_loss = total_abs = 0.0            # _metrics, over the whole training set
        correct = 0
        for r in range(n):
            z3, a3 = _nb_forward(X[r, 0], X[r, 1], w1, b1, w2, b2, w3, b3, act, out,
                                 a1, z2, a2)
            diff = a3 - y[r, 0]
            if loss == 0:
                total_loss += 0.5 * (diff * diff)
            else:
                total_loss += _nb_softplus(z3) - y[r, 0] * z3
            correct += (a3 > 0.5) == (y[r, 0] == 1.0)
            total_abs += abs(diff)
        loss_out[e] = total_loss / n
        acc_out[e] = correct / n
        mae_out[e] = total_abs / n
        epochs_run = e + 1
        if not math.isfinite(loss_out[e]):
            break
    return epochs_run, t


_NB_FUNCTIONS = ("_nb_exp", "_nb_log1p", "_nb_tanh", "_nb_powi", "_nb_f", "_nb_der_f",
                 "_nb_softplus", "_nb_forward", "_nb_dot", "_nb_update", "_nb_epochs")
_nb_kernel = None


def _numba_kernel():
    """``_nb_epochs`` compiled; compiles every ``_nb_*`` function on first use."""
    global _nb_kernel
    if _nb_kernel is None:
        import numba
        namespace = globals()
        for name in _NB_FUNCTIONS:              # each is replaced by its compiled twin
            namespace[name] = numba.njit(namespace[name], cache=True, nogil=True,
                                         error_model="numpy", fastmath=False)
        _nb_kernel = namespace["_nb_epochs"]
    return _nb_kernel


def _param_shapes(model):
    l1, l2 = model.hidden_size
    return {"w1": (2, l1), "b1": (1, l1), "w2": (l1, l2), "b2": (1, l2),
            "w3": (l2, 1), "b3": (1, 1)}


def _numba_can_train(model):
    """Whether the compiled loops compute what ``model`` would.

    Not for a subclass that overrides the forward pass, the gradients or the
    step (the kernel would skip the override), nor for parameter or state
    arrays replaced by hand with ones of another shape or dtype.
    """
    if any(getattr(type(model), name) is not getattr(Model, name)
           for name in ("_forward", "_gradients", "_step", "_loss")):
        return False
    shapes = _param_shapes(model)
    return all(isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == shapes[name]
               for p in ("", *_OPT_STATE[model.optimizer]) for name in PARAM_NAMES
               for a in [getattr(model, p + name)])


def _numba_epochs(model, X, y, orders, lrs, batch_size):
    """Compiled engine: the epochs of ``_numpy_epochs``, run by ``_nb_epochs``."""
    if not _numba_can_train(model):
        return _numpy_epochs(model, X, y, orders, lrs, batch_size)   # e.g. edited by hand
    l1, l2 = model.hidden_size
    shapes = _param_shapes(model)
    prefixes = ("", *_OPT_STATE[model.optimizer])
    arrays = {p: [getattr(model, p + name) for name in _FLAT_ORDER] for p in prefixes}
    try:
        kernel = _numba_kernel()
    except ImportError as exc:                  # numba is installed but broken
        ENGINES.pop("numba", None)
        warnings.warn(f"numba cannot be imported ({exc}); training with the numpy "
                      "engine instead.", RuntimeWarning, stacklevel=3)
        return _numpy_epochs(model, X, y, orders, lrs, batch_size)
    flat = {p: np.concatenate([a.ravel() for a in row]) for p, row in arrays.items()}
    theta = flat[""]                            # (P,)
    grad = np.empty_like(theta)                 # (P,)
    bounds = np.cumsum([0] + [math.prod(shapes[name]) for name in _FLAT_ORDER])
    views = {name: (theta[lo:hi].reshape(shapes[name]), grad[lo:hi].reshape(shapes[name]))
             for name, lo, hi in zip(_FLAT_ORDER, bounds[:-1], bounds[1:], strict=True)}
    epochs = len(orders)
    loss, acc, mae = np.empty(epochs), np.empty(epochs), np.empty(epochs)
    done, t = kernel(
        np.ascontiguousarray(X), np.ascontiguousarray(y),
        np.ascontiguousarray(orders, dtype=np.int64), np.ascontiguousarray(lrs, dtype=float),
        int(batch_size), _ACT_CODES[model.activation], _ACT_CODES[model.output_activation],
        _LOSS_CODES[model.loss], _OPT_CODES[model.optimizer], float(model.momentum),
        int(model.t),
        # v, m, s: the optimizer's state; those it does not use are never read
        theta, flat.get("v_", theta), flat.get("m_", theta), flat.get("s_", theta),
        tuple(views[name][0] for name in PARAM_NAMES), grad,
        tuple(views[name][1] for name in PARAM_NAMES),
        np.empty(l1), np.empty(l1), np.empty(l2), np.empty(l2), np.empty(l2), loss, acc, mae)
    for p, row in arrays.items():               # back into the model's own arrays
        for a, lo, hi in zip(row, bounds[:-1], bounds[1:], strict=True):
            a[...] = flat[p][lo:hi].reshape(a.shape)
    model.t = int(t)
    model.lr = float(lrs[done - 1])
    return loss[:done].tolist(), acc[:done].tolist(), mae[:done].tolist()


def _numba_installed():
    import importlib.util
    return importlib.util.find_spec("numba") is not None


if _numba_installed():                          # "auto" then picks it
    ENGINES["numba"] = _numba_epochs

# =============================================================================
# Training loop
# =============================================================================


def train(model, X, y, epochs, batch_size=1, shuffle=False, lr_decay=1.0, seed=None,
          engine="auto", progress=False, callback=None, diagnostics=False):
    r"""Train ``model`` in place on (X, y) and return its ``History``.

    Each epoch visits every row once, ``batch_size`` rows per update, in
    order (the lab's default) or in a fresh random order if ``shuffle``.
    Each update is ``model.step(model.gradients(X_batch, y_batch))``.

    Parameters
    ----------
    model : Model
    X : array_like of shape (n, 2)
    y : array_like of shape (n, 1), labels 0/1
    epochs : int
        Number of passes over the data, >= 1.
    batch_size : int, default 1
        Rows per update: 1 is the lab's per-sample SGD; n is full batch.
    shuffle : bool, default False
        Visit the rows in a new random order each epoch.
    lr_decay : float, default 1.0
        After every epoch from the second on, lr <- lr * lr_decay, so epoch
        e (1-based) uses :math:`\eta_0 \cdot \text{lr\_decay}^{\max(0, e-2)}`.
        The lab's code did this with 0.9 by accident. ``model.lr`` is
        restored when training ends.
    seed : int or None
        Seed of the shuffling order.
    engine : {"auto", "numba", "numpy"}
        "numpy" runs the reference above; "numba" a compiled loop that gives
        the same numbers up to rounding (about 1e-15 per step; a chaotic run,
        e.g. a large lr, amplifies that like any change of summation order)
        and covers every option; "auto" picks numba when it is installed.
        numba is optional: without it only "auto" and "numpy" exist. Its first
        run compiles for a second or two, once: the machine code is cached on
        disk. The reference trains, whatever ``engine`` says, a subclass of
        ``Model`` that overrides its forward pass, gradients, loss or step,
        and a model whose parameter or state arrays were replaced by ones of
        another shape or dtype; ``History.engine`` says which engine ran.
    progress : bool, default False
        Show a progress bar (tqdm, a widget in notebooks).
    callback : callable or None
        Called as ``callback(epoch, history)`` after every chunk of epochs
        (about 1% of the run); useful for live plots.
    diagnostics : bool, default False
        Also record, per weight matrix and epoch, the gradient norm and the
        update-to-weight ratio (``History.grad_norm``, ``History.update_ratio``).
        They are measured on every update, which the compiled loops do not
        do: with diagnostics the numpy reference engine always runs.

    Returns
    -------
    History
        Per-epoch loss, accuracy, mae and lr, and ``diverged_at``.

    Warns
    -----
    RuntimeWarning
        Once, if the loss becomes NaN or inf; training stops at that epoch
        and the history so far is returned.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a backprop_core.Model, got {type(model).__name__}.")
    X, y = _check_Xy(X, y)
    epochs = _check_positive_int(epochs, "epochs", "epochs=1000")
    batch_size = _check_positive_int(batch_size, "batch_size", "batch_size=1")
    lr_decay = _check_real(lr_decay, "lr_decay", 0.0, math.inf, True, "lr_decay=1.0")
    engine = _check_choice(engine, "engine", ("auto", *ENGINES))
    diagnostics = _check_choice(diagnostics, "diagnostics", (False, True))
    if engine == "auto":
        engine = "numba" if "numba" in ENGINES else "numpy"
    if engine == "numba" and (diagnostics or not _numba_can_train(model)):
        engine = "numpy"                # measured per update; a subclass; arrays replaced
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    orders = (np.array([rng.permutation(n) for _ in range(epochs)]) if shuffle
              else np.tile(np.arange(n), (epochs, 1)))                   # (epochs, n)
    lr0 = model.lr
    # lr0 lr_decay^max(0, e-2), by repeated products: np.power may differ by CPU
    lrs = lr0 * np.cumprod(np.r_[1.0, 1.0, np.full(max(epochs - 2, 0), lr_decay)])[:epochs]
    history = History(engine=engine)
    run = ENGINES[engine]
    if diagnostics:
        history.grad_norm = {name: [] for name in WEIGHT_NAMES}
        history.update_ratio = {name: [] for name in WEIGHT_NAMES}
        run = partial(_numpy_epochs, health=history)
    # one engine call per ~1% of the run when someone watches, else one call
    chunk = max(1, epochs // 100) if (progress or callback is not None) else epochs
    bar = _progress_bar(epochs, progress)
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            for e0 in range(0, epochs, chunk):
                loss, acc, mae = run(model, X, y, orders[e0:e0 + chunk],
                                     lrs[e0:e0 + chunk], batch_size)
                history.loss += loss
                history.accuracy += acc
                history.mae += mae
                history.lr += [float(v) for v in lrs[e0:e0 + len(loss)]]
                if bar is not None:
                    bar.update(len(loss))
                    bar.set_postfix(loss=f"{loss[-1]:.4f}", acc=f"{acc[-1]:.3f}")
                if callback is not None:
                    callback(history.epochs, history)
                if not math.isfinite(loss[-1]):
                    history.diverged_at = history.epochs
                    break
    finally:
        model.lr = lr0
        if bar is not None:
            bar.close()
        history.seconds = time.perf_counter() - start
    if history.diverged_at is not None:
        advice = (f"a smaller lr than {lr0:g}" if model.activation != "none"
                  and model.output_activation != "none" else
                  f"a smaller lr than {lr0:g}, or a squashing activation such as 'sigmoid' "
                  "(activation='none' lets values grow without bound)")
        warnings.warn(
            f"training diverged: the loss became {history.loss[-1]} at epoch "
            f"{history.diverged_at} of {epochs} (lr={lr0:g}, activation="
            f"{model.activation!r}, output_activation={model.output_activation!r}). "
            f"Training stopped there and the history so far is kept. Try {advice}.",
            RuntimeWarning, stacklevel=2)
    return history

# =============================================================================
# Gradient check
# =============================================================================


def rel_error(a, b):
    """Max relative error max |a - b| / max(1e-8, |a| + |b|), as in CS231n."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# order -> {k: c_k}: dL/dtheta ~ sum_k c_k (L(theta + k eps) - L(theta - k eps)) / eps.
# Taking the differences in symmetric pairs gives exactly 0 where L does not move.
_STENCILS = {2: {1: 1 / 2}, 4: {1: 8 / 12, 2: -1 / 12}}
_DEFAULT_EPS = {2: 1e-5, 4: 1e-3}


def numerical_gradients(model, X, y, eps=None, order=4):
    r"""Central finite differences of the loss, one parameter element at a time.

    ``order=2`` is the textbook formula, with error O(eps^2):

    .. math:: \frac{\partial L}{\partial\theta_i} \approx
              \frac{L(\theta + \epsilon e_i) - L(\theta - \epsilon e_i)}{2\epsilon}

    ``order=4`` (the default) adds the points at 2 eps, with error O(eps^4):

    .. math:: \frac{L(\theta - 2\epsilon e_i) - 8 L(\theta - \epsilon e_i)
              + 8 L(\theta + \epsilon e_i) - L(\theta + 2\epsilon e_i)}{12\epsilon}

    Its larger default step (1e-3 against 1e-5) keeps round-off, which grows
    like 1e-16 L / eps, small enough to check gradient components near 1e-7.

    Parameters
    ----------
    model : Model
    X : array_like of shape (n, 2)
    y : array_like of shape (n, 1)
    eps : float, optional
        Step; default 1e-5 for order 2 and 1e-3 for order 4.
    order : {2, 4}

    Returns
    -------
    dict
        Name -> array, like ``Model.gradients``. Costs ``order`` forward
        passes per parameter element: use small networks.
    """
    X, y = _check_Xy(X, y)
    order = _check_choice(order, "order", _STENCILS)
    eps = _DEFAULT_EPS[order] if eps is None else _check_real(
        eps, "eps", 0.0, math.inf, True, "eps=1e-5")
    numeric = {}
    for name in PARAM_NAMES:
        theta = getattr(model, name)
        grad = np.zeros_like(theta)
        for idx in np.ndindex(theta.shape):
            old = theta[idx]
            for k, c_k in _STENCILS[order].items():
                theta[idx] = old + k * eps
                loss_plus = model._loss(*model._forward(X)[2:], y)
                theta[idx] = old - k * eps
                loss_minus = model._loss(*model._forward(X)[2:], y)
                grad[idx] += c_k * (loss_plus - loss_minus)
            theta[idx] = old
        numeric[name] = grad / eps
    return numeric


def gradient_check(model, X, y, eps=None, order=4):
    """Compare ``model.gradients`` with central differences, per parameter.

    Parameters are as in ``numerical_gradients``.

    Returns
    -------
    dict
        Name -> max relative error (``rel_error``). Below about 1e-7 the
        analytic gradient is right; around 1e-2 or above something is wrong.
    """
    analytic = model.gradients(X, y)
    numeric = numerical_gradients(model, X, y, eps, order)
    return {name: rel_error(analytic[name], numeric[name]) for name in PARAM_NAMES}

# =============================================================================
# Experiments
# =============================================================================


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
    model = Model(config.hidden_size, lr=config.lr, momentum=config.momentum,
                  activation=config.activation, output_activation=config.output_activation,
                  seed=init_seq, optimizer=config.optimizer, loss=config.loss,
                  init=config.init)
    model.seed = config.seed
    return X, y, model, shuffle_seq


def _train_run(config, X, y, model, shuffle_seq, engine, progress, callback):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # kept in history.diverged_at
        return train(model, X, y, config.epochs, batch_size=config.batch_size,
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


def sweep(grid, seeds=range(5), base=None, engine="auto", progress=False):
    """Run every combination of ``grid`` for every seed.

    Parameters
    ----------
    grid : dict
        ``RunConfig`` field -> list of values, e.g. ``{"lr": [0.1, 0.01]}``.
    seeds : iterable of int
    base : RunConfig, optional
        Values of the fields not in ``grid``.

    Returns
    -------
    list of dict
        One ``run_experiment`` row per (combination, seed).
    """
    base = base or RunConfig()
    names = list(grid)
    combos = [dict(zip(names, values, strict=True)) for values in product(*grid.values())]
    jobs = [(combo, seed) for combo in combos for seed in seeds]
    bar = _progress_bar(len(jobs), progress)
    rows = []
    for combo, seed in jobs:
        rows.append(run_experiment(base, engine=engine, seed=seed, **combo)[2])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows


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

# =============================================================================
# Exercise checkers
# =============================================================================
# The workbook's exercises ask the student to write der_sigmoid, the forward
# pass, the six gradients, the momentum step and a finite-difference gradient.
# Each ``check_*`` runs the student's function on a few fixed random cases
# against the reference above. A pass prints one line. A failure says which
# output is wrong and by how much and, where it recognises a typical mistake,
# names it: the checker computes that mistake's answer with the reference and
# compares. The student's errors never escape as tracebacks, and the checkers
# work on their own copies, so nothing of the caller's is changed.

_RTOL, _ATOL = 1e-6, 1e-9      # float64 re-implementations agree far closer than this


class _Fail(Exception):
    """Stops a check at the first failure; its message is the verdict."""


def _run_check(title, body, fn):
    """Run ``body(fn, name)``, print the verdict and return True or False."""
    name = getattr(fn, "__name__", "")
    name = name if name.isidentifier() else "your_function"
    if not callable(fn):
        print(f"✗ {title}: expected your function, got {type(fn).__name__} {fn!r:.60}. "
              f"Pass the function itself, without calling it: {title}(my_function).")
        return False
    try:
        message = body(fn, name)
    except _Fail as fail:
        print(f"✗ {title}: {fail}")
        return False
    print(f"✓ {title}: {message}")
    return True


def _short(text, limit=240):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _where(exc):
    """The innermost frame outside numpy and this module: (' (in `fn`, at `line`)', line)."""
    import traceback
    np_dir = np.__file__.rsplit("__init__", 1)[0]
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename != __file__ and not f.filename.startswith(np_dir)]
    if not frames:
        return "", ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f" (in `{frame.name}`" + (f", at `{line}`)" if line else ")"), line


def _hint(exc, usage, line=""):
    text = str(exc)
    shapes = isinstance(exc, ValueError) and any(w in text for w in ("matmul", "shape",
                                                                     "broadcast", "align"))
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
        return ("the model's parameters are model.w1, model.b1, ..., model.b3, its "
                "velocities model.v_w1, ..., model.v_b3, and its hyperparameters model.lr "
                "and model.momentum.")
    if isinstance(exc, KeyError):
        return "gradient dicts have the keys 'w1', 'b1', 'w2', 'b2', 'w3', 'b3'."
    if isinstance(exc, IndexError):
        return "an index is out of range: print the shapes of the arrays you index."
    return f"call it by hand as {usage} on a small input and read the message."


def _call(fn, args, case, usage):
    """``fn(*args)``, with the student's exceptions turned into a friendly verdict."""
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
                        f"{where} on {case}. Hint: {_hint(exc, usage, line)}") from None


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
    if isinstance(got, (tuple, list)) and not isinstance(got, np.ndarray):
        raise _Fail(f"{what} should be a numpy array of shape {shape}, but your function "
                    f"returned a {type(got).__name__} of {len(got)} items on {case}. "
                    f"Return one array.{shape_hint}")
    if not isinstance(got, (np.ndarray, np.generic, float, int)) or isinstance(got, bool) or (
            not np.issubdtype(np.asarray(got).dtype, np.number)):
        raise _Fail(f"{what} should be a numpy array of numbers, shape {shape}; your function "
                    f"returned {type(got).__name__} {_short(repr(got), 60)} on {case}.")
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


def _describe(hidden_size, n, scale):
    rows = "1 row" if n == 1 else f"{n} rows"
    return f"hidden {hidden_size} with {rows}" + (" and saturated units" if scale > 1 else "")

# -- der_sigmoid ---------------------------------------------------------------


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


def _check_der_sigmoid(fn, name):
    usage = f"{name}(y)"
    cases = list(_der_sigmoid_cases())
    for i, (label, y) in enumerate(cases, start=1):
        case = f"case {i} of {len(cases)} ({label})"
        y_in = y.copy()
        got = _array(_call(fn, (y_in,), case, usage), f"{name}(y)", y.shape, case,
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

# -- forward -------------------------------------------------------------------


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
        result = _call(fn, (student, X.copy()), case, usage)
        if isinstance(result, (tuple, list)) and len(result) >= 2:
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

# -- gradients -----------------------------------------------------------------


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
        of sigma(z), a missing sigma', a transposed matrix, a sum instead of a
        mean (or the reverse), a missing 1/2, a flipped sign.
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
    z1 = X @ model.w1 + model.b1                                    # (n, l1)
    a1 = sigmoid(z1)
    z2 = a1 @ model.w2 + model.b2                                   # (n, l2)
    a2 = sigmoid(z2)
    z3 = a2 @ model.w3 + model.b3                                   # (n, 1)
    a3 = sigmoid(z3)

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
        grads = _call(fn, (student, X.copy(), y.copy()), case, usage)
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
        for key in wrong:
            if key[0] == "w" and _close(got[key], want[key].T):
                inputs = {"1": "X", "2": "a1", "3": "a2"}[key[1]]
                factors.append(f"d{key} is the transpose of the right answer: "
                               f"d{key} = {inputs}.T @ dz{key[1]}")
                continue
            r = want[key].ravel()
            c = float(got[key].ravel() @ r / (r @ r)) if r @ r > 0 else 0.0
            if abs(c) > 1e-12 and _close(got[key], c * want[key]):
                factors.append(f"d{key} is {c:.4g} times the right value")
        if factors:
            message += " " + "; ".join(factors) + "."
    lines.append("  Diagnosis: " + message)
    return "\n".join(lines)

# -- momentum step -------------------------------------------------------------


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
        The verdict names a swapped sign or order, plain SGD, a missing
        learning rate, and a hard-coded lr or momentum.
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
            else:
                v[k] = mu * v[k] + (g if rule == "no_lr" else lr * g)
                theta[k] = theta[k] + v[k] if rule == "ascent" else theta[k] - v[k]
        out.append({k: a.copy() for k, a in theta.items()})
    return out


def _step_mistakes(model, grads_seq):
    yield ("the momentum sign is swapped: the parameters move uphill, along +g. The lab's "
           "rule is v ← μ v + η g, then θ ← θ − v (or, the same, v ← μ v − η g, then "
           "θ ← θ + v).", _momentum_trajectory(model, grads_seq, "ascent"))
    yield ("the order is swapped: θ was updated with the OLD velocity. First "
           "v ← μ v + η g, then θ ← θ − v with the new v.",
           _momentum_trajectory(model, grads_seq, "order"))
    yield ("no momentum: your update is plain SGD, θ ← θ − η g. Keep a velocity per "
           "parameter in model.v_<name>: v ← μ v + η g, then θ ← θ − v.",
           _momentum_trajectory(model, grads_seq, "sgd"))
    yield ("the learning rate is missing: v ← μ v + η g, with η = model.lr.",
           _momentum_trajectory(model, grads_seq, "no_lr"))
    yield ("the momentum is hard-coded as 0.9: use model.momentum, which this case sets to "
           f"{model.momentum:g}.", _momentum_trajectory(model, grads_seq, momentum=0.9))
    yield ("the learning rate is hard-coded as 0.1: use model.lr, which this case sets to "
           f"{model.lr:g}.", _momentum_trajectory(model, grads_seq, lr=0.1))


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
            result = _call(fn, (student, {k: g.copy() for k, g in grads.items()}), case, usage)
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

# -- gradient check ------------------------------------------------------------


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
        element at once, an ignored ``eps``, and an ``x`` left changed.
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


def _check_gradient_check(fn, name):
    eps = 1e-4
    usage = f"{name}(f, x, eps)"
    cases = list(_gradient_check_cases())
    for i, (label, f, x0, exact) in enumerate(cases, start=1):
        case = f"case {i} of {len(cases)} ({label}, eps={eps:g})"
        x_in = x0.copy()
        got = _array(_call(fn, (f, x_in, eps), case, usage), "the numerical gradient",
                     x0.shape, case, " Return one derivative per element of x, in x's shape "
                     "(np.zeros_like(x) is a good start).")
        if not np.array_equal(x_in, x0):
            raise _Fail(f"your function left x changed on {case} (max change "
                        f"{float(np.max(np.abs(x_in - x0))):.2g}). After perturbing x[i], put "
                        "the old value back before the next element, and at the end.")
        central = _central(f, x0, eps)
        scale = 1.0 + float(np.max(np.abs(exact)))
        tolerance = 10.0 * float(np.max(np.abs(central - exact))) + 1e-8 * scale
        if float(np.max(np.abs(got - exact))) <= tolerance:
            continue
        message = (f"wrong values on {case}: {_by_how_much(got, exact)} against the exact "
                   f"gradient, where central differences with this eps are within "
                   f"{float(np.max(np.abs(central - exact))):.2g}.")
        diagnosis = _gradient_check_diagnosis(f, x0, eps, got, central, exact)
        raise _Fail(message + "\n  Diagnosis: " + diagnosis)
    return (f"{name}(f, x, eps) gives central differences on all {len(cases)} cases, "
            "and leaves x as it found it.")


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
        if fit < 0.05:
            kind = "forward" if h > 0 else "backward"
            return (f"a one-sided ({kind}) difference, with a step of about {abs(h):.2g}: "
                    "the error is proportional to f''(x), as for (f(x + h) − f(x)) / h. "
                    f"Use the central difference {central_rule} with the eps passed in.")
    return (f"use the central difference {central_rule}, one element at a time, with the "
            "eps passed in, and restore x[i] after each one.")

# =============================================================================
# Plots (matplotlib is imported here only, so the numerics need numpy alone)
# =============================================================================

#: class -> colour, the same in every figure of the workbook.
CLASS_COLORS = {0: "tab:red", 1: "tab:blue"}


def _axes(ax, figsize=(4, 4)):
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(X, y, ax=None, title="Data"):
    """Scatter the points of (X, y), coloured by class; returns the axes."""
    ax = _axes(ax)
    y = np.asarray(y).ravel()
    for label, color in CLASS_COLORS.items():
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], c=color, s=25, edgecolors="k",
                   linewidths=0.4, label=f"class {label}")
    ax.set(xlabel="$x_0$", ylabel="$x_1$", title=title, aspect="equal",
           xlim=(-0.1, 1.1), ylim=(-0.1, 1.1))
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return ax


def show_result(X, y, pred_y):
    """The lab's figure: ground truth beside the prediction; returns the figure."""
    import matplotlib.pyplot as plt
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 4))
    plot_data(X, y, ax0, title="Ground truth")
    plot_data(X, pred_y, ax1, title="Predict result")
    fig.tight_layout()
    return fig


def plot_decision_boundary(model, X=None, y=None, ax=None, resolution=200, title=None):
    """Shade the model's output over the unit square and draw the 0.5 contour."""
    ax = _axes(ax)
    grid = np.linspace(-0.1, 1.1, resolution)
    xx0, xx1 = np.meshgrid(grid, grid)
    with np.errstate(all="ignore"):
        y_hat = model._forward(np.c_[xx0.ravel(), xx1.ravel()])[3].reshape(xx0.shape)
    image = ax.contourf(xx0, xx1, y_hat, levels=np.linspace(0, 1, 11), cmap="RdBu",
                        alpha=0.35, extend="both")
    if np.ptp(y_hat) > 0:
        ax.contour(xx0, xx1, y_hat, levels=[0.5], colors="k", linewidths=1.2)
    if X is not None:
        plot_data(X, y, ax, title=title or "Decision boundary")
    else:
        ax.set(xlabel="$x_0$", ylabel="$x_1$", aspect="equal", title=title or "Output")
    return image


def plot_history(history, axes=None, label=None):
    """Loss and accuracy curves of a ``History``, on two axes; returns the axes."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, history.epochs + 1)
    axes[0].plot(epochs, history.loss, label=label)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Training loss", yscale="log")
    axes[1].plot(epochs, history.accuracy, label=label)
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="Training accuracy",
                ylim=(-0.02, 1.02))
    if history.diverged_at is not None:
        for ax in axes:
            ax.axvline(history.diverged_at, color="k", ls="--", lw=1)
    if label is not None:
        axes[1].legend(fontsize=8)
    return axes


def draw_network(hidden_size, ax=None, max_drawn=8):
    """Draw the 2 -> l1 -> l2 -> 1 architecture (the lab's Figure 2)."""
    ax = _axes(ax, figsize=(7, 4))
    sizes = [2, *hidden_size, 1]
    names = ["input\n$X$ (n, 2)", f"hidden 1\n$a_1$ (n, {sizes[1]})",
             f"hidden 2\n$a_2$ (n, {sizes[2]})", "output\n$\\hat y$ (n, 1)"]
    positions = []
    for i, size in enumerate(sizes):
        drawn = min(size, max_drawn)
        ys = np.linspace(-1, 1, drawn) if drawn > 1 else np.zeros(1)
        positions.append(ys)
        ax.scatter(np.full(drawn, i), ys, s=250, c="white", edgecolors="k", zorder=3)
        if drawn < size:
            ax.text(i, -1.35, f"... {size} units", ha="center", fontsize=8)
        ax.text(i, 1.3, names[i], ha="center", va="bottom", fontsize=9)
    for i in range(3):
        for y0 in positions[i]:
            for y1 in positions[i + 1]:
                ax.plot([i, i + 1], [y0, y1], c="0.6", lw=0.5, zorder=1)
        ax.text(i + 0.5, -1.6, f"$W_{i + 1}$, $b_{i + 1}$", ha="center", fontsize=9)
    ax.set(xlim=(-0.5, 3.5), ylim=(-1.8, 2.0))
    ax.axis("off")
    return ax


def plot_health(history, axes=None):
    r"""Per-layer training health: gradient norms and update-to-weight ratios over epochs.

    Left, for each weight matrix W, the epoch's mean gradient norm
    :math:`\|\partial L / \partial W\|`; right, the epoch's mean
    update-to-weight ratio :math:`\|\Delta W\| / \|W\|`, with CS231n's rule of
    thumb 1e-3 as a dashed line. Both on a log scale; a layer whose ratio
    stays far below the line barely learns, one far above it is thrown about.

    Parameters
    ----------
    history : History
        From ``train(..., diagnostics=True)``, which fills ``history.grad_norm``
        and ``history.update_ratio``.
    axes : sequence of two matplotlib Axes, optional
        Where to draw; by default a new figure with two axes side by side.

    Returns
    -------
    sequence of two Axes

    Raises
    ------
    ValueError
        If ``history`` holds no diagnostics.
    """
    import matplotlib.pyplot as plt
    if not history.grad_norm or not history.update_ratio:
        raise ValueError("history has no diagnostics (history.grad_norm is empty). Train "
                         "with train(model, X, y, epochs, diagnostics=True) to record them.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, norms in history.grad_norm.items():
        epochs = np.arange(1, len(norms) + 1)
        label = f"$W_{name[1:]}$"
        axes[0].plot(epochs, norms, label=label)
        axes[1].plot(epochs, history.update_ratio[name], label=label)
    axes[1].axhline(1e-3, color="k", ls="--", lw=1, label="1e-3")
    axes[0].set(xlabel="epoch", ylabel=r"mean $\|\partial L / \partial W\|$",
                title="Gradient norm per layer", yscale="log")
    axes[1].set(xlabel="epoch", ylabel=r"mean $\|\Delta W\| \,/\, \|W\|$",
                title="Update-to-weight ratio", yscale="log")
    for ax in axes:
        ax.legend(fontsize=8)
    return axes

# =============================================================================
# Widgets (ipywidgets is imported here only)
# =============================================================================
# The same controls, with the same descriptions, in every notebook: the browser
# tests find the sliders by these descriptions.


def lr_slider(value=0.1, min_exp=-3, max_exp=0):
    """A ``FloatLogSlider`` for the learning rate, 10^min_exp .. 10^max_exp."""
    import ipywidgets as widgets
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.25,
                                  description="lr", continuous_update=False,
                                  readout_format=".3g")


def hidden_size_sliders(value=(5, 10), max_units=128):
    """Two ``IntSlider``s for the hidden widths, described "l1" and "l2"."""
    import ipywidgets as widgets
    return tuple(widgets.IntSlider(value=v, min=1, max=max_units, step=1,
                                   description=name, continuous_update=False)
                 for name, v in zip(("l1", "l2"), value, strict=True))


def playground_run(dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
                   output_activation="sigmoid", momentum=0.9, batch_size=1, epochs=150, seed=0,
                   engine="auto", callback=None):
    """Train one network of the playground; returns ``(model, X, y, history)``.

    The seeding is ``run_experiment``'s: ``seed`` draws the data ("linear" and
    "circle"), the initial weights and the shuffling from independent streams
    of ``np.random.SeedSequence(seed)``, so the numbers are those of the
    ``run_experiment`` row with the same fields. Rows are visited in the lab's
    order, 100 points for "linear" and "circle".

    Parameters
    ----------
    dataset : {"linear", "xor", "circle"}
    lr, hidden_size, activation, output_activation, momentum
        As in ``Model``.
    batch_size, epochs, engine
        As in ``train``.
    seed : int
    callback : callable or None
        Called as ``callback(model, X, y, history)`` after every chunk of
        epochs (about 1% of the run), with the model being trained: for live plots.

    Returns
    -------
    model : Model
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n, 1)
    history : History
        ``history.diverged_at`` tells whether and when the loss became NaN or
        inf; ``train``'s warning is silenced, as in ``run_experiment``.

    Notes
    -----
    With lr 0.1, momentum 0.9 and batch 1, per-sample training on "linear" is
    chaotic: for seed 0, weights that differ by 1e-13 give losses that agree
    to 14 digits up to epoch 150 and differ in the third digit at epoch 200,
    so engines that round differently (numba, numpy) part ways there too. The
    default of 150 epochs stays on the reproducible side.
    """
    config = RunConfig(dataset=dataset, hidden_size=hidden_size, lr=lr, momentum=momentum,
                       activation=activation, output_activation=output_activation,
                       epochs=epochs, batch_size=batch_size, seed=seed)
    X, y, model, shuffle_seq = _prepare_run(config)
    hook = None if callback is None else (lambda epoch, history: callback(model, X, y, history))
    history = _train_run(config, X, y, model, shuffle_seq, engine, False, hook)
    return model, X, y, history


def playground(dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
               output_activation="sigmoid", momentum=0.9, batch_size=1, epochs=150, seed=0,
               engine="auto", redraw_seconds=1.0):
    """A small TensorFlow Playground: controls that retrain the network and redraw it.

    Each change of a control calls ``playground_run`` with the controls' values.
    While it trains, a progress bar and a label follow the epochs; the figure
    (decision boundary over the data, loss and accuracy curves) is drawn when
    training ends and, in runs longer than ``redraw_seconds``, every
    ``redraw_seconds`` on the way. One figure is reused for every drawing.

    Parameters
    ----------
    dataset, lr, hidden_size, activation, output_activation, momentum, batch_size, epochs, seed
        The controls' starting values; see ``playground_run``.
    engine : {"auto", "numba", "numpy"}
        Passed to ``train``.
    redraw_seconds : float, default 1.0
        Least time between two drawings during training.

    Returns
    -------
    ipywidgets.VBox
        Controls, progress bar and output; display it. Its ``controls``
        attribute maps the names of ``playground_run``'s parameters (``l1``
        and ``l2`` for ``hidden_size``) to the widgets, ``out`` is the output.
    """
    import io

    import ipywidgets as widgets
    from IPython.display import Image, clear_output, display
    from matplotlib.figure import Figure

    style = {"description_width": "70px"}
    sliders = {"continuous_update": False, "style": style}
    l1, l2 = hidden_size_sliders(hidden_size)
    controls = {
        "dataset": widgets.Dropdown(options=DATASETS, value=dataset, description="data",
                                    style=style),
        "seed": widgets.IntSlider(value=seed, min=0, max=20, description="seed", **sliders),
        "l1": l1, "l2": l2,
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                       description="activation", style=style),
        "output_activation": widgets.Dropdown(options=OUTPUT_ACTIVATIONS,
                                              value=output_activation, description="output",
                                              style=style),
        "lr": lr_slider(lr, max_exp=1),
        "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                        description="momentum", **sliders),
        "batch_size": widgets.IntSlider(value=batch_size, min=1, max=100,
                                        description="batch", **sliders),
        "epochs": widgets.IntSlider(value=epochs, min=10, max=2000, step=10,
                                    description="epochs", **sliders),
    }
    for name in ("l1", "l2", "lr"):
        controls[name].style.description_width = style["description_width"]
    columns = [["dataset", "seed"], ["l1", "l2", "activation", "output_activation"],
               ["lr", "momentum", "batch_size", "epochs"]]
    box = widgets.HBox([widgets.VBox([controls[name] for name in column])
                        for column in columns], layout=widgets.Layout(flex_flow="row wrap"))
    progress = widgets.IntProgress(value=0, min=0, max=epochs, description="epoch",
                                   style=style)
    status = widgets.Label()

    # One figure, outside pyplot, with fixed margins: a redraw costs one render
    # and one PNG (constrained layout or bbox_inches="tight" would double it).
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.15, top=0.9, wspace=0.4)

    def draw(model, X, y, history, values):
        for ax in axes:
            ax.clear()
        plot_decision_boundary(model, X, y, ax=axes[0], resolution=100,
                               title=f"{values['dataset']}, epoch {history.epochs}")
        plot_history(history, axes=axes[1:])
        for ax in axes[1:]:
            ax.set_xlim(0, values["epochs"] + 1)
        if history.diverged_at is not None:
            axes[0].text(0.5, 0.5, f"diverged at epoch {history.diverged_at}", ha="center",
                         transform=axes[0].transAxes, bbox={"facecolor": "white"})
        clear_output(wait=True)
        print(f"data = {values['dataset']}, l1 = {values['l1']}, l2 = {values['l2']}, "
              f"activation = {values['activation']}, output = {values['output_activation']}, "
              f"lr = {values['lr']:.3g}, momentum = {values['momentum']:.2f}, "
              f"batch = {values['batch_size']}, epochs = {values['epochs']}, "
              f"seed = {values['seed']}")
        png = io.BytesIO()
        fig.savefig(png, format="png")
        display(Image(png.getvalue(), format="png"))

    def show(**values):
        last_draw = [time.perf_counter()]
        progress.max, progress.value = values["epochs"], 0

        def callback(model, X, y, history):
            progress.value = history.epochs
            status.value = (f"epoch {history.epochs} / {values['epochs']}: loss "
                            f"{history.loss[-1]:.4f}, accuracy {history.accuracy[-1]:.3f}")
            if time.perf_counter() - last_draw[0] > redraw_seconds:
                draw(model, X, y, history, values)
                last_draw[0] = time.perf_counter()

        model, X, y, history = playground_run(
            values["dataset"], values["lr"], (values["l1"], values["l2"]),
            values["activation"], values["output_activation"], values["momentum"],
            values["batch_size"], values["epochs"], values["seed"], engine, callback)
        draw(model, X, y, history, values)
        if history.diverged_at is not None:
            print(f"Training diverged at epoch {history.diverged_at}: the loss became "
                  f"{history.loss[-1]}, so training stopped there. Try a smaller lr, or "
                  "the sigmoid output, which keeps y_hat in (0, 1).")
        else:
            print(f"final loss {history.loss[-1]:.4f}, accuracy {history.accuracy[-1]:.4f} "
                  f"after {history.epochs} epochs ({history.engine} engine, "
                  f"{history.seconds:.2f} s)")

    out = widgets.interactive_output(show, controls)
    ui = widgets.VBox([box, widgets.HBox([progress, status]), out])
    ui.controls, ui.out = controls, out
    return ui
