"""The lab's two-hidden-layer network in numpy: read it beside notebooks 01 to 03.

Bottom-up: the activations and their derivatives (each takes the activation's *output*,
as the lab's ``der_sigmoid(y)`` does); the two data sets; ``Model``, the network
2 -> l1 -> l2 -> 1 with its forward pass, exact gradients and momentum step; ``train``
and ``evaluate``; the gradient check. Notation::

    X  (n, 2)   inputs, one row per sample       y  (n, 1)   labels in {0, 1}
    z1 = X  @ w1 + b1   (n, l1)                  a1 = f(z1)      (n, l1)
    z2 = a1 @ w2 + b2   (n, l2)                  a2 = f(z2)      (n, l2)
    z3 = a2 @ w3 + b3   (n, 1)                   a3 = g(z3) = y_hat  (n, 1)
    L  = mean over rows of 1/2 (a3 - y)^2        (loss="mse", the lab's)

Not a framework: no autograd, no layers; every gradient is written out by hand. The
workbook's tools (compiled engine, experiments, checkers, plots, widgets) live in the
``workbook`` package, which ``train`` reaches lazily.
"""

import copy
import importlib.util
import inspect
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ACTIVATIONS", "PARAM_NAMES", "sigmoid", "der_sigmoid", "tanh", "der_tanh", "relu",
           "der_relu", "identity", "der_identity", "generate_linear", "generate_xor_easy",
           "Model", "History", "train", "evaluate", "mean_abs_error", "rel_error",
           "numerical_gradients", "gradient_check"]

# =============================================================================
# Activations
# =============================================================================
# Each derivative takes the activation's OUTPUT a = f(z): the forward pass has
# computed a already, and sigma' is cheapest in terms of it.


def sigmoid(x):
    r"""Logistic sigmoid :math:`\sigma(x) = 1 / (1 + e^{-x})`, any shape, without overflow.

    With :math:`e = e^{-|x|} \le 1`, :math:`1/(1+e)` for x >= 0 and the equal
    :math:`e/(1+e)` for x < 0: ``exp(-x)`` itself overflows below x = -709.

    >>> float(sigmoid(0.0)), float(der_sigmoid(sigmoid(0.0))), float(sigmoid(-1000.0))
    (0.5, 0.25, 0.0)
    """
    x = _floats(x, "x")
    e = np.exp(-np.abs(x))                      # in (0, 1], never overflows
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out[()] if out.ndim == 0 else out


def der_sigmoid(y):
    r"""Derivative of the sigmoid given its OUTPUT ``y = sigmoid(x)``: :math:`y (1 - y)`.

    ``der_sigmoid(x)`` is not :math:`\sigma'(x)`; ``der_sigmoid(sigmoid(x))`` is.
    """
    y = _floats(y, "y")
    return y * (1.0 - y)


def tanh(x):
    r"""Hyperbolic tangent, :math:`(e^x - e^{-x}) / (e^x + e^{-x})`."""
    return np.tanh(_floats(x, "x"))


def der_tanh(y):
    r"""Derivative of tanh given its OUTPUT ``y = tanh(x)``: :math:`1 - y^2`."""
    return 1.0 - np.square(_floats(y, "y"))


def relu(x):
    r"""Rectified linear unit, :math:`\max(0, x)`."""
    return np.maximum(_floats(x, "x"), 0.0)


def der_relu(y):
    """Derivative of relu given its OUTPUT: 1 where y > 0, else 0 (0 at x = 0 too)."""
    return (_floats(y, "y") > 0).astype(float)


def identity(x):
    """No activation: f(x) = x, as a float array."""
    return _floats(x, "x")


def der_identity(y):
    """Derivative of the identity: 1 everywhere."""
    return np.ones_like(_floats(y, "y"))


#: name -> (f, der_f), where der_f takes f's OUTPUT.
ACTIVATIONS = {"sigmoid": (sigmoid, der_sigmoid), "tanh": (tanh, der_tanh),
               "relu": (relu, der_relu), "none": (identity, der_identity)}

