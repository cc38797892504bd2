"""Compiled training loops for ``backprop_core.train``, reproducible bit for bit.

The epochs of ``backprop_core._numpy_epochs`` again, as loops over one sample
and one unit at a time that numba compiles to machine code. Per sample, numpy
makes about 30 small array calls whose overhead dwarfs their arithmetic; the
compiled loops do only the arithmetic. ``backprop_core`` reaches this module
by a lazy import, and this module imports numba only on the first run, so
``import backprop_core`` needs neither.

The engine sees arrays and codes, never a ``Model``: ``run_epochs`` packs
the small parameters into one flat vector theta, laid out as ``FLAT_ORDER``,
and likewise their optimizer state and gradient, so that their update is one
loop; w1 ... b3 are views into theta. w2 (l1, l2), nearly all of P at large
sizes, and its state are trained where they are, in the caller's arrays.

Speed. Per-sample SGD (the lab's) makes one sweep over the rows of w2 per
step, a block of rows at a time: the backward pass reads a row, the row is
stepped, and the next sample's forward pass adds it in while it is still in
the cache (``_step``). The epoch's metrics take 16 inputs per sweep. Loops
run over units one after another so that LLVM compiles them to SIMD
instructions; the sums it could vectorize only by reordering them are
written out in SIMD instructions by hand (``_simd_intrinsics``), one sum per
lane.

Determinism. A run's bits depend on this source and the pinned numba alone,
never on the CPU (``tests/test_portability.py``):

* no fastmath flags, so LLVM neither reorders sums nor fuses a * b + c into
  one FMA instruction (which rounds once instead of twice);
* no libm: exp, tanh and log1p are computed here from + - * /, which IEEE 754
  rounds the same way everywhere (glibc picks its own exp for the CPU);
* every sum is added in the order written here; ``_dots`` keeps four partial
  sums per row, combined in a fixed tree. SIMD instructions add several sums
  side by side, one per lane, and a lane rounds as the scalar code does, so
  a CPU with wider vectors, narrower ones or none gives the same bits.

The numbers are those of the numpy reference up to rounding
(``tests/test_engine.py`` checks 1e-10 after 10 epochs).
"""

import contextlib
import functools
import math
import signal
import threading

import numpy as np

ACT_CODES = {"sigmoid": 0, "tanh": 1, "relu": 2, "none": 3}   # hidden and output
LOSS_CODES = {"mse": 0, "bce": 1}
OPT_CODES = {"momentum": 0, "sgd": 1, "adam": 2}
OPT_STATE = {"momentum": ("v_",), "sgd": (), "adam": ("m_", "s_")}   # state prefixes
PARAM_NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")
FLAT_ORDER = ("w1", "b1", "b2", "w3", "b3")                    # w2, the largest, apart
METRIC_ROWS = 16                # inputs per sweep of w2 in the epoch's metrics
# From rows of this many numbers (l2) on, the step reads and writes one row of w2 and
# of its velocity at a time, not four side by side: eight rows 4 kB apart, as at l2 =
# 512, keep the CPU from streaming them (1.4x on the whole step at (512, 512)). From
# rows of ONE_ROW_LARGE[0] on, too, once w2 holds ONE_ROW_LARGE[1] numbers or more (w2
# and its velocity then outgrow the cache): 5-10% at (128, 128) and (256, 128), the
# same at (64, 128). Either way the bits are the same.
ONE_ROW_FROM = 256
ONE_ROW_LARGE = (128, 2**14)

# -- portable elementary functions ---------------------------------------------
# libm's exp, tanh and log1p pick an implementation for the CPU at load time
# (glibc has FMA variants), so their last bit may differ between machines. A
# chaotic run (lr 0.1, momentum 0.9) turns one such bit into another table.
# The engine therefore computes them here, from + - * / alone, which IEEE 754
# rounds the same way everywhere; numba is compiled without fastmath, so LLVM
# neither reorders nor fuses (FMA) them. They have no branch, call or table:
# every choice is a select, so a loop over the units of a layer compiles to
# SIMD instructions, which give each lane the bits of the scalar code.

_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_EXP_P = (1.66666666666666019037e-01, -2.77777777770155933842e-03,
          6.61375632143793436117e-05, -1.65339022054652515390e-06,
          4.13813679705723846039e-08)
_EXP_MAX, _EXP_MIN = 709.782712893384, -745.1332191019412   # e^x is inf above, 0 below


