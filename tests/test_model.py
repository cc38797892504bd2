"""Model: parameters, forward pass, gradients, updates, copy and loss.

Oracles: the lab's Listing 3 (forward) and Listing 4 (backward and momentum update),
written out here; central finite differences (``gradient_check``); updates computed by hand.
"""

import math
import warnings

import numpy as np
import pytest

import backprop_core as bc

SHAPES = [(1, 1), (3, 2), (2, 7), (5, 10), (8, 16)]
SHAPE_IDS = [f"{l1}x{l2}" for l1, l2 in SHAPES]
ACTS = ["sigmoid", "tanh", "relu", "none"]
KINK_MARGIN = 1e-2          # relu pre-activations stay this far from 0 in gradient checks


# -- helpers -------------------------------------------------------------------


def listing_sigmoid(x):
    return 1 / (1 + np.exp(-x))                # Listing 1


def listing_der_sigmoid(y):
    return y * (1 - y)                         # Listing 2


def listing_forward(m, inputs):
    """Listing 3, for a model whose activations are all sigmoids."""
    a1 = listing_sigmoid(np.dot(inputs, m.w1) + m.b1)
    a2 = listing_sigmoid(np.dot(a1, m.w2) + m.b2)
    output = listing_sigmoid(np.dot(a2, m.w3) + m.b3)
    return a1, a2, output


def listing_backward(m, inputs, y):
    """Listing 4's gradients with error = output - y (its update is tested separately)."""
    a1, a2, output = listing_forward(m, inputs)
    dout = output - y
    grad_a3 = np.multiply(dout, listing_der_sigmoid(output))
    grad_w3 = np.dot(a2.T, grad_a3)
    grad_b3 = np.sum(grad_a3, axis=0)
    grad_z2 = np.dot(grad_a3, m.w3.T)
    grad_a2 = np.multiply(grad_z2, listing_der_sigmoid(a2))
    grad_w2 = np.dot(a1.T, grad_a2)
    grad_b2 = np.sum(grad_a2, axis=0)
    grad_z1 = np.dot(grad_a2, m.w2.T)
    grad_a1 = np.multiply(grad_z1, listing_der_sigmoid(a1))
    grad_w1 = np.dot(inputs.T, grad_a1)
    grad_b1 = np.sum(grad_a1, axis=0)
    return {"w1": grad_w1, "b1": grad_b1, "w2": grad_w2, "b2": grad_b2,
            "w3": grad_w3, "b3": grad_b3}


def hand_forward(m, X):
    """The forward pass with any activation: (z1, z2, z3, y_hat)."""
    f = {"sigmoid": listing_sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
         "none": lambda z: z}
    z1 = X @ m.w1 + m.b1
    z2 = f[m.activation](z1) @ m.w2 + m.b2
    z3 = f[m.activation](z2) @ m.w3 + m.b3
    return z1, z2, z3, f[m.output_activation](z3)


def model_with_biases(hidden_size, seed, **kwargs):
    """A Model whose biases are random too, so that every term of the gradient is exercised."""
    m = bc.Model(hidden_size, seed=seed, **kwargs)
    rng = np.random.default_rng(seed + 1000)
    for name in ("b1", "b2", "b3"):
        getattr(m, name)[...] = rng.normal(0.0, 0.5, getattr(m, name).shape)
    return m


def checkable_model(hidden_size, X, seed=0, **kwargs):
    """A model whose relu pre-activations on X are all away from the kink (first such seed)."""
    for s in range(seed, seed + 200):
        m = model_with_biases(hidden_size, s, **kwargs)
        z1, z2, _, _ = hand_forward(m, X)
        if kwargs.get("activation") != "relu" or min(np.abs(z1).min(),
                                                     np.abs(z2).min()) > KINK_MARGIN:
            return m
    raise AssertionError("no seed keeps the relu pre-activations away from 0")


def random_grads(m, rng):
    return {name: rng.standard_normal(p.shape) for name, p in m.params.items()}


@pytest.fixture
def data():
    return bc.generate_linear(16, seed=1)


# -- parameters and initialisation ----------------------------------------------