# =============================================================================
# Data
# =============================================================================


def generate_linear(n=100, seed=None):
    """The lab's "linear" set: ``X`` (n, 2) uniform in [0, 1)^2, ``y`` (n, 1) 0.0 where
    x0 > x1, else 1.0 (the lab's rule); ``seed`` seeds the rng."""
    n = _check_positive_int(n, "n", "generate_linear(n=100)", most=10**7)     # 160 MB
    X = np.random.default_rng(_check_seed(seed)).uniform(0.0, 1.0, size=(n, 2))   # (n, 2)
    y = (X[:, 0] <= X[:, 1]).astype(float).reshape(n, 1)    # (n, 1)
    return X, y


def generate_xor_easy():
    """The lab's "XOR" set: 21 points on the diagonals of the unit square, (21, 2) and (21, 1).

    (0.1 i, 0.1 i) is labelled 0 and (0.1 i, 1 - 0.1 i) is labelled 1, for
    i = 0..10, except at i = 5 where the diagonals cross; the lab's row order.
    """
    rows = []                           # (x0, x1, label)
    for i in range(11):
        rows.append((0.1 * i, 0.1 * i, 0.0))
        if i != 5:                      # the centre belongs to one diagonal only
            rows.append((0.1 * i, 1.0 - 0.1 * i, 1.0))
    data = np.array(rows)                                   # (21, 3)
    return data[:, :2].copy(), data[:, 2:].copy()

# =============================================================================
# Validation (the public boundary): name the argument, show it, say what to pass
# =============================================================================


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _refuse(name, value, what, hint, error=TypeError):
    got = (f"an array of {value.dtype}, shape {value.shape}" if isinstance(value, np.ndarray)
           else f"{type(value).__name__} {value!r:.60}")
    raise error(f"{name} must be {what}, got {got}. {hint}")


def _check_positive_int(value, name, hint, most=None):
    if not _is_int(value) or value < 1 or most is not None and value > most:
        up = "" if most is None else f" up to {most:,}"
        raise ValueError(f"{name} must be a positive integer{up}, got {value!r}. Pass e.g. {hint}.")
    return int(value)


def _check_seed(seed, name="seed"):
    """What ``np.random.default_rng`` takes: None, an int >= 0, a SeedSequence, a Generator."""
    if not (seed is None or isinstance(seed, (np.random.SeedSequence, np.random.Generator))
            or _is_int(seed) and seed >= 0):
        _refuse(name, seed, "an integer >= 0, None or a np.random.SeedSequence",
                f"Pass e.g. {name}=0.", ValueError if _is_int(seed) else TypeError)
    return seed


def _check_real(value, name, low, high, low_open, hint):
    """A finite real number in the interval given by low, high and low_open."""
    if not (_is_int(value) or isinstance(value, (float, np.floating))):
        _refuse(name, value, "a real number", f"Pass e.g. {hint}.")
    value = float(value)
    if not math.isfinite(value) or (value <= low if low_open else value < low) or value >= high:
        lo, hi = "(" if low_open else "[", "inf)" if high == math.inf else f"{high:g})"
        raise ValueError(f"{name} must be a finite number in {lo}{low:g}, {hi}, "
                         f"got {value!r}. Pass e.g. {hint}.")
    return value


def _check_choice(value, name, choices):
    if not ((isinstance(value, str) or _is_int(value)) and value in choices):   # not 4.0, True
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r:.60}. "
                         f"Pass e.g. {name}={next(iter(choices))!r}.")
    return value


def _takes(f, n):
    """Whether ``f`` can be called with ``n`` positional arguments."""
    try:
        return inspect.signature(f).bind(*range(n)) is not None
    except ValueError:                  # a builtin without a signature: trust it
        return callable(f)
    except TypeError:                   # not callable, or another signature
        return False