def _exp(x):
    """e^x within 1 ulp, by fdlibm's method (k ln2 + r, a rational in r).

    No branch, call or table: 2^k is built from its bits, as 2^(k // 2)
    2^(k - k // 2), so that e_r 2^k is rounded once where it is subnormal, as
    ldexp rounds it.
    """
    xc = x if x > -746.0 else -746.0            # k in range; NaN -> -746, put back below
    xc = xc if xc < 710.0 else 710.0
    k = np.int32(_INV_LN2 * xc + (0.5 if xc >= 0.0 else -0.5))   # x = k ln2 + r, |r| <= ln2 / 2
    hi = xc - k * _LN2_HI
    lo = k * _LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (_EXP_P[0] + t * (_EXP_P[1] + t * (_EXP_P[2] + t * (_EXP_P[3]
                                                                    + t * _EXP_P[4]))))
    e_r = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)           # e^r
    k_half = k >> 1                             # 2^k_half, 2^(k - k_half) from their bits
    two_k_half = float(np.int64((np.int64(k_half) + 1023) << 52).view(np.float64))
    two_k_rest = float(np.int64((np.int64(k - k_half) + 1023) << 52).view(np.float64))
    y = float(e_r) * two_k_half * two_k_rest    # e_r 2^k: exact, or one rounding
    y = math.inf if x > _EXP_MAX else y
    y = 0.0 if x < _EXP_MIN else y
    return y if x == x else x


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
    x = abs(z)
    x2 = x * x                                  # below 0.0625, terms to z^21: error < 1e-26
    near_0 = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (
        62.0 / 2835.0 + x2 * (-1382.0 / 155925.0 + x2 * (21844.0 / 6081075.0 + x2 * (
            -929569.0 / 638512875.0 + x2 * (6404582.0 / 10854718875.0 + x2 * (
                -443861162.0 / 1856156927625.0 + x2 * 18888466084.0
                / 194896477400625.0))))))))))
    e = _exp(-2.0 * x)
    t = (1.0 - e) / (1.0 + e)
    t = near_0 if x < 0.0625 else t
    t = 1.0 if x > 20.0 else t                  # tanh(20) rounds to 1
    t = t if z >= 0.0 else -t
    return t if z == z else z


def _powi(base, n):
    """base ** n for an int n >= 0, by repeated squaring (Adam's beta^t)."""
    result, power = 1.0, base
    while n > 0:
        if n & 1:
            result *= power
        power *= power
        n >>= 1
    return result


def _sigmoid(z):
    """The stable formula of ``sigmoid``: 1 / (1 + e) or e / (1 + e), e = e^-|z|."""
    e = _exp(-abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e)


def _f(z, act):
    """Activation number ``act`` (see ACT_CODES) of one number z."""
    if act == 0:
        return _sigmoid(z)
    if act == 1:
        return _tanh(z)
    if act == 2:                                # like np.maximum: NaN stays NaN
        return z if (z > 0.0 or z != z) else 0.0
    return z


def _f_all(Z, A, lo, hi, act):
    """A[q, j] = f(Z[q, j]) for every row q and lo <= j < hi.

    One loop per activation, so that the choice is made outside the loop and
    the loop compiles to SIMD instructions. (Here and below, loops run over
    views from index 0: numba's code for an index that might be negative
    would keep LLVM from vectorizing them.)
    """
    for q in range(Z.shape[0]):
        z, a = Z[q, lo:hi], A[q, lo:hi]
        if act == 0:
            for j in range(z.shape[0]):
                a[j] = _sigmoid(z[j])
        elif act == 1:
            for j in range(z.shape[0]):
                a[j] = _tanh(z[j])
        elif act == 2:
            for j in range(z.shape[0]):
                a[j] = z[j] if (z[j] > 0.0 or z[j] != z[j]) else 0.0
        else:
            for j in range(z.shape[0]):
                a[j] = z[j]


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


# -- the network, a block of units at a time ---------------------------------------
# Arrays of activations are (inputs, units): one input in training, several in
# the metrics. Each function works on units lo to hi, so that a training step
# is one sweep over the rows of w2, a block of rows at a time. Each sum is
# added in the order written here, whatever the CPU: SIMD instructions add
# several sums side by side, one per lane, and never one sum in another order.
# The layer-1 parameters are the rows of p1 (3, l1): w1[0], w1[1] and b1[0].


def _layer1(Xs, p1, lo, hi, Z1):
    """Z1[q, j] = Xs[q, 0] w1[0, j] + Xs[q, 1] w1[1, j] + b1[0, j], for lo <= j < hi."""
    w1_0, w1_1, b1 = p1[0, lo:hi], p1[1, lo:hi], p1[2, lo:hi]
    for q in range(Xs.shape[0]):
        x0, x1, z1 = Xs[q, 0], Xs[q, 1], Z1[q, lo:hi]
        for j in range(z1.shape[0]):
            z1[j] = x0 * w1_0[j] + x1 * w1_1[j] + b1[j]


def _rows8(A1, q, w2, j, Z2):
    """Z2[q, k] += A1[q, j + r] w2[j + r, k] for r = 0 ... 7 in turn, k < l2 - l2 % 4.

    The engine compiles this function to SIMD instructions written out
    (``_simd_intrinsics``), four sums k at a time, eight rows per load and
    store of the sums.
    """
    for k in range(w2.shape[1] - w2.shape[1] % 4):
        for r in range(8):
            Z2[q, k] += A1[q, j + r] * w2[j + r, k]


def _add_rows(A1, w2, lo, hi, Z2):
    """Z2[q] += A1[q, lo:hi] @ w2[lo:hi], each Z2[q, k] added row j after row j.

    Eight rows of w2 per load and store of the sums (``_rows8``): the bits of
    one row at a time, an eighth of the loads and stores.
    """
    n = w2.shape[1]
    for q in range(A1.shape[0]):
        a, z = A1[q], Z2[q]
        j = lo
        while j + 8 <= hi:
            _rows8(A1, q, w2, j, Z2)
            for k in range(n - n % 4, n):       # the last l2 % 4 sums
                for r in range(8):
                    z[k] += a[j + r] * w2[j + r, k]
            j += 8
        while j < hi:
            a_j, w2_j = a[j], w2[j]
            for k in range(n):
                z[k] += a_j * w2_j[k]
            j += 1


