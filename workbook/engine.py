"""Compiled training loops for ``backprop_core.train``, reproducible bit for bit.

The epochs of ``backprop_core._numpy_epochs`` again, as loops over one sample
and one unit at a time that numba compiles to machine code. Per sample, numpy
makes about 30 small array calls whose overhead dwarfs their arithmetic; the
compiled loops do only the arithmetic. ``backprop_core`` reaches this module
by a lazy import, and this module imports numba only on the first run, so
``import backprop_core`` needs neither.

The engine sees arrays and codes, never a ``Model``: ``run_epochs`` packs
the parameters into one flat vector theta (P,), laid out as ``FLAT_ORDER``,
and likewise the optimizer state and the gradient, so the update is one loop
over P numbers; w1 ... b3 are views into theta.

Determinism. A run's bits depend on this source and the pinned numba alone,
never on the CPU (``tests/test_portability.py``):

* no fastmath flags, so LLVM neither reorders sums nor fuses a * b + c into
  one FMA instruction (which rounds once instead of twice);
* no libm: exp, tanh and log1p are computed here from + - * /, which IEEE 754
  rounds the same way everywhere (glibc picks its own exp for the CPU);
* every sum is added in the order written here; ``_dot`` keeps four partial
  sums, combined in a fixed tree, so the CPU can still overlap additions.

The numbers are those of the numpy reference up to rounding
(``tests/test_engine.py`` checks 1e-10 after 10 epochs).
"""

import math
import threading

import numpy as np

ACT_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "none": 3}   # hidden and output
LOSS_CODES = {"mse": 0, "bce": 1}
OPT_CODES = {"momentum": 0, "sgd": 1, "adam": 2}
OPT_STATE = {"momentum": ("v_",), "sgd": (), "adam": ("m_", "s_")}   # state prefixes
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
FLAT_ORDER = ("w1", "b1", "b2", "w3", "b3", "w2")              # w2, the largest, last

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


def _exp(x):
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


def _log1p(u):
    """log(1 + u) for u in [0, 1], as 2 atanh(s), s = u / (2 + u) <= 1/3."""
    s = u / (2.0 + u)
    s2 = s * s
    total = 0.0
    for i in range(19, 0, -1):                  # s^2 <= 1/9: 19 terms reach 1e-19
        total = total * s2 + 1.0 / (2 * i + 1)
    return 2.0 * s * (1.0 + s2 * total)


def _tanh(z):
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
        e = _exp(-2.0 * x)
        t = (1.0 - e) / (1.0 + e)
    return t if z >= 0.0 else -t


def _powi(base, n):
    """base ** n for an int n >= 0, by repeated squaring (Adam's beta^t)."""
    result, power = 1.0, base
    while n > 0:
        if n & 1:
            result *= power
        power *= power
        n >>= 1
    return result


def _f(z, act):
    """Activation number ``act`` (see ACT_CODES) of one number z."""
    if act == 0:                                # the stable formula of ``sigmoid``
        e = _exp(-abs(z))
        return 1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)
    if act == 1:
        return _tanh(z)
    if act == 2:                                # like np.maximum: NaN stays NaN
        return z if (z > 0.0 or z != z) else 0.0
    return z


def _der_f(a, act):
    """Derivative of activation ``act`` given its OUTPUT a, as the ``der_*`` do."""
    if act == 0:
        return a * (1.0 - a)
    if act == 1:
        return 1.0 - a * a
    if act == 2:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