def _floats(value, name, what="a number or an array of numbers", hint="Pass numbers."):
    """``value`` as a float array; strings, complex numbers, None and objects are refused."""
    try:
        ok = np.asarray(value).dtype.kind in "biuf"
    except ValueError:                  # ragged nested lists
        ok = False
    return np.asarray(value, dtype=float) if ok else _refuse(name, value, what, hint)


def _check_X(X, name="X", y=...):
    """X checked; given ``y`` (even None), the pair ``(X, y)``, y checked against X's rows."""
    X = _floats(X, name, "an array of numbers of shape (n, 2)", "Build it with np.array(...).")
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, 2), one row per point, n >= 1, got "
                         f"shape {X.shape}. Pass rows of two numbers: {name}.reshape(-1, 2).")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must contain finite numbers only; it has NaN or inf "
                         "values. Remove or impute them first.")
    return X if y is ... else (X, _check_y(y, X.shape[0]))


def _check_y(y, n, name="y"):
    y = _floats(y, name, "an array of 0/1 labels of shape (n, 1)", "Pass 0 and 1 (or bools).")
    if y.shape != (n, 1):
        raise ValueError(f"{name} must have shape (n, 1) = ({n}, 1), one label per row of X, got "
                         f"shape {y.shape}. Reshape with {name}.reshape(-1, 1).")
    if np.any(bad := (y != 0) & (y != 1)):
        raise ValueError(f"{name} must hold labels 0 or 1 only, got values "
                         f"{np.unique(y[bad])[:5].tolist()}. Threshold or map your labels to 0/1.")
    return y


def _check_model(model, train=False):
    """A Model whose hyperparameters and arrays are valid; to train, finite arrays too."""
    if not isinstance(model, Model):
        _refuse("model", model, "a backprop_core.Model", "Build one with Model(...).")
    l1, l2 = _check_hyper(vars(model), prefix="model.")["hidden_size"]
    one = {"w1": (2, l1), "b1": (1, l1), "w2": (l1, l2), "b2": (1, l2), "w3": (l2, 1), "b3": (1, 1)}
    for key in (p + k for p in ("", "v_", "m_", "s_") for k in PARAM_NAMES):
        a, shape = getattr(model, key, None), one[key[-2:]]
        if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind != "f":
            raise ValueError(f"model.{key} must be a float array of shape {shape}, got "
                             f"{type(a).__name__} {np.shape(a)}. Build a new Model.")
        if train and not np.all(np.isfinite(a)):
            raise ValueError(f"model.{key} holds NaN or inf: the model diverged. Train a new one.")
    if not (_is_int(model.t) and model.t >= 0):
        _refuse("model.t", model.t, "an integer >= 0, Adam's step count",
                "Call model.reset_optimizer().", ValueError if _is_int(model.t) else TypeError)

# =============================================================================
# Model
# =============================================================================

PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
OPTIMIZERS, LOSSES, INITS = ("momentum", "sgd", "adam"), ("mse", "bce"), ("normal", "xavier", "he")
OUTPUT_ACTIVATIONS = ("sigmoid", "none")
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
_OPT_STATE = {"momentum": ("v_",), "sgd": (), "adam": ("m_", "s_")}   # state array prefixes
MAX_PARAMS = 50_000_000                 # as workbook.modelfile's: 400 MB per set of arrays