def _head(b2, w3, b3, act, out, Z2, A2, z3, a3):
    """From Z2 = A1 @ w2 on: A2 = f(Z2 + b2), z3 = A2 @ w3 + b3 and a3 = g(z3), per input."""
    for q in range(Z2.shape[0]):
        for k in range(Z2.shape[1]):
            A2[q, k] = Z2[q, k] + b2[k]
    _f_all(A2, A2, np.int64(0), A2.shape[1], act)   # an int64 0, not a literal: one compile
    for q in range(Z2.shape[0]):
        total = 0.0
        for k in range(Z2.shape[1]):
            total += A2[q, k] * w3[k]
        z3[q] = total + b3[0]
        a3[q] = _f(z3[q], out)


def _forward(Xs, params, act, out, Z1, A1, Z2, A2, z3, a3, block):
    """The inputs Xs (inputs, 2) through the net: fills Z1, A1 (inputs, l1),
    Z2, A2 (inputs, l2), z3 and a3 (inputs,), ``block`` units at a time."""
    p1, b2, w3, b3, w2 = params
    for q in range(Z2.shape[0]):
        for k in range(Z2.shape[1]):
            Z2[q, k] = 0.0
    for lo in range(0, w2.shape[0], block):
        hi = min(lo + block, w2.shape[0])
        _layer1(Xs, p1, lo, hi, Z1)
        _f_all(Z1, A1, lo, hi, act)
        _add_rows(A1, w2, lo, hi, Z2)           # Z2 = A1 @ w2
    _head(b2, w3, b3, act, out, Z2, A2, z3, a3)


def _lanes4(a, w, j, out):
    """The partial sums of ``_dots`` for rows j to j + 3 of w, side by side.

    out[4 r + i] = sum of a[k] w[j + r, k] over k = i mod 4, k < l2 - l2 % 4,
    added in k order from 0.0. The engine compiles this function to SIMD
    instructions written out (``_simd_intrinsics``): LLVM's loop vectorizer
    cannot, as it would have to reorder the sums.
    """
    for r in range(4):
        for i in range(4):
            total = 0.0
            for k in range(i, a.shape[0] - a.shape[0] % 4, 4):
                total += a[k] * w[j + r, k]
            out[4 * r + i] = total


def _dots(a, w, lo, hi, lanes, out):
    """out[j] = (w @ a)[j] = sum_k a[k] w[j, k], for a (l2,), w (l1, l2), lo <= j < hi.

    Four partial sums per row, over k mod 4, added as (s0 + s1) + (s2 + s3),
    then the tail k >= l2 - l2 % 4 in order: every CPU adds the same way.
    Four rows at a time, by ``_lanes4``; ``lanes`` (16,) is scratch.
    """
    n = a.shape[0]
    for j in range(lo, hi, 4):
        if j + 4 <= hi:
            _lanes4(a, w, j, lanes)
        else:                                   # the last rows, one at a time
            for r in range(hi - j):
                for i in range(4):
                    total = 0.0
                    for k in range(i, n - n % 4, 4):
                        total += a[k] * w[j + r, k]
                    lanes[4 * r + i] = total
        for r in range(min(4, hi - j)):
            total = (lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3])
            for k in range(n - n % 4, n):
                total += a[k] * w[j + r, k]
            out[j + r] = total


def _lanes4_momentum(a, w, v, coef, j, lr, mu, out):
    """``_lanes4(a, w, j, out)``, and in the same pass the momentum step of the
    first l2 - l2 % 4 elements of rows j to j + 3 of w, whose gradient is
    coef[0, j + r] a (as in ``_update_rows``). Compiled like ``_lanes4``."""
    _lanes4(a, w, j, out)
    for r in range(4):
        for k in range(a.shape[0] - a.shape[0] % 4):
            v[j + r, k] = v[j + r, k] * mu + lr * (coef[0, j + r] * a[k])
            w[j + r, k] -= v[j + r, k]


def _lanes1_momentum(a, w, v, coef, j, lr, mu, out):
    """``_lanes4_momentum`` for row j alone: out[i] for i < 4. Compiled like it."""
    for i in range(4):
        total = 0.0
        for k in range(i, a.shape[0] - a.shape[0] % 4, 4):
            total += a[k] * w[j, k]
        out[i] = total
    for k in range(a.shape[0] - a.shape[0] % 4):
        v[j, k] = v[j, k] * mu + lr * (coef[0, j] * a[k])
        w[j, k] -= v[j, k]


def _momentum_rows(dz2, w2, v2, A1, lo, hi, lr, mu, lanes, da1):
    """da1[j] = (w2 @ dz2)[j] as ``_dots`` adds it, then the momentum step of row j
    of w2 for one input (``_update_rows``), for lo <= j < hi: each row read once,
    by ``_lanes4_momentum``, or ``_lanes1_momentum`` for long rows or a large w2
    (``ONE_ROW_FROM``, ``ONE_ROW_LARGE``; the same bits)."""
    n = dz2.shape[0]
    n4 = n - n % 4
    rows_at_once = 1 if n >= ONE_ROW_FROM or (n >= ONE_ROW_LARGE[0]
                                              and w2.size >= ONE_ROW_LARGE[1]) else 4
    for j in range(lo, hi, rows_at_once):
        rows = min(rows_at_once, hi - j)
        if rows == 4:
            _lanes4_momentum(dz2, w2, v2, A1, j, lr, mu, lanes)
        elif rows_at_once == 1:
            _lanes1_momentum(dz2, w2, v2, A1, j, lr, mu, lanes)
        else:
            _dots(dz2, w2, j, hi, lanes, da1)
        for r in range(rows):
            if rows == rows_at_once:
                total = (lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3])
                for k in range(n4, n):
                    total += dz2[k] * w2[j + r, k]
                da1[j + r] = total
            a1_j = A1[0, j + r]
            for k in range(n4 if rows == rows_at_once else 0, n):   # not stepped yet
                v2[j + r, k] = v2[j + r, k] * mu + lr * (a1_j * dz2[k])
                w2[j + r, k] -= v2[j + r, k]