def _softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), as ``np.logaddexp(0.0, z)``."""
    if z != z:
        return z
    if z > 0.0:
        return z + _log1p(_exp(-z))
    return _log1p(_exp(z))


def _forward(x0, x1, w1, b1, w2, b2, w3, b3, act, out, a1, z2, a2):
    """One input row (x0, x1) through the net; fills a1 (l1,), z2 and a2 (l2,).

    Returns (z3, a3).
    """
    l1, l2 = w2.shape
    for j in range(l1):
        a1[j] = _f(x0 * w1[0, j] + x1 * w1[1, j] + b1[0, j], act)
    for k in range(l2):
        z2[k] = 0.0
    for j in range(l1):                         # z2 = a1 @ w2, one row of w2 at a time
        a1_j = a1[j]
        for k in range(l2):
            z2[k] += a1_j * w2[j, k]
    z3 = 0.0
    for k in range(l2):
        a2[k] = _f(z2[k] + b2[0, k], act)
        z3 += a2[k] * w3[k, 0]
    z3 += b3[0, 0]
    return z3, _f(z3, out)


def _dot(a, w, j):
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


def _update(theta, v, m, s, g, opt, lr, mu, c1, c2, beta1, beta2, eps):
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
            m[i] = m[i] * beta1 + (1.0 - beta1) * g[i]
            s[i] = s[i] * beta2 + (1.0 - beta2) * g[i] * g[i]
            theta[i] -= lr * (m[i] / c1) / (math.sqrt(s[i] / c2) + eps)


def _epochs(X, y, orders, lrs, batch_size, act, out, loss, opt, mu, t, beta1, beta2, eps,
            theta, v, m, s, params, grad, grads, a1, dz1, z2, a2, dz2,
            loss_out, acc_out, mae_out):
    """``_numpy_epochs`` as loops: one epoch per row of ``orders``.

    theta, v, m, s and grad are flat vectors (P,): the parameters, their
    optimizer state and their gradient. ``params`` and ``grads`` are views
    into theta and grad: (w1, b1, w2, b2, w3, b3) and (dw1, ..., db3). a1,
    dz1 (l1,) and z2, a2, dz2 (l2,) are scratch. act, out, loss and opt are
    codes from ACT_CODES, LOSS_CODES and OPT_CODES; beta1, beta2 and eps are
    Adam's. Fills loss_out,
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
                z3, a3 = _forward(x0, x1, w1, b1, w2, b2, w3, b3, act, out, a1, z2, a2)
                if loss == 0:                   # dL/dz3, as in Model._gradients
                    dz3 = (a3 - y_r) * _der_f(a3, out) / n_batch
                else:
                    dz3 = (a3 - y_r) / n_batch
                db3[0, 0] += dz3
                for k in range(l2):
                    dw3[k, 0] += a2[k] * dz3
                    dz2[k] = dz3 * w3[k, 0] * _der_f(a2[k], act)
                    db2[0, k] += dz2[k]
                for j in range(l1):             # row j of w2: da1_j, then dw2[j]
                    a1_j = a1[j]
                    dz1[j] = _dot(dz2, w2, j) * _der_f(a1_j, act)
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
                c1 = 1.0 - _powi(beta1, t)
                c2 = 1.0 - _powi(beta2, t)
            _update(theta, v, m, s, grad, opt, lr, mu, c1, c2, beta1, beta2, eps)
        total_loss = total_abs = 0.0            # _metrics, over the whole training set
        correct = 0
        for r in range(n):
            z3, a3 = _forward(X[r, 0], X[r, 1], w1, b1, w2, b2, w3, b3, act, out, a1, z2, a2)
            diff = a3 - y[r, 0]
            if loss == 0:
                total_loss += 0.5 * (diff * diff)
            else:
                total_loss += _softplus(z3) - y[r, 0] * z3
            correct += (a3 > 0.5) == (y[r, 0] == 1.0)
            total_abs += abs(diff)
        loss_out[e] = total_loss / n
        acc_out[e] = correct / n
        mae_out[e] = total_abs / n
        epochs_run = e + 1
        if not math.isfinite(loss_out[e]):
            break
    return epochs_run, t


_FUNCTIONS = ("_exp", "_log1p", "_tanh", "_powi", "_f", "_der_f", "_softplus", "_forward",
              "_dot", "_update", "_epochs")