def _check_hyper(h, prefix=""):
    """Model's hyperparameters, from the mapping ``h`` of its parameter names, checked."""
    hidden_size, p = h["hidden_size"], prefix
    if not (isinstance(hidden_size, (tuple, list)) and len(hidden_size) == 2
            and all(_is_int(h) and h >= 1 for h in hidden_size)):
        raise ValueError(f"{p}hidden_size must be two positive integers (l1, l2), "
                         f"got {hidden_size!r:.60}. Pass e.g. hidden_size=(5, 10).")
    l1, l2 = int(hidden_size[0]), int(hidden_size[1])
    out = {"hidden_size": (l1, l2), "lr": _check_real(h["lr"], p + "lr", 0, math.inf, True,
                                                      "lr=0.1"),
           "momentum": _check_real(h["momentum"], p + "momentum", 0, 1, False, "momentum=0.9")}
    for name, choices in (("activation", ACTIVATIONS), ("output_activation", OUTPUT_ACTIVATIONS),
                          ("optimizer", OPTIMIZERS), ("loss", LOSSES), ("init", INITS)):
        out[name] = _check_choice(h[name], p + name, choices)
    if out["loss"] == "bce" and out["output_activation"] != "sigmoid":
        raise ValueError("loss='bce' needs output_activation='sigmoid' (probabilities), got "
                         f"output_activation={out['output_activation']!r}. Use loss='mse'.")
    if (size := 3 * l1 + l1 * l2 + 2 * l2 + 1) > MAX_PARAMS:
        raise ValueError(f"{p}hidden_size {(l1, l2)} means {size:,} parameters, more than "
                         f"MAX_PARAMS = {MAX_PARAMS:,}. Pass e.g. hidden_size=(64, 128).")
    return out