# -- the update --------------------------------------------------------------------


def _update(theta, v, m, s, g, lo, hi, opt, lr, mu, c1, c2, beta1, beta2, eps):
    """``Model._step`` on elements lo to hi of the flat vectors, in place.

    c1 and c2 are Adam's bias corrections 1 - beta^t.
    """
    theta, v, m, s, g = theta[lo:hi], v[lo:hi], m[lo:hi], s[lo:hi], g[lo:hi]
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


def _update_rows(w2, v2, m2, s2, lo, hi, a1, dz2, opt, lr, mu, c1, c2, beta1, beta2, eps):
    """``_update`` of rows lo to hi of w2 for one input: the gradient a1[j] dz2[k]
    is computed where it is used, never stored, with the same bits."""
    for j in range(lo, hi):
        a1_j = a1[0, j]
        if opt == 0:
            for k in range(dz2.shape[0]):
                v2[j, k] = v2[j, k] * mu + lr * (a1_j * dz2[k])
                w2[j, k] -= v2[j, k]
        elif opt == 1:
            for k in range(dz2.shape[0]):
                w2[j, k] -= lr * (a1_j * dz2[k])
        else:
            for k in range(dz2.shape[0]):
                g = a1_j * dz2[k]
                m2[j, k] = m2[j, k] * beta1 + (1.0 - beta1) * g
                s2[j, k] = s2[j, k] * beta2 + (1.0 - beta2) * g * g
                w2[j, k] -= lr * (m2[j, k] / c1) / (math.sqrt(s2[j, k] / c2) + eps)


# -- the epochs --------------------------------------------------------------------


def _step(y_r, x_next, act, out, loss, opt, lr, mu, c1, c2, beta1, beta2, eps,
          flat, params, grads, state2, one, block):
    """One step of per-sample SGD on the input whose forward pass filled ``one``.

    ``one`` holds the input Xs (1, 2), Z1, A1, A1n (1, l1), Z2, A2 (1, l2), z3,
    a3 (1,), dz1 (l1,), dz2 (l2,) and lanes (16,); y_r is its label. If
    ``x_next`` (1, 2) has a row, the forward pass of that next input is made
    in the same sweep: A1n, Z2, A2, z3 and a3 are then its.

    One sweep over the rows of w2, ``block`` rows at a time: the backward pass
    reads a row (da1_j, four rows at once), steps it and unit j of layer 1,
    then the next input's forward pass adds the stepped row into Z2 while it
    is still in the cache. Every number is the one separate passes give.
    """
    theta, v, m, s, grad = flat
    p1, b2, w3, b3, w2 = params
    dp1, db2, dw3, db3, dw2 = grads
    v2, m2, s2 = state2
    Xs, Z1, A1, A1n, Z2, A2, z3, a3, dz1, dz2, lanes = one
    l1, l2 = w2.shape
    if loss == 0:                               # dL/dz3, as in Model._gradients
        dz3 = (a3[0] - y_r) * _der_f(a3[0], out)
    else:
        dz3 = a3[0] - y_r
    db3[0] = 0.0 + dz3                          # gradients: sums over one input, from 0.0
    for k in range(l2):
        dw3[k] = 0.0 + A2[0, k] * dz3
        dz2[k] = dz3 * w3[k] * _der_f(A2[0, k], act)
        db2[k] = 0.0 + dz2[k]
        Z2[0, k] = 0.0
    for lo in range(0, l1, block):
        hi = min(lo + block, l1)
        if opt == 0:                            # da1 = dz2 @ w2.T, read before w2 steps
            _momentum_rows(dz2, w2, v2, A1, lo, hi, lr, mu, lanes, dz1)
        else:
            _dots(dz2, w2, lo, hi, lanes, dz1)
            _update_rows(w2, v2, m2, s2, lo, hi, A1, dz2, opt, lr, mu, c1, c2, beta1, beta2,
                         eps)
        da1, a1 = dz1[lo:hi], A1[0, lo:hi]
        dw1_0, dw1_1, db1 = dp1[0, lo:hi], dp1[1, lo:hi], dp1[2, lo:hi]
        for j in range(da1.shape[0]):
            da1[j] *= _der_f(a1[j], act)        # now dz1
            dw1_0[j] = 0.0 + Xs[0, 0] * da1[j]
            dw1_1[j] = 0.0 + Xs[0, 1] * da1[j]
            db1[j] = 0.0 + da1[j]
        for first in range(0, 3 * l1, l1):      # w1[0], w1[1], b1[0]: theta[:3 l1]
            _update(theta, v, m, s, grad, first + lo, first + hi, opt, lr, mu, c1, c2, beta1,
                    beta2, eps)
        if x_next.shape[0]:                     # the next input, through the stepped units
            _layer1(x_next, p1, lo, hi, Z1)
            _f_all(Z1, A1n, lo, hi, act)
            _add_rows(A1n, w2, lo, hi, Z2)
    _update(theta, v, m, s, grad, 3 * l1, theta.shape[0], opt, lr, mu, c1, c2,
            beta1, beta2, eps)                  # b2, w3, b3: after p1 in theta
    if x_next.shape[0]:
        _head(b2, w3, b3, act, out, Z2, A2, z3, a3)