@pytest.mark.parametrize("hidden_size", SHAPES, ids=SHAPE_IDS)
def test_parameter_names_shapes_dtypes(hidden_size):
    l1, l2 = hidden_size
    m = bc.Model(hidden_size)
    shapes = {"w1": (2, l1), "b1": (1, l1), "w2": (l1, l2), "b2": (1, l2),
              "w3": (l2, 1), "b3": (1, 1)}
    assert bc.PARAM_NAMES == ("w1", "b1", "w2", "b2", "w3", "b3")
    assert list(m.params) == list(bc.PARAM_NAMES)
    for name, shape in shapes.items():
        for prefix in ("", "v_", "m_", "s_"):
            array = getattr(m, prefix + name)
            assert array.shape == shape, prefix + name
            assert array.dtype == np.float64, prefix + name
        assert m.params[name] is getattr(m, name)
        for prefix in ("v_", "m_", "s_"):
            assert not getattr(m, prefix + name).any()
    assert m.t == 0
    assert m.hidden_size == hidden_size


def test_defaults():
    m = bc.Model()
    assert (m.hidden_size, m.lr, m.momentum) == ((5, 10), 0.1, 0.9)
    assert (m.activation, m.output_activation, m.optimizer, m.loss, m.init) == (
        "sigmoid", "sigmoid", "momentum", "mse", "normal")


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("hidden_size", [(5, 10), (3, 2)])
def test_default_init_is_standard_normal_and_zero_biases(seed, hidden_size):
    l1, l2 = hidden_size
    m = bc.Model(hidden_size, seed=seed)
    rng = np.random.default_rng(seed)
    np.testing.assert_array_equal(m.w1, rng.standard_normal((2, l1)))
    np.testing.assert_array_equal(m.w2, rng.standard_normal((l1, l2)))
    np.testing.assert_array_equal(m.w3, rng.standard_normal((l2, 1)))
    for name in ("b1", "b2", "b3"):
        assert not getattr(m, name).any()