class Model:
    r"""The lab's feed-forward network 2 -> l1 -> l2 -> 1.

    .. math::
        a_1 = f(X W_1 + b_1),\quad a_2 = f(a_1 W_2 + b_2),\quad \hat y = a_3 = g(a_2 W_3 + b_3)

    Parameters
    ----------
    hidden_size, lr, momentum : (l1, l2), float > 0 and float in [0, 1)
    activation, output_activation : {"sigmoid", "tanh", "relu", "none"}, {"sigmoid", "none"}
        f, the hidden layers', and g, the output's.
    seed : int >= 0, SeedSequence or None, default 0
        Seeds the initial weights: std 1 for ``init="normal"`` (the lab's),
        sqrt(2 / (fan_in + fan_out)) for "xavier", sqrt(2 / fan_in) for "he".
    optimizer, loss : {"momentum", "sgd", "adam"} and {"mse", "bce"}
        "bce", binary cross-entropy, needs ``output_activation="sigmoid"``.

    The parameters carry the listing's names, w1 (2, l1), b1 (1, l1), w2 (l1, l2), b2 (1, l2),
    w3 (l2, 1), b3 (1, 1); v_* are the momentum velocities, m_*, s_* and t Adam's state.
    """

    def __init__(self, hidden_size=(5, 10), lr=0.1, momentum=0.9, activation="sigmoid",
                 output_activation="sigmoid", seed=0, optimizer="momentum", loss="mse",
                 init="normal"):
        self.__dict__.update(_check_hyper(locals()))      # the arguments, checked
        self.seed = _check_seed(seed)
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
        std = {"normal": 1.0, "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
               "he": math.sqrt(2.0 / fan_in)}[self.init]
        return std * rng.standard_normal((fan_in, fan_out))

    def reset_optimizer(self):
        """Zero the optimizer state: velocities, Adam moments and step count."""
        for key in (prefix + name for prefix in ("v_", "m_", "s_") for name in PARAM_NAMES):
            setattr(self, key, np.zeros(getattr(self, key[2:]).shape))
        self.t = 0

    @property
    def params(self):
        """dict name -> parameter array (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def copy(self):
        """An independent deep copy of the model, optimizer state included."""
        return copy.deepcopy(self)

    def __repr__(self):
        return (f"Model(hidden_size={self.hidden_size}, lr={self.lr:g}, "
                f"momentum={self.momentum:g}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r}, seed={self.seed!r}, "
                f"optimizer={self.optimizer!r}, loss={self.loss!r}, init={self.init!r})")

    # -- forward and loss ----------------------------------------------------
    def _forward(self, X):
        """Forward pass keeping the activations backprop needs: (a1, a2, z3, a3)."""
        f, g = ACTIVATIONS[self.activation][0], ACTIVATIONS[self.output_activation][0]
        a1 = f(X @ self.w1 + self.b1)           # (n, l1)
        a2 = f(a1 @ self.w2 + self.b2)          # (n, l2)
        z3 = a2 @ self.w3 + self.b3             # (n, 1)
        a3 = g(z3)                              # (n, 1)
        return a1, a2, z3, a3

    def forward(self, X):
        """Network output ``y_hat = a3`` (n, 1) for inputs ``X`` (n, 2)."""
        return self._forward(_check_X(X))[3]

    def predict(self, X):
        """Class labels 0.0/1.0 (n, 1): 1 where ``forward(X) > 0.5``."""
        return (self.forward(X) > 0.5).astype(float)

    def _loss(self, z3, a3, y):
        if self.loss == "mse":
            return float(np.mean(0.5 * (a3 - y) ** 2))
        # BCE from the logit z3: -[y log s + (1-y) log(1-s)] = log(1+e^z) - y z
        return float(np.mean(np.logaddexp(0.0, z3) - y * z3))

    def loss_value(self, X, y):
        r"""The loss L over (X, y): for "mse", the mean of :math:`\frac12 (a_3 - y)^2`."""
        X, y = _check_X(X, y=y)
        return self._loss(*self._forward(X)[2:], y)

    # -- backward ------------------------------------------------------------
    def _gradients(self, X, y):
        der_f, der_g = ACTIVATIONS[self.activation][1], ACTIVATIONS[self.output_activation][1]
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
        r"""Exact gradients of L over (X, y): name -> array of the parameter's shape.

        With :math:`\delta_3 = \partial L/\partial z_3 = (a_3 - y)\, g'(z_3) / n` ("mse"):

        .. math::
            \partial L/\partial W_3 = a_2^\top \delta_3,\quad
            \delta_2 = (\delta_3 W_3^\top) \odot f'(z_2),\quad
            \partial L/\partial W_2 = a_1^\top \delta_2,\quad
            \delta_1 = (\delta_2 W_2^\top) \odot f'(z_1),\quad
            \partial L/\partial W_1 = X^\top \delta_1,

        and each bias gradient is its delta summed over the rows.
        """
        return self._gradients(*_check_X(X, y=y))

    # -- update --------------------------------------------------------------
    def _step(self, grads):
        if self.optimizer == "adam":
            self.t += 1
            correction1, correction2 = 1.0 - ADAM_BETA1 ** self.t, 1.0 - ADAM_BETA2 ** self.t
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
        r"""One update of every parameter, in place, from ``grads`` as ``gradients`` gives.

        "momentum", the lab's: :math:`v \leftarrow \mu v + \eta g,\ \theta \leftarrow \theta - v`.
        """
        if not isinstance(grads, dict) or set(grads) != set(PARAM_NAMES):
            got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise ValueError(f"grads must be a dict with keys {PARAM_NAMES}, got {got}. "
                             "Pass the result of model.gradients(X, y).")
        grads = {k: _floats(v, f"grads[{k!r}]") for k, v in grads.items()}
        for name, g in grads.items():
            if g.shape != getattr(self, name).shape:
                raise ValueError(f"grads[{name!r}] must have shape {getattr(self, name).shape}, "
                                 f"got {g.shape}.")
        self._step(grads)

    # -- persistence (the file's layout and its checks: workbook.modelfile) ----
    def save(self, path):
        """Save the model and optimizer state to an ``.npz`` file, atomically; not if diverged."""
        from workbook import modelfile
        _check_model(self, train=True)
        modelfile.save(self, path)

    @classmethod
    def load(cls, path):
        """Load a model written by ``save``; anything else (bad shapes, NaN, pickles) is a
        ``ValueError``, raised before an array of a wrong size is read."""
        from workbook import modelfile
        return modelfile.load(cls, path)

# =============================================================================
# Training
# =============================================================================


@dataclass
class History:
    """What ``train`` records per epoch: ``loss``, ``accuracy``, ``mae`` and ``lr``.

    ``mae`` (mean |y_hat - y|) is the lab report's "loss". ``diverged_at``: the epoch whose
    loss became NaN or inf; ``engine``: the engine that ran; ``interrupted``: by Ctrl-C."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    mae: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    diverged_at: int | None = None
    engine: str = "numpy"
    seconds: float = field(default=0.0, repr=False, compare=False)
    interrupted: bool = field(default=False, repr=False)

    @property
    def epochs(self):
        """Number of epochs recorded."""
        return len(self.loss)

    def __repr__(self):
        last = f"loss={self.loss[-1]:.4g}, accuracy={self.accuracy[-1]:.4g}" if self.loss else ""
        return (f"History(epochs={self.epochs}, {last or 'empty'}, diverged_at={self.diverged_at}, "
                f"engine={self.engine!r})")