def _metrics(X, y, params, act, out, loss, Z1, A1, Z2, A2, z3, a3, block):
    """(loss, accuracy, mae) over the training set, as ``backprop_core._metrics``.

    ``_forward`` of Z1.shape[0] inputs at a time, so that a block of rows of
    w2 is read from memory once for all of them; the sums over the inputs
    are added in input order.
    """
    n = X.shape[0]
    total_loss = total_abs = 0.0
    correct = 0
    for first in range(0, n, Z1.shape[0]):
        count = min(Z1.shape[0], n - first)
        _forward(X[first:first + count], params, act, out, Z1[:count], A1[:count],
                 Z2[:count], A2[:count], z3, a3, block)
        for q in range(count):
            diff = a3[q] - y[first + q, 0]
            if loss == 0:
                total_loss += 0.5 * (diff * diff)
            else:
                total_loss += _softplus(z3[q]) - y[first + q, 0] * z3[q]
            correct += (a3[q] > 0.5) == (y[first + q, 0] == 1.0)
            total_abs += abs(diff)
    return total_loss / n, correct / n, total_abs / n


def _epochs(X, y, orders, lrs, batch_size, act, out, loss, opt, mu, t, beta1, beta2, eps,
            flat, params, grads, state2, one, many, loss_out, acc_out, mae_out):
    """``_numpy_epochs`` as loops: one epoch per row of ``orders``.

    ``batch_size`` is None for per-sample SGD (a batch of one input, the
    lab's), else the batch size: numba compiles each kind on its first call,
    with the code of the other left out. ``flat`` holds vectors (P - l1 l2,):
    the parameters theta but w2, their optimizer state v, m, s and their
    gradient; ``params`` and ``grads`` are views into theta and the gradient,
    p1 (3, l1) (see ``_layer1``), b2, w3 (l2,), b3 (1,), and then w2 and dw2
    (l1, l2); ``state2`` holds w2's optimizer state v2, m2, s2 (l1, l2), those
    an optimizer does not use being any array of that shape (never read).
    ``one`` is scratch for one input (see ``_step``), ``many`` for the
    metrics: Z1, A1 (rows, l1), Z2, A2 (rows, l2), z3 and a3 (rows,). act,
    out, loss and opt are codes from ACT_CODES, LOSS_CODES and OPT_CODES;
    beta1, beta2 and eps are Adam's.
    Fills loss_out, acc_out and mae_out per epoch; returns (epochs run,
    Adam's step count t).
    """
    theta, v, m, s, grad = flat
    p1, b2, w3, b3, w2 = params
    dp1, db2, dw3, db3, dw2 = grads
    Xs, Z1, A1, A1n, Z2, A2, z3, a3, dz1, dz2, lanes = one
    Z1m, A1m, Z2m, A2m, z3m, a3m = many
    n = X.shape[0]
    l1, l2 = w2.shape
    block = max(8, min(128, 2048 // l2 // 8 * 8))  # rows of w2 per block: about 16 kB
    epochs_run = 0
    for e in range(orders.shape[0]):
        lr = lrs[e]
        if batch_size is None:                  # per-sample SGD: one sweep of w2 a step
            r = orders[e, 0]
            Xs[0, 0], Xs[0, 1] = X[r, 0], X[r, 1]
            _forward(Xs, params, act, out, Z1, A1, Z2, A2, z3, a3, block)
            for i in range(n):                  # later inputs' forward passes come with a step
                r = orders[e, i]
                c1 = c2 = 1.0
                if opt == 2:                    # Adam counts steps, not epochs
                    t += 1
                    c1 = 1.0 - _powi(beta1, t)
                    c2 = 1.0 - _powi(beta2, t)
                r_next = orders[e, i + 1] if i + 1 < n else r
                x_next = X[r_next:r_next + 1] if i + 1 < n else X[r:r]      # (1, 2) or (0, 2)
                _step(y[r, 0], x_next, act, out, loss, opt, lr, mu, c1, c2, beta1, beta2, eps,
                      flat, params, grads, state2,
                      (Xs, Z1, A1, A1n, Z2, A2, z3, a3, dz1, dz2, lanes), block)
                A1, A1n = A1n, A1               # the next input's A1 is now this one's
                Xs[0, 0], Xs[0, 1] = X[r_next, 0], X[r_next, 1]
        else:
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                for i in range(theta.shape[0]):         # dw2 is not zeroed: the first
                    grad[i] = 0.0                       # row writes it
                for i in range(start, stop):    # sum the gradient over the batch's rows
                    r = orders[e, i]
                    Xs[0, 0], Xs[0, 1] = X[r, 0], X[r, 1]
                    _forward(Xs, params, act, out, Z1, A1, Z2, A2, z3, a3, block)
                    if loss == 0:               # dL/dz3, as in Model._gradients
                        dz3 = (a3[0] - y[r, 0]) * _der_f(a3[0], out) / (stop - start)
                    else:
                        dz3 = (a3[0] - y[r, 0]) / (stop - start)
                    db3[0] += dz3
                    for k in range(l2):
                        dw3[k] += A2[0, k] * dz3
                        dz2[k] = dz3 * w3[k] * _der_f(A2[0, k], act)
                        db2[k] += dz2[k]
                    _dots(dz2, w2, np.int64(0), l1, lanes, dz1)     # da1 = dz2 @ w2.T
                    for j in range(l1):
                        a1_j = A1[0, j]
                        dz1[j] *= _der_f(a1_j, act)
                        if i == start:
                            for k in range(l2):
                                dw2[j, k] = a1_j * dz2[k]
                        else:
                            for k in range(l2):
                                dw2[j, k] += a1_j * dz2[k]
                        dp1[0, j] += Xs[0, 0] * dz1[j]
                        dp1[1, j] += Xs[0, 1] * dz1[j]
                        dp1[2, j] += dz1[j]
                c1 = c2 = 1.0
                if opt == 2:
                    t += 1
                    c1 = 1.0 - _powi(beta1, t)
                    c2 = 1.0 - _powi(beta2, t)
                _update(theta, v, m, s, grad, np.int64(0), theta.shape[0], opt, lr, mu, c1, c2,
                        beta1, beta2, eps)
                v2, m2, s2 = state2
                _update(w2.reshape(l1 * l2), v2.reshape(l1 * l2), m2.reshape(l1 * l2),
                        s2.reshape(l1 * l2), dw2.reshape(l1 * l2), np.int64(0), l1 * l2, opt, lr,
                        mu, c1, c2, beta1, beta2, eps)
        loss_out[e], acc_out[e], mae_out[e] = _metrics(X, y, params, act, out, loss, Z1m, A1m,
                                                       Z2m, A2m, z3m, a3m, block)
        epochs_run = e + 1
        if not math.isfinite(loss_out[e]):
            break
    return epochs_run, t


_FUNCTIONS = ("_exp", "_log1p", "_tanh", "_sigmoid", "_powi", "_f", "_f_all", "_der_f",
              "_softplus", "_layer1", "_rows8", "_add_rows", "_head", "_forward", "_lanes4",
              "_dots", "_lanes4_momentum", "_lanes1_momentum", "_momentum_rows", "_update",
              "_update_rows", "_step", "_metrics", "_epochs")
_PYTHON = {name: globals()[name] for name in _FUNCTIONS}    # the source of each twin


@functools.cache
def _simd_intrinsics():
    """``_lanes4``, ``_lanes4_momentum``, ``_lanes1_momentum`` and ``_rows8`` as numba
    intrinsics, in SIMD instructions written out.

    Row r's four partial sums are the four lanes of one vector, s_r += a[k:k+4]
    * w[j + r, k:k+4]: one multiply and one add per lane, each rounded (no FMA),
    so each lane adds in ``_lanes4``'s order, on any CPU and vector width. The
    step of ``_lanes4_momentum`` (and ``_lanes1_momentum``) is ``_update_rows``'s,
    four elements at a time; ``_rows8`` adds the eight rows into four sums at a
    time, in row order.
    """
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    ir = cgutils.ir                             # llvmlite's IR builder, as numba uses it

    f64, i64 = ir.DoubleType(), ir.IntType(64)
    f64x4 = ir.VectorType(f64, 4)
    vector, matrix = types.Array(types.float64, 1, "C"), types.Array(types.float64, 2, "C")

    def lanes(context, builder, a, w, j, out, step=None, rows=4):
        """The loop of ``_lanes4`` over ``rows`` rows; ``step(builder, r, k, a_k, w_rk)``
        after each load."""
        l2 = builder.extract_value(w.shape, 1)
        n4 = builder.and_(builder.extract_value(a.shape, 0), i64(-4))     # l2 - l2 % 4
        w_rows = [builder.gep(w.data, [builder.mul(builder.add(j, i64(r)), l2)])
                  for r in range(rows)]
        sums = [cgutils.alloca_once_value(builder, ir.Constant(f64x4, [0.0] * 4))
                for _ in range(rows)]
        with cgutils.for_range_slice(builder, i64(0), n4, i64(4)) as (k, _):
            a_k = load4(builder, a.data, k)
            for r in range(rows):
                w_rk = load4(builder, w_rows[r], k)
                builder.store(builder.fadd(builder.load(sums[r]), builder.fmul(a_k, w_rk)),
                              sums[r])
                if step is not None:
                    step(builder, r, k, a_k, w_rk)
        for r in range(rows):
            sum_r = builder.load(sums[r])
            for i in range(4):
                builder.store(builder.extract_element(sum_r, ir.IntType(32)(i)),
                              builder.gep(out.data, [i64(4 * r + i)]))

    def load4(builder, pointer, k):
        return builder.load(builder.bitcast(builder.gep(pointer, [k]), f64x4.as_pointer()),
                            align=8)

    def store4(builder, value, pointer, k):
        builder.store(value, builder.bitcast(builder.gep(pointer, [k]), f64x4.as_pointer()),
                      align=8)

    def splat(builder, x):
        vec = ir.Constant(f64x4, ir.Undefined)
        for i in range(4):
            vec = builder.insert_element(vec, x, ir.IntType(32)(i))
        return vec

    def arrays(context, builder, signature, args):
        return [context.make_array(ty)(context, builder, value) if isinstance(ty, types.Array)
                else value for ty, value in zip(signature.args, args, strict=True)]

    def lanes4(typingctx, a, w, j, out):
        if (a, w, out) != (vector, matrix, vector) or not isinstance(j, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            a, w, j, out = arrays(context, builder, signature, args)
            j = context.cast(builder, j, signature.args[2], types.int64)
            lanes(context, builder, a, w, j, out)
            return context.get_dummy_value()
        return types.none(*[a, w, j, out]), codegen

    def lanes_momentum(rows, typingctx, a, w, v, coef, j, lr, mu, out):
        if ((a, w, v, coef, out) != (vector, matrix, matrix, matrix, vector)
                or not isinstance(j, types.Integer) or (lr, mu) != (types.float64,) * 2):
            return None

        def codegen(context, builder, signature, args):
            a, w, v, coef, j, lr, mu, out = arrays(context, builder, signature, args)
            j = context.cast(builder, j, signature.args[4], types.int64)
            l2 = builder.extract_value(w.shape, 1)
            v_rows = [builder.gep(v.data, [builder.mul(builder.add(j, i64(r)), l2)])
                      for r in range(rows)]
            w_rows = [builder.gep(w.data, [builder.mul(builder.add(j, i64(r)), l2)])
                      for r in range(rows)]
            coefs = [splat(builder, builder.load(builder.gep(coef.data, [builder.add(j, i64(r))])))
                     for r in range(rows)]
            lr4, mu4 = splat(builder, lr), splat(builder, mu)

            def step(builder, r, k, a_k, w_rk):      # v = v mu + lr (coef a); w -= v
                v_rk = builder.fadd(builder.fmul(load4(builder, v_rows[r], k), mu4),
                                    builder.fmul(lr4, builder.fmul(coefs[r], a_k)))
                store4(builder, v_rk, v_rows[r], k)
                store4(builder, builder.fsub(w_rk, v_rk), w_rows[r], k)

            lanes(context, builder, a, w, j, out, step, rows)
            return context.get_dummy_value()
        return types.none(*[a, w, v, coef, j, lr, mu, out]), codegen

    def rows8(typingctx, A, q, w, j, Z):
        if ((A, w, Z) != (matrix, matrix, matrix) or not isinstance(q, types.Integer)
                or not isinstance(j, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            A, q, w, j, Z = arrays(context, builder, signature, args)
            q = context.cast(builder, q, signature.args[1], types.int64)
            j = context.cast(builder, j, signature.args[3], types.int64)
            l1, l2 = builder.extract_value(A.shape, 1), builder.extract_value(w.shape, 1)
            n4 = builder.and_(l2, i64(-4))
            a_q = builder.gep(A.data, [builder.add(builder.mul(q, l1), j)])
            coefs = [splat(builder, builder.load(builder.gep(a_q, [i64(r)]))) for r in range(8)]
            w_rows = [builder.gep(w.data, [builder.mul(builder.add(j, i64(r)), l2)])
                      for r in range(8)]
            z_q = builder.gep(Z.data, [builder.mul(q, l2)])
            with cgutils.for_range_slice(builder, i64(0), n4, i64(4)) as (k, _):
                z = load4(builder, z_q, k)
                for r in range(8):
                    z = builder.fadd(z, builder.fmul(coefs[r], load4(builder, w_rows[r], k)))
                store4(builder, z, z_q, k)
            return context.get_dummy_value()
        return types.none(*[A, q, w, j, Z]), codegen

    def lanes4_momentum(typingctx, a, w, v, coef, j, lr, mu, out):
        return lanes_momentum(4, typingctx, a, w, v, coef, j, lr, mu, out)

    def lanes1_momentum(typingctx, a, w, v, coef, j, lr, mu, out):
        return lanes_momentum(1, typingctx, a, w, v, coef, j, lr, mu, out)

    return {"_lanes4": intrinsic(lanes4), "_lanes4_momentum": intrinsic(lanes4_momentum),
            "_lanes1_momentum": intrinsic(lanes1_momentum), "_rows8": intrinsic(rows8)}


_INLINED = ("_exp", "_tanh", "_sigmoid", "_der_f")    # into the loops that call them
_IR_INLINED = ("_step", "_metrics", "_head")           # one numba function with _epochs
_SIMD = ("_lanes4", "_lanes4_momentum", "_lanes1_momentum", "_rows8")


def _twin(numba, name, cache):
    """The compiled twin of engine function ``name``.

    numba's, without fastmath (so LLVM neither reorders sums nor fuses a
    multiply and an add). The ``_INLINED`` scalar functions go into the loops
    that call them, so that these compile to SIMD instructions; the
    ``_IR_INLINED`` ones into ``_epochs`` (fewer functions compile faster);
    the ``_SIMD`` ones are the intrinsics of ``_simd_intrinsics``.
    """
    if name in _SIMD:
        return _simd_intrinsics()[name]
    return numba.njit(_PYTHON[name], cache=cache, nogil=True, error_model="numpy",
                      fastmath=False, forceinline=name in _INLINED,
                      inline="always" if name in _IR_INLINED else "never")


_kernel = None
_lock = threading.RLock()                       # re-entered by the trial run of _compile


def kernel():
    """``_epochs`` compiled; compiles every function of the engine on first use.

    numba caches the machine code on disk, so later processes load it instead
    of compiling again. Where it cannot (a read-only install, ``NUMBA_CACHE_DIR``
    or HOME, a full disk, a corrupt cache), the engine is compiled in memory,
    once per process. One thread compiles while the others wait. Ctrl-C during
    the import and the compile is held back until they end (a few seconds), so
    neither is left half done; any other failure leaves the module as it was,
    and the next call tries again.
    """
    global _kernel
    with _lock:                                 # one thread compiles, the others wait
        if _kernel is None:
            with _sigint_held():
                try:
                    _kernel = _compile(cache=True)
                except Exception:               # no writable cache, disk full, corrupt index
                    _kernel = _compile(cache=False)
        return _kernel


def _compile(cache):
    """Compile every function and run one tiny epoch; on any failure undo both."""
    global _kernel
    import numba
    try:
        compiled = {name: _twin(numba, name, cache) for name in _FUNCTIONS}
        globals().update(compiled)              # each replaced by its compiled twin
        _kernel = compiled["_epochs"]
        # numba compiles (or loads from its cache) on the first call: make it here,
        # with run_epochs's own argument types, under the lock.
        one = {"w1": np.zeros((2, 1)), "w3": np.zeros((1, 1))}
        run_epochs({**one, **{k: np.zeros((1, 1)) for k in ("b1", "w2", "b2", "b3")}}, {},
                   np.zeros((1, 2)), np.zeros((1, 1)), np.zeros((1, 1), dtype=np.int64),
                   np.ones(1), 1, "sigmoid", "sigmoid", "mse", "sgd", 0.0, 0)
        return _kernel
    except BaseException:
        _kernel = None
        globals().update(_PYTHON)               # the pure-Python functions again
        raise


def problem():
    """None if the engine compiles (``kernel``), else why it cannot, as one line."""
    try:
        kernel()
    except Exception as exc:                    # e.g. numba installed but not importable
        return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return None


@contextlib.contextmanager
def _sigint_held():
    """Hold SIGINT (Ctrl-C) back during the block, then deliver it; main thread only."""
    caught = []
    hold = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not None)
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(1)) if hold else None
    try:
        yield
    finally:
        if hold:
            signal.signal(signal.SIGINT, previous)
            if caught:
                signal.raise_signal(signal.SIGINT)      # to the handler as it was


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

    Notes
    -----
    The kernel sees one flat vector per kind for the small parameters: the
    parameters, each piece of optimizer state, the gradient, so that their
    update is one loop. Each is laid out as w1 (2, l1), b1 (1, l1), b2, w3,
    b3 (``FLAT_ORDER``); p1 (3, l1) is its first three rows: w1[0], w1[1],
    b1[0]. w2 and its state, nearly all of P at large sizes, are trained in
    the caller's arrays (or in a contiguous copy, written back).
    """
    l1, l2 = params["w2"].shape
    bounds = np.cumsum([0, 3 * l1, l2, l2, 1])
    arrays = {"": params, **{p: {name: state[p + name] for name in PARAM_NAMES}
                             for p in OPT_STATE[optimizer]}}

    def views(vector):                          # p1, b2, w3, b3
        p1, b2, w3, b3 = (vector[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True))
        return p1.reshape(3, l1), b2, w3, b3

    flat = {p: np.concatenate([a[name].ravel() for name in FLAT_ORDER])
            for p, a in arrays.items()}
    w2 = {p: np.ascontiguousarray(a["w2"], dtype=np.float64) for p, a in arrays.items()}
    theta = flat[""]
    # theta, v, m, s, gradient: the state an optimizer does not use is never read
    vectors = (theta, flat.get("v_", theta), flat.get("m_", theta), flat.get("s_", theta),
               np.empty_like(theta))
    epochs, rows = len(orders), min(METRIC_ROWS, len(X))
    loss_out, acc_out, mae_out = np.empty(epochs), np.empty(epochs), np.empty(epochs)
    done, t = kernel()(
        np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(orders, dtype=np.int64),
        np.ascontiguousarray(lrs, dtype=np.float64),
        None if batch_size == 1 else int(batch_size),   # two compiled kinds (see _epochs)
        ACT_CODES[activation], ACT_CODES[output_activation], LOSS_CODES[loss],
        OPT_CODES[optimizer], float(momentum), int(t), *map(float, adam),
        vectors, (*views(theta), w2[""]), (*views(vectors[4]), np.empty((l1, l2))),
        tuple(w2.get(p, w2[""]) for p in ("v_", "m_", "s_")),
        (np.empty((1, 2)), *(np.empty((1, size)) for size in (l1, l1, l1, l2, l2)),
         np.empty(1), np.empty(1), np.empty(l1), np.empty(l2), np.empty(16)),
        tuple(np.empty(shape) for shape in ((rows, l1), (rows, l1), (rows, l2), (rows, l2),
                                            rows, rows)),
        loss_out, acc_out, mae_out)
    for p, a in arrays.items():                 # back into the caller's arrays
        p1, b2, w3, b3 = views(flat[p])
        a["w1"][...] = p1[:2]
        for name, values in (("b1", p1[2]), ("b2", b2), ("w3", w3), ("b3", b3), ("w2", w2[p])):
            if values is not a[name]:           # w2 trained in place needs no copy
                a[name][...] = values.reshape(a[name].shape)
    return loss_out[:done], acc_out[:done], mae_out[:done], int(t)
