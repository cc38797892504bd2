"""The lab's two-hidden-layer network, small enough to read beside the workbook.

``backprop_core`` is the one module that every notebook of the back-propagation
workbook imports. It implements, in numpy and bottom-up:

* the activations and their derivatives (sigmoid, tanh, relu, none), each
  derivative written in terms of the activation's *output*, as in the lab;
* the lab's two toy data sets, "linear" and "XOR";
* ``Model``: the feed-forward network 2 -> l1 -> l2 -> 1 of the lab report,
  with its forward pass, its exact gradients and its momentum update;
* ``train``, ``evaluate`` and ``gradient_check``;
* an experiment runner that sweeps grids over several seeds;
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
from itertools import product

import numpy as np

__all__ = [
    "ACTIVATIONS", "PARAM_NAMES", "CLASS_COLORS",
    "sigmoid", "der_sigmoid", "tanh", "der_tanh", "relu", "der_relu",
    "identity", "der_identity",
    "generate_linear", "generate_xor_easy", "load_dataset",
    "Model", "History", "train", "evaluate", "mean_abs_error", "rel_error",
    "numerical_gradients", "gradient_check", "RunConfig", "run_experiment", "sweep", "summarize",
    "format_table",
    "plot_data", "show_result", "plot_decision_boundary", "plot_history",
    "draw_network", "lr_slider", "hidden_size_sliders",
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
    >>> sigmoid(0.0)
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
    >>> der_sigmoid(sigmoid(0.0))
    0.25
    """
    return y * (1.0 - y)


def tanh(x):
    r"""Hyperbolic tangent, :math:`\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})`."""
    return np.tanh(x)


def der_tanh(y):
    r"""Derivative of tanh given its OUTPUT ``y = tanh(x)``: :math:`1 - y^2`."""
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


DATASETS = ("linear", "xor")


def load_dataset(name, n=100, seed=None):
    """Return ``(X, y)`` for a data set by name: "linear" (n points) or "xor".

    ``n`` and ``seed`` apply to "linear" only; "xor" is fixed.
    """
    if name == "linear":
        return generate_linear(n, seed=seed)
    if name == "xor":
        return generate_xor_easy()
    raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}. "
                     "Pass dataset='linear' or dataset='xor'.")

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
    if value not in choices:
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
        other = object.__new__(Model)
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
            correction1 = 1.0 - ADAM_BETA1 ** self.t
            correction2 = 1.0 - ADAM_BETA2 ** self.t
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
        seed = self.seed if _is_int(self.seed) else -1
        np.savez(path, format_version=_FORMAT_VERSION,
                 hidden_size=np.array(self.hidden_size), lr=self.lr, momentum=self.momentum,
                 activation=self.activation, output_activation=self.output_activation,
                 optimizer=self.optimizer, loss=self.loss, init=self.init,
                 seed=seed, t=self.t, **arrays)

    @classmethod
    def load(cls, path):
        """Load a model written by ``save``; a bad file raises ``ValueError``."""
        try:
            with np.load(path, allow_pickle=False) as data:
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
        try:
            seed = int(stored["seed"])
            model = cls(hidden_size=tuple(int(h) for h in stored["hidden_size"]),
                        lr=float(stored["lr"]), momentum=float(stored["momentum"]),
                        activation=str(stored["activation"]),
                        output_activation=str(stored["output_activation"]),
                        optimizer=str(stored["optimizer"]), loss=str(stored["loss"]),
                        init=str(stored["init"]), seed=None if seed < 0 else seed)
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
    seconds : float
        Wall-clock time of the run (not shown in the repr).
    """

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    mae: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    diverged_at: int | None = None
    engine: str = "numpy"
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


def _numpy_epochs(model, X, y, orders, lrs, batch_size):
    """Reference engine: epochs of ``Model._gradients`` then ``Model._step``.

    Runs one epoch per row of ``orders`` (a permutation of the rows of X) with
    learning rate ``lrs[e]``. Returns per-epoch (loss, accuracy, mae) lists and
    stops after the first epoch whose loss is not finite.
    """
    n = X.shape[0]
    out = ([], [], [])
    for order, lr in zip(orders, lrs, strict=True):
        model.lr = float(lr)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            model._step(model._gradients(X[rows], y[rows]))
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


def train(model, X, y, epochs, batch_size=1, shuffle=False, lr_decay=1.0, seed=None,
          engine="auto", progress=False, callback=None):
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
        the same numbers; "auto" picks numba when it is installed.
    progress : bool, default False
        Show a progress bar (tqdm, a widget in notebooks).
    callback : callable or None
        Called as ``callback(epoch, history)`` after every chunk of epochs
        (about 1% of the run); useful for live plots.

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
    if engine == "auto":
        engine = "numba" if "numba" in ENGINES else "numpy"
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    orders = (np.array([rng.permutation(n) for _ in range(epochs)]) if shuffle
              else np.tile(np.arange(n), (epochs, 1)))                   # (epochs, n)
    lr0 = model.lr
    lrs = lr0 * lr_decay ** np.maximum(np.arange(epochs) - 1, 0)         # (epochs,)
    history = History(engine=engine)
    run = ENGINES[engine]
    chunk = max(1, epochs // 100)
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
        warnings.warn(
            f"training diverged: the loss became {history.loss[-1]} at epoch "
            f"{history.diverged_at} of {epochs} (lr={lr0:g}, activation="
            f"{model.activation!r}). Training stopped there and the history so far is "
            "kept. Try a smaller lr, or a squashing activation such as 'sigmoid'.",
            RuntimeWarning, stacklevel=2)
    return history

# =============================================================================
# Gradient check
# =============================================================================


def rel_error(a, b):
    """Max relative error max |a - b| / max(1e-8, |a| + |b|), as in CS231n."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