@pytest.mark.parametrize("init, std", [
    ("xavier", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
    ("he", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
])
def test_scaled_inits(init, std):
    m = bc.Model((4, 6), seed=3, init=init)
    rng = np.random.default_rng(3)
    for name, (fan_in, fan_out) in [("w1", (2, 4)), ("w2", (4, 6)), ("w3", (6, 1))]:
        expected = std(fan_in, fan_out) * rng.standard_normal((fan_in, fan_out))
        np.testing.assert_allclose(getattr(m, name), expected, rtol=1e-15)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = bc.Model(seed=4), bc.Model(seed=4), bc.Model(seed=5)
    np.testing.assert_array_equal(a.w2, b.w2)
    assert not np.array_equal(a.w2, c.w2)


def test_repr_rebuilds_the_model():
    m = bc.Model((3, 4), lr=0.05, momentum=0.5, activation="tanh", seed=7, optimizer="adam",
                 loss="bce", init="he")
    rebuilt = eval(repr(m), {"Model": bc.Model})
    assert repr(rebuilt) == repr(m)
    for name in bc.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(rebuilt, name), getattr(m, name))


# -- forward and predict -------------------------------------------------------------


@pytest.mark.parametrize("hidden_size", SHAPES, ids=SHAPE_IDS)
def test_forward_matches_listing_3(hidden_size, data):
    X, _ = data
    m = model_with_biases(hidden_size, seed=2)
    y_hat = m.forward(X)
    assert y_hat.shape == (16, 1)
    np.testing.assert_allclose(y_hat, listing_forward(m, X)[2], rtol=1e-13)
    np.testing.assert_allclose(m.forward(X[:1]), listing_forward(m, X[:1])[2], rtol=1e-13)


@pytest.mark.parametrize("output_activation", ["sigmoid", "none"])
@pytest.mark.parametrize("activation", ACTS)
def test_forward_other_activations(activation, output_activation, data):
    X, _ = data
    m = model_with_biases((4, 3), seed=5, activation=activation,
                          output_activation=output_activation)
    np.testing.assert_allclose(m.forward(X), hand_forward(m, X)[3], rtol=1e-12, atol=1e-15)


def test_forward_accepts_lists():
    m = bc.Model((3, 2))
    np.testing.assert_array_equal(m.forward([[0.2, 0.7]]), m.forward(np.array([[0.2, 0.7]])))


def test_predict_thresholds_at_one_half(data):
    X, _ = data
    m = model_with_biases((5, 10), seed=0)
    m.b3 -= np.median(hand_forward(m, X)[2]) + 1e-3   # put the boundary among the points
    labels = m.predict(X)
    assert labels.shape == (16, 1) and labels.dtype == np.float64
    np.testing.assert_array_equal(labels, (listing_forward(m, X)[2] > 0.5).astype(float))
    assert 0 < labels.sum() < 16               # both labels occur, so the check has teeth
    m.w3[...] = 0.0
    m.b3[...] = 0.0                            # output exactly sigmoid(0) = 0.5
    np.testing.assert_array_equal(m.forward(X), 0.5)
    np.testing.assert_array_equal(m.predict(X), 0.0)
    m.b3[...] = 1e-9
    np.testing.assert_array_equal(m.predict(X), 1.0)


# -- gradients against central finite differences ----------------------------------------


@pytest.mark.parametrize("n", [1, 4, 16], ids=["n1", "n4", "n16"])
@pytest.mark.parametrize("hidden_size", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_gradient_check_lab_network(hidden_size, n, loss, data):
    X, y = data
    m = model_with_biases(hidden_size, seed=n, loss=loss)
    errors = bc.gradient_check(m, X[:n], y[:n])
    assert set(errors) == set(bc.PARAM_NAMES)
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("n", [1, 5], ids=["n1", "n5"])
@pytest.mark.parametrize("hidden_size", [(1, 1), (3, 2), (5, 10)], ids=["1x1", "3x2", "5x10"])
@pytest.mark.parametrize("output_activation", ["sigmoid", "none"])
@pytest.mark.parametrize("activation", ACTS)
def test_gradient_check_activations(activation, output_activation, hidden_size, n, data):
    X, y = data
    m = checkable_model(hidden_size, X[:n], seed=10 * n, activation=activation,
                        output_activation=output_activation)
    errors = bc.gradient_check(m, X[:n], y[:n])
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("hidden_size", [(1, 1), (2, 2), (3, 2), (2, 3)],
                         ids=["1x1", "2x2", "3x2", "2x3"])
def test_gradient_check_order_2(activation, hidden_size, data):
    """The textbook stencil, (L+ - L-) / 2 eps, on small networks and one sample."""
    X, y = data
    m = checkable_model(hidden_size, X[:1], seed=3, activation=activation)
    errors = bc.gradient_check(m, X[:1], y[:1], order=2)
    assert max(errors.values()) < 1e-7, errors


def test_gradient_check_dead_relu_units(data):
    """Units off on every row: the loss does not depend on the weights before them.

    Their analytic gradients are exactly 0, and so must be the central differences of a
    loss that does not change; a round-off residue of ~1e-15 would be reported as a
    relative error of ~1e-7 by rel_error's 1e-8 floor.
    """
    X, y = data
    m = bc.Model((3, 4), activation="relu", seed=0)
    m.b2[...] = -10.0                          # z2 << 0 on every row: layer 2 is off
    assert not hand_forward(m, X[:2])[1].max() > -5
    analytic = m.gradients(X[:2], y[:2])
    numeric = bc.numerical_gradients(m, X[:2], y[:2])
    for name in ("w1", "b1", "w2", "b2", "w3"):
        np.testing.assert_array_equal(analytic[name], 0.0, err_msg=name)
        np.testing.assert_array_equal(numeric[name], 0.0, err_msg=name)
    assert max(bc.gradient_check(m, X[:2], y[:2]).values()) < 1e-7


def test_numerical_gradients_leave_the_parameters_unchanged(data):
    X, y = data
    m = model_with_biases((3, 4), seed=1)
    before = {k: v.copy() for k, v in m.params.items()}
    for order in (2, 4):
        numeric = bc.numerical_gradients(m, X[:3], y[:3], order=order)
        assert {k: v.shape for k, v in numeric.items()} == {k: v.shape for k, v in before.items()}
    for name in bc.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(m, name), before[name])


def test_numerical_gradient_by_hand():
    """numerical_gradients' textbook stencil, recomputed for one weight."""
    X, y = np.array([[0.3, 0.8]]), np.array([[1.0]])
    m = model_with_biases((2, 2), seed=0)
    eps = 1e-5
    theta = m.w2[1, 0]
    m.w2[1, 0] = theta + eps
    plus = 0.5 * ((listing_forward(m, X)[2] - y) ** 2).item()
    m.w2[1, 0] = theta - eps
    minus = 0.5 * ((listing_forward(m, X)[2] - y) ** 2).item()
    m.w2[1, 0] = theta
    numeric = bc.numerical_gradients(m, X, y, eps=eps, order=2)
    assert numeric["w2"][1, 0] == pytest.approx((plus - minus) / (2 * eps), rel=1e-9)


def test_rel_error_values():
    assert bc.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert bc.rel_error([1.0], [3.0]) == pytest.approx(2.0 / 4.0)
    assert bc.rel_error([0.0, 1.0], [1e-9, 1.0]) == pytest.approx(1e-9 / 1e-8)
    assert bc.rel_error([[1.0, -1.0]], [[1.0, 1.0]]) == pytest.approx(1.0)


INF = math.inf


@pytest.mark.parametrize("a, b", [(INF, INF), (-INF, -INF), (INF, -INF), (INF, 2.0), (-3.0, INF),
                                  ([1.0, INF], [1.5, INF]), ([0.5, INF], [0.5, 0.0])])
def test_rel_error_with_an_inf_is_its_limit_without_a_warning(a, b):
    """Oracle: the formula on a huge finite number standing in for each inf (the same
    huge number for the same inf), where |x - c| / (|x| + |c|) has reached its limit."""
    def finite(v):
        return np.nan_to_num(np.asarray(v, dtype=float), posinf=1e300, neginf=-1e300)

    want = float(np.max(np.abs(finite(a) - finite(b))
                        / np.maximum(1e-8, np.abs(finite(a)) + np.abs(finite(b)))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # numpy's "invalid value" RuntimeWarning too
        assert bc.rel_error(a, b) == want


def test_rel_error_keeps_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(bc.rel_error([math.nan, 1.0], [INF, 1.0]))
        assert math.isnan(bc.rel_error(math.nan, math.nan))


# -- gradients against the listing ------------------------------------------------------


@pytest.mark.parametrize("hidden_size", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("row", [0, 5, 11])
def test_one_sample_gradients_equal_listing_4(hidden_size, row, data):
    X, y = data
    m = model_with_biases(hidden_size, seed=row)
    grads = m.gradients(X[row:row + 1], y[row:row + 1])
    expected = listing_backward(m, X[row:row + 1], y[row:row + 1])
    for name in bc.PARAM_NAMES:
        assert grads[name].shape == getattr(m, name).shape
        np.testing.assert_allclose(grads[name], expected[name].reshape(grads[name].shape),
                                   rtol=1e-12, atol=1e-300, err_msg=name)


def test_batch_gradients_are_the_listing_sum_over_n(data):
    """L is a mean over the rows, so its gradient is Listing 4's summed gradient / n."""
    X, y = data
    m = model_with_biases((5, 10), seed=0)
    grads = m.gradients(X, y)
    expected = listing_backward(m, X, y)
    for name in bc.PARAM_NAMES:
        np.testing.assert_allclose(grads[name], expected[name].reshape(grads[name].shape) / 16,
                                   rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("activation", ACTS)
def test_batch_gradient_is_mean_of_sample_gradients(activation, loss, data):
    X, y = data
    m = model_with_biases((4, 3), seed=1, activation=activation, loss=loss)
    batch = m.gradients(X[:6], y[:6])
    samples = [m.gradients(X[i:i + 1], y[i:i + 1]) for i in range(6)]
    for name in bc.PARAM_NAMES:
        mean = np.mean([s[name] for s in samples], axis=0)
        np.testing.assert_allclose(batch[name], mean, rtol=1e-12, atol=1e-15, err_msg=name)


def test_gradients_do_not_change_the_model(data):
    X, y = data
    m = model_with_biases((3, 4), seed=0)
    before = m.copy()
    m.gradients(X, y)
    for name in bc.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(m, name), getattr(before, name))
        np.testing.assert_array_equal(getattr(m, "v_" + name), getattr(before, "v_" + name))


# -- step ---------------------------------------------------------------------------------


def test_momentum_step_by_hand():
    lr, mu = 0.3, 0.7
    m = bc.Model((3, 4), lr=lr, momentum=mu, seed=0)
    rng = np.random.default_rng(0)
    g1, g2 = random_grads(m, rng), random_grads(m, rng)
    theta0 = {k: v.copy() for k, v in m.params.items()}
    m.step(g1)
    for k in bc.PARAM_NAMES:
        v1 = lr * g1[k]
        np.testing.assert_allclose(getattr(m, "v_" + k), v1, rtol=1e-15)
        np.testing.assert_allclose(getattr(m, k), theta0[k] - v1, rtol=1e-14)
    m.step(g2)
    for k in bc.PARAM_NAMES:
        v1 = lr * g1[k]
        v2 = mu * v1 + lr * g2[k]
        np.testing.assert_allclose(getattr(m, "v_" + k), v2, rtol=1e-14)
        np.testing.assert_allclose(getattr(m, k), theta0[k] - v1 - v2, rtol=1e-13, atol=1e-15)


def test_momentum_step_equals_listing_4_update(data):
    """Two per-sample steps of the lab's rule, written as in Listing 4."""
    X, y = data
    m = bc.Model((5, 10), lr=0.1, seed=0)
    lab = {k: v.copy() for k, v in m.params.items()}
    lab.update({"v_" + k: np.zeros_like(v) for k, v in m.params.items()})
    for i in range(2):
        lab_model = bc.Model((5, 10))
        for k in bc.PARAM_NAMES:
            setattr(lab_model, k, lab[k].copy())
        grads = listing_backward(lab_model, X[i:i + 1], y[i:i + 1])
        for k in bc.PARAM_NAMES:
            lab["v_" + k] = 0.9 * lab["v_" + k] + 0.1 * grads[k]
            lab[k] = lab[k] - lab["v_" + k]
        m.step(m.gradients(X[i:i + 1], y[i:i + 1]))
    for k in bc.PARAM_NAMES:
        np.testing.assert_allclose(getattr(m, k), lab[k], rtol=1e-12, err_msg=k)
        np.testing.assert_allclose(getattr(m, "v_" + k), lab["v_" + k], rtol=1e-12, err_msg=k)


def test_sgd_step_by_hand():
    m = bc.Model((3, 4), lr=0.25, seed=0, optimizer="sgd")
    rng = np.random.default_rng(1)
    g1, g2 = random_grads(m, rng), random_grads(m, rng)
    theta0 = {k: v.copy() for k, v in m.params.items()}
    m.step(g1)
    m.step(g2)
    for k in bc.PARAM_NAMES:
        expected = theta0[k] - 0.25 * g1[k] - 0.25 * g2[k]
        np.testing.assert_allclose(getattr(m, k), expected, rtol=1e-13, atol=1e-15)
        assert not getattr(m, "v_" + k).any()


def test_adam_first_two_steps_by_hand():
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8       # Kingma & Ba's defaults
    m = bc.Model((3, 4), lr=lr, seed=0, optimizer="adam")
    rng = np.random.default_rng(2)
    g1, g2 = random_grads(m, rng), random_grads(m, rng)
    theta0 = {k: v.copy() for k, v in m.params.items()}
    m.step(g1)
    assert m.t == 1
    theta1 = {}
    for k in bc.PARAM_NAMES:
        m1 = (1 - beta1) * g1[k]
        s1 = (1 - beta2) * g1[k] ** 2
        theta1[k] = theta0[k] - lr * (m1 / (1 - beta1)) / (np.sqrt(s1 / (1 - beta2)) + eps)
        np.testing.assert_allclose(getattr(m, k), theta1[k], rtol=1e-13, atol=1e-15)
    m.step(g2)
    assert m.t == 2
    for k in bc.PARAM_NAMES:
        m2 = beta1 * (1 - beta1) * g1[k] + (1 - beta1) * g2[k]
        s2 = beta2 * (1 - beta2) * g1[k] ** 2 + (1 - beta2) * g2[k] ** 2
        m_hat, s_hat = m2 / (1 - beta1 ** 2), s2 / (1 - beta2 ** 2)
        expected = theta1[k] - lr * m_hat / (np.sqrt(s_hat) + eps)
        np.testing.assert_allclose(getattr(m, k), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(getattr(m, "m_" + k), m2, rtol=1e-13)
        np.testing.assert_allclose(getattr(m, "s_" + k), s2, rtol=1e-13)


def test_adam_first_step_moves_each_weight_by_about_lr():
    m = bc.Model((3, 4), lr=0.01, seed=0, optimizer="adam")
    g = random_grads(m, np.random.default_rng(3))
    w1 = m.w1.copy()
    m.step(g)
    np.testing.assert_allclose(np.abs(m.w1 - w1), 0.01, rtol=1e-6)


def test_step_does_not_keep_the_gradient_arrays():
    m = bc.Model((3, 4), seed=0)
    g = random_grads(m, np.random.default_rng(4))
    m.step(g)
    v = m.v_w1.copy()
    g["w1"][...] = 1e6
    np.testing.assert_array_equal(m.v_w1, v)


def test_reset_optimizer():
    m = bc.Model((3, 4), seed=0, optimizer="adam")
    m.step(random_grads(m, np.random.default_rng(5)))
    m.reset_optimizer()
    assert m.t == 0
    for k in bc.PARAM_NAMES:
        for prefix in ("v_", "m_", "s_"):
            assert not getattr(m, prefix + k).any()


# -- copy -----------------------------------------------------------------------------


def test_copy_is_independent(data):
    X, y = data
    m = bc.Model((3, 4), seed=0, optimizer="adam")
    m.step(m.gradients(X, y))
    c = m.copy()
    assert type(c) is bc.Model and repr(c) == repr(m) and c.t == m.t
    np.testing.assert_array_equal(c.forward(X), m.forward(X))
    saved = {p + k: getattr(m, p + k).copy() for p in ("", "v_", "m_", "s_")
             for k in bc.PARAM_NAMES}
    for key in saved:
        assert getattr(c, key) is not getattr(m, key)
        np.testing.assert_array_equal(getattr(c, key), saved[key])
    c.w1 += 1.0
    c.m_b2 += 1.0
    c.lr = 5.0
    c.step(c.gradients(X, y))
    for key, value in saved.items():
        np.testing.assert_array_equal(getattr(m, key), value, err_msg=key)
    assert m.lr == 0.1 and m.t == 1


# -- loss -------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTS)
def test_mse_loss_value(activation, data):
    X, y = data
    m = model_with_biases((4, 3), seed=0, activation=activation)
    expected = np.mean(0.5 * (hand_forward(m, X)[3] - y) ** 2)
    assert m.loss_value(X, y) == pytest.approx(expected, rel=1e-13)
    assert isinstance(m.loss_value(X, y), float)


def test_bce_loss_value_against_naive_formula(data):
    X, y = data
    m = model_with_biases((4, 3), seed=0, loss="bce")
    p = listing_forward(m, X)[2]
    assert p.min() > 1e-3 and p.max() < 1 - 1e-3            # non-extreme
    naive = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert m.loss_value(X, y) == pytest.approx(naive, rel=1e-10)


@pytest.mark.parametrize("logit", [-1000.0, -50.0, 50.0, 1000.0])
def test_bce_finite_for_extreme_logits(logit, data):
    X, y = data
    m = bc.Model((4, 3), seed=0, loss="bce")
    m.w3[...] = 0.0
    m.b3[...] = logit                          # z3 = logit on every row
    wrong = (y == 0) if logit > 0 else (y == 1)
    expected = abs(logit) * wrong.mean()       # log(1 + e^|z|) ~ |z| when wrong, ~0 when right
    loss = m.loss_value(X, y)
    assert math.isfinite(loss)
    assert loss == pytest.approx(expected, rel=1e-12, abs=1e-20)
    grads = m.gradients(X, y)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_mse_loss_is_half_the_squared_error_for_one_sample():
    m = bc.Model((2, 2), seed=0)
    X, y = np.array([[0.1, 0.9]]), np.array([[1.0]])
    assert m.loss_value(X, y) == pytest.approx(0.5 * (listing_forward(m, X)[2].item() - 1) ** 2)