_kernel = None
_lock = threading.Lock()


def kernel():
    """``_epochs`` compiled; compiles every function of the engine on first use.

    numba caches the machine code on disk, so later processes load it
    instead of compiling again.
    """
    global _kernel
    with _lock:                                 # one thread compiles, the others wait
        if _kernel is None:
            import numba
            namespace = globals()
            compiled = {name: numba.njit(namespace[name], cache=True, nogil=True,
                                         error_model="numpy", fastmath=False)
                        for name in _FUNCTIONS}
            namespace.update(compiled)          # each replaced by its compiled twin
            _kernel = compiled["_epochs"]
    return _kernel


def run_epochs(params, state, X, y, orders, lrs, batch_size, activation, output_activation,
               loss, optimizer, momentum, t, adam=(0.9, 0.999, 1e-8)):
    """Train in place: one epoch per row of ``orders``, as the numpy reference does.

    Parameters
    ----------
    params : dict
        "w1" ... "b3" -> float64 arrays (2, l1), (1, l1), (l1, l2), (1, l2),
        (l2, 1), (1, 1), updated in place.
    state : dict
        Optimizer state: prefix + name -> array, for the prefixes of
        ``OPT_STATE[optimizer]``, updated in place.
    X : ndarray (n, 2)
    y : ndarray (n, 1)
    orders : int ndarray (epochs, n)
        The order in which each epoch visits the rows.
    lrs : ndarray (epochs,)
        Learning rate of each epoch.
    batch_size : int
    activation, output_activation, loss, optimizer : str
        Keys of ``ACT_CODES``, ``LOSS_CODES`` and ``OPT_CODES``.
    momentum : float
    t : int
        Adam's step count so far.
    adam : (beta1, beta2, eps)

    Returns
    -------
    loss, accuracy, mae : ndarray (epochs_run,)
        Over the training set after each epoch; the run stops after the first
        epoch whose loss is not finite.
    t : int
        Adam's step count after the run.
    """
    w2 = params["w2"]
    l1, l2 = w2.shape
    prefixes = ("", *OPT_STATE[optimizer])
    source = {"": params, **{p: {name: state[p + name] for name in PARAM_NAMES}
                             for p in OPT_STATE[optimizer]}}
    flat = {p: np.concatenate([source[p][name].ravel() for name in FLAT_ORDER])
            for p in prefixes}
    theta = flat[""]                            # (P,)
    grad = np.empty_like(theta)                 # (P,)
    bounds = np.cumsum([0] + [params[name].size for name in FLAT_ORDER])
    spans = dict(zip(FLAT_ORDER, zip(bounds[:-1], bounds[1:], strict=True), strict=True))

    def views(vector):
        return tuple(vector[lo:hi].reshape(params[name].shape)
                     for name in PARAM_NAMES for lo, hi in [spans[name]])

    epochs = len(orders)
    loss_out, acc_out, mae_out = np.empty(epochs), np.empty(epochs), np.empty(epochs)
    done, t = kernel()(
        np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(orders, dtype=np.int64),
        np.ascontiguousarray(lrs, dtype=np.float64), int(batch_size),
        ACT_CODES[activation], ACT_CODES[output_activation], LOSS_CODES[loss],
        OPT_CODES[optimizer], float(momentum), int(t), *map(float, adam),
        # v, m, s: the optimizer's state; those it does not use are never read
        theta, flat.get("v_", theta), flat.get("m_", theta), flat.get("s_", theta),
        views(theta), grad, views(grad),
        np.empty(l1), np.empty(l1), np.empty(l2), np.empty(l2), np.empty(l2),
        loss_out, acc_out, mae_out)
    for p in prefixes:                          # back into the caller's arrays
        for name in PARAM_NAMES:
            lo, hi = spans[name]
            source[p][name][...] = flat[p][lo:hi].reshape(params[name].shape)
    return loss_out[:done], acc_out[:done], mae_out[:done], int(t)