_STENCILS = {2: {1: 0.5, -1: -0.5},                          # (L+ - L-) / 2 eps
             4: {-2: 1 / 12, -1: -8 / 12, 1: 8 / 12, 2: -1 / 12}}
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
            for k, weight in _STENCILS[order].items():
                theta[idx] = old + k * eps
                grad[idx] += weight * model._loss(*model._forward(X)[2:], y)
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

    dataset: str = "linear"           # "linear" or "xor"
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


def run_experiment(config=None, engine="auto", progress=False, **overrides):
    """Train one model as ``config`` says; ``overrides`` replace its fields.

    Returns
    -------
    model : Model
    history : History
    row : dict
        The config's fields plus the final ``final_loss``, ``accuracy``, ``mae``,
        ``diverged_at`` and ``epochs_run``.
    """
    config = replace(config or RunConfig(), **overrides)
    data_seq, init_seq, shuffle_seq = np.random.SeedSequence(config.seed).spawn(3)
    X, y = load_dataset(config.dataset, config.n, seed=data_seq)
    model = Model(config.hidden_size, lr=config.lr, momentum=config.momentum,
                  activation=config.activation, output_activation=config.output_activation,
                  seed=init_seq, optimizer=config.optimizer, loss=config.loss,
                  init=config.init)
    model.seed = config.seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # recorded in the row instead
        history = train(model, X, y, config.epochs, batch_size=config.batch_size,
                        shuffle=config.shuffle, lr_decay=config.lr_decay, seed=shuffle_seq,
                        engine=engine, progress=progress)
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
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
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


def format_table(summary, by, metrics=("mae", "accuracy"), digits=4):
    """A plain-text table of ``summarize`` output: one line per group, mean ± std."""
    header = [*by, *metrics, "runs"]
    lines = []
    for s in summary:
        cells = [str(s[k]) for k in by]
        cells += [f"{s[m + '_mean']:.{digits}f} ± {s[m + '_std']:.{digits}f}" for m in metrics]
        cells.append(str(s["runs"]) + (f" ({s['diverged']} diverged)" if s["diverged"] else ""))
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt.format(*header), rule, *(fmt.format(*c) for c in lines)])

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
    ax.legend(loc="upper left", fontsize=8, framealpha=0.8)
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