def mean_abs_error(model, X, y):
    """Mean |y_hat - y| over the rows: the quantity the lab report calls "loss"."""
    _check_model(model)
    return _metrics(model, *_check_X(X, y=y))[2]


def _metrics(model, X, y):
    """(loss, accuracy, mae) of the model on validated (X, y)."""
    _, _, z3, a3 = model._forward(X)
    accuracy = float(np.mean((a3 > 0.5) == (y == 1)))
    return model._loss(z3, a3, y), accuracy, float(np.mean(np.abs(a3 - y)))


def evaluate(model, X, y):
    """``(loss, accuracy)`` of ``model`` on (X, y): L and the fraction classified right."""
    _check_model(model)
    return _metrics(model, *_check_X(X, y=y))[:2]


def _numpy_epochs(model, X, y, orders, lrs, batch_size):
    """Reference engine: an epoch per row of ``orders`` at ``lrs[e]``; (loss, acc, mae) lists."""
    n, out = X.shape[0], ([], [], [])
    for order, lr in zip(orders, lrs, strict=True):
        model.lr = float(lr)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            model._step(model._gradients(X[rows], y[rows]))
        for values, value in zip(out, _metrics(model, X, y), strict=True):
            values.append(value)
        if not math.isfinite(out[0][-1]):
            break
    return out


def _numba_epochs(model, X, y, orders, lrs, batch_size):
    """The epochs of ``_numpy_epochs``, run by the compiled ``workbook.engine`` (numba)."""
    from workbook import engine
    state = {p + k: getattr(model, p + k) for p in _OPT_STATE[model.optimizer] for k in PARAM_NAMES}
    loss, acc, mae, model.t = engine.run_epochs(
        model.params, state, X, y, orders, lrs, batch_size, model.activation,
        model.output_activation, model.loss, model.optimizer, model.momentum, model.t,
        (ADAM_BETA1, ADAM_BETA2, ADAM_EPS))
    model.lr = float(lrs[len(loss) - 1])
    return loss.tolist(), acc.tolist(), mae.tolist()


ENGINES = {"numpy": _numpy_epochs}     # name -> f(model, X, y, orders, lrs, batch_size)
if importlib.util.find_spec("numba") is not None:
    ENGINES["numba"] = _numba_epochs
CHUNK_SECONDS = 0.25                            # the longest engine call: Ctrl-C waits for it


def train(model, X, y, epochs, batch_size=1, shuffle=False, lr_decay=1.0, seed=None,
          engine="auto", callback=None):
    r"""Train ``model`` in place on (X, y) and return its ``History``.

    Each epoch visits every row once, ``batch_size`` rows per update (1, the lab's,
    is per-sample SGD), in order or, if ``shuffle``, in a new random order seeded by
    ``seed``. Every argument is checked before the model changes: a Model with
    finite weights, (n, 2) inputs X, (n, 1) labels y in {0, 1}, an int ``epochs``.

    Parameters
    ----------
    lr_decay : float, default 1.0
        Epoch e (1-based) uses :math:`\eta_0 \cdot \text{lr\_decay}^{\max(0, e-2)}`; the
        lab's code decayed by 0.9. A schedule past 1e300 or below 1e-300 is refused.
    engine : {"auto", "numba", "numpy"}
        "numpy" is the reference above; "numba" compiled loops that agree with
        it to rounding, the same bits on every CPU; "auto", numba if it can run.
    callback : callable, optional
        ``callback(epoch, history)`` after every ~1% of the run (e.g. a progress bar).

    Warns
    -----
    RuntimeWarning
        If the loss becomes NaN or inf (training stops there), or on Ctrl-C, seen within
        ``CHUNK_SECONDS`` or an epoch: the model and the history then hold the epochs of
        the engine calls that completed (``interrupted``), not those of the last call.
    """
    _check_model(model, train=True)
    X, y = _check_X(X, y=y)
    epochs = _check_positive_int(epochs, "epochs", "epochs=1000")
    batch_size = _check_positive_int(batch_size, "batch_size", "batch_size=1")
    if not isinstance(shuffle, (bool, np.bool_)):
        _refuse("shuffle", shuffle, "True or False", "Pass e.g. shuffle=True.")
    if callback is not None and not _takes(callback, 2):
        _refuse("callback", callback, "None or a function f(epoch, history)", "Pass a function.")
    lr_decay = _check_real(lr_decay, "lr_decay", 0.0, math.inf, True, "lr_decay=1.0")
    rng, lr0 = np.random.default_rng(_check_seed(seed)), model.lr
    if isinstance(engine, str) and engine == "numba" and "numba" not in ENGINES:
        raise ValueError("engine must be one of ('auto', 'numpy') here, got 'numba': numba is "
                         "not installed. Install it (pip install numba), or pass engine='auto'.")
    requested = _check_choice(engine, "engine", ("auto", *ENGINES))
    last = math.log10(lr0) + max(0, epochs - 2) * math.log10(lr_decay)   # log10 of the last lr
    if last > 300 and lr_decay > 1 or last < -300 < math.log10(lr0):     # by lr_decay alone
        raise ValueError(f"lr_decay={lr_decay:g} takes the lr from {lr0:g} to 1e{last:.0f} by "
                         f"epoch {epochs}, beyond 1e300 or below 1e-300 where no update works. "
                         "Pass an lr_decay closer to 1, or fewer epochs.")
    live = {p + k for p in ("", *_OPT_STATE[model.optimizer]) for k in PARAM_NAMES}  # trained
    same_math = all(getattr(type(model), k) is getattr(Model, k)   # not a subclass's numerics,
                    for k in ("_forward", "_gradients", "_step", "_loss")) and all(
        getattr(model, k).dtype == np.float64 for k in live)       # nor float32 set by hand
    engine = "numba" if requested != "numpy" and "numba" in ENGINES and same_math else "numpy"
    n, factor, history = X.shape[0], 1.0, History(engine=engine)
    # Short engine calls, so that Ctrl-C is seen soon: 1 epoch, then 4x more while a call
    # stays short, its orders under 8 MB; ~1% of the run if watched. Bits do not change.
    most, chunk, start = max(1, epochs // 100) if callback else epochs, 1, time.perf_counter()
    saved = ({k: v.copy() if k in live else v for k, v in vars(model).items()}, 0)
    try:
        with np.errstate(all="ignore"):
            # the compiled engine: compiled here, once per process, or why it cannot be
            if engine == "numba" and (why := importlib.import_module("workbook.engine").problem()):
                if requested == "numba":
                    raise ValueError(f"engine='numba' cannot run here ({why}); pass 'numpy'.")
                warnings.warn(f"the numba engine cannot run here ({why}); training with "
                              "engine='numpy', 100x slower.", RuntimeWarning, stacklevel=2)
                history.engine = engine = "numpy"
            while history.epochs < epochs:
                size = min(chunk, most, epochs - history.epochs, max(1, 2**20 // n))
                orders = (np.array([rng.permutation(n) for _ in range(size)]) if shuffle
                          else np.tile(np.arange(n), (size, 1)))        # (size, n)
                lrs = np.empty(size)            # (size,): lr0 lr_decay^max(0, e-2)
                for i, e in enumerate(range(history.epochs, history.epochs + size)):
                    factor = factor * lr_decay if e >= 2 else factor
                    lrs[i] = lr0 * factor
                tick = time.perf_counter()
                loss, acc, mae = ENGINES[engine](model, X, y, orders, lrs, batch_size)
                for values, new in ((history.loss, loss), (history.accuracy, acc),
                                    (history.mae, mae), (history.lr, lrs[:len(loss)].tolist())):
                    values += new
                saved = ({k: v.copy() if k in live else v   # in one assignment
                          for k, v in vars(model).items()}, history.epochs)
                chunk = size * 4 if time.perf_counter() - tick < CHUNK_SECONDS / 4 else chunk
                if callback is not None:
                    callback(history.epochs, history)
                if not math.isfinite(loss[-1]):
                    history.diverged_at = history.epochs
                    break
    except KeyboardInterrupt:                   # back to the last completed engine call
        model.__dict__.update(saved[0])
        for values in (history.loss, history.accuracy, history.mae, history.lr):
            del values[saved[1]:]
        history.interrupted = True
    finally:
        model.lr = lr0
        history.seconds = time.perf_counter() - start
    if history.interrupted:
        warnings.warn(f"training interrupted after {history.epochs} of {epochs} epochs; the "
                      "model and the history hold those epochs.", RuntimeWarning, stacklevel=2)
    if history.diverged_at is not None:
        advice = (", or a squashing activation such as 'sigmoid' (activation='none' lets values "
                  "grow without bound)" if "none" in (model.activation, model.output_activation)
                  else "") + (f", or lr_decay <= 1 (it had grown the lr to {history.lr[-1]:.3g})"
                              if lr_decay > 1 else "")
        warnings.warn(f"training diverged: the loss became {history.loss[-1]} at epoch "
                      f"{history.diverged_at} of {epochs} (lr={lr0:g}, activation="
                      f"{model.activation!r}, output_activation={model.output_activation!r}). "
                      "Training stopped there and the history so far is kept. Try a smaller "
                      f"lr than {lr0:g}{advice}.", RuntimeWarning, stacklevel=2)
    return history


# =============================================================================
# Gradient check
# =============================================================================


def rel_error(a, b):
    """Max relative error max |a - b| / max(1e-8, |a| + |b|) (CS231n's); inf vs other value: 1."""
    if (a := _floats(a, "a")).shape != (b := _floats(b, "b")).shape or a.size == 0:
        raise ValueError(f"a and b must share a shape with at least one number, got shapes "
                         f"{a.shape} and {b.shape}. Compare like with like.")
    with np.errstate(all="ignore"):     # inf - inf, inf / inf: NaN, set to their limit below
        err = np.abs(a - b) / (scale := np.maximum(1e-8, np.abs(a) + np.abs(b)))
    return float(np.max(np.select([a == b, np.isinf(scale)], [0.0, 1.0], err)))


# order -> {k: c_k}: dL/dtheta ~ sum_k c_k (L(theta + k eps) - L(theta - k eps)) / eps.
# Taking the differences in symmetric pairs gives exactly 0 where L does not move.
_STENCILS = {2: {1: 1 / 2}, 4: {1: 8 / 12, 2: -1 / 12}}
_DEFAULT_EPS = {2: 1e-5, 4: 1e-3}


def numerical_gradients(model, X, y, eps=None, order=4):
    r"""Central differences of L, one parameter at a time: a dict like ``gradients``.

    ``order=2`` is :math:`[L(\theta + \epsilon e_i) - L(\theta - \epsilon e_i)] / 2\epsilon`,
    error O(eps^2). ``order=4``, the default, adds the points at 2 eps, error
    O(eps^4); its step, 1e-3, keeps round-off small enough for components near 1e-7.
    """
    _check_model(model)
    X, y = _check_X(X, y=y)
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
    """Name -> max ``rel_error`` of ``gradients`` and ``numerical_gradients``; < 1e-7 is right."""
    numeric = numerical_gradients(model, X, y, eps, order)     # checks every argument
    return {name: rel_error(g, numeric[name]) for name, g in model.gradients(X, y).items()}
