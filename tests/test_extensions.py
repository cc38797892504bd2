"""The options beyond the lab: optimizers, the BCE loss, initialisations, training diagnostics.

Oracles: a forward and backward pass written out again here (``hand_gradients``), each
optimizer's update rule written out from its equations, central finite differences
(``gradient_check``), sample statistics of the initial weights against the formula's
standard deviation, and a hand loop of ``gradients`` + ``step`` that measures the norms
``workbook.diagnostics.train`` records. tests/test_model.py already steps each optimizer
by hand through ``Model.step`` with random gradients; here the steps go through ``train``,
with real gradients, in both engines.
"""

import math

import numpy as np
import pytest

import backprop_core as bc
from workbook import diagnostics, experiments, plots

WEIGHTS = ("w1", "w2", "w3")
ENGINES = ["numpy"] + (["numba"] if "numba" in bc.ENGINES else [])


@pytest.fixture
def data():
    return bc.generate_linear(10, seed=7)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def hand_gradients(m, X, y):
    """Gradients of the sigmoid network's mse or bce loss, written from the chain rule."""
    a1 = sigmoid(X @ m.w1 + m.b1)
    a2 = sigmoid(a1 @ m.w2 + m.b2)
    y_hat = sigmoid(a2 @ m.w3 + m.b3)
    n = len(X)
    if m.loss == "mse":                     # dL/dy_hat = (y_hat - y) / n, times sigma'(z3)
        dz3 = (y_hat - y) / n * y_hat * (1 - y_hat)
    else:                                   # dL/dy_hat = -(y / y_hat - (1 - y) / (1 - y_hat)) / n
        dz3 = -(y / y_hat - (1 - y) / (1 - y_hat)) / n * y_hat * (1 - y_hat)
    dz2 = (dz3 @ m.w3.T) * a2 * (1 - a2)
    dz1 = (dz2 @ m.w2.T) * a1 * (1 - a1)
    return {"w1": X.T @ dz1, "b1": dz1.sum(0, keepdims=True),
            "w2": a1.T @ dz2, "b2": dz2.sum(0, keepdims=True),
            "w3": a2.T @ dz3, "b3": dz3.sum(0, keepdims=True)}


def hand_optimizer(optimizer, lr, mu=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
    """The update rule of ``optimizer`` from its equations: step(theta, g, state) in place."""
    def step(theta, g, state):
        state["t"] = state.get("t", 0) + 1
        if optimizer == "sgd":
            return theta - lr * g
        if optimizer == "momentum":              # the lab's: v <- mu v + lr g, theta <- theta - v
            state["v"] = mu * state.get("v", 0.0) + lr * g
            return theta - state["v"]
        state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        state["s"] = beta2 * state.get("s", 0.0) + (1 - beta2) * g ** 2
        m_hat = state["m"] / (1 - beta1 ** state["t"])
        s_hat = state["s"] / (1 - beta2 ** state["t"])
        return theta - lr * m_hat / (np.sqrt(s_hat) + eps)
    return step


# -- optimizers: the first steps of train, by hand --------------------------------------------

HAND_LR = {"sgd": 0.5, "momentum": 0.2, "adam": 0.01}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss", ["mse", "bce"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_first_full_batch_steps_of_train_by_hand(optimizer, loss, engine, data):
    """Three epochs of full-batch training are three updates, each written out here."""
    X, y = data
    lr = HAND_LR[optimizer]
    m = bc.Model((3, 4), lr=lr, seed=1, optimizer=optimizer, loss=loss)
    params = {k: v.copy() for k, v in m.params.items()}
    states = {k: {} for k in params}
    rule = hand_optimizer(optimizer, lr)
    history = bc.train(m, X, y, epochs=3, batch_size=len(X), engine=engine)
    assert history.engine == engine
    hand = bc.Model((3, 4), seed=1, loss=loss)
    for _ in range(3):
        for k in bc.PARAM_NAMES:
            setattr(hand, k, params[k])
        grads = hand_gradients(hand, X, y)
        params = {k: rule(params[k], grads[k], states[k]) for k in bc.PARAM_NAMES}
    for k in bc.PARAM_NAMES:
        np.testing.assert_allclose(getattr(m, k), params[k], rtol=1e-10, atol=1e-13, err_msg=k)
    assert m.t == (3 if optimizer == "adam" else 0)
    for k in bc.PARAM_NAMES:
        setattr(hand, k, params[k])
    assert history.loss[-1] == pytest.approx(hand.loss_value(X, y), rel=1e-10)


@pytest.mark.parametrize("engine", ENGINES)
def test_adam_step_count_carries_over_between_train_calls(engine, data):
    """Bias correction uses the step count t over all updates, not per call or per epoch."""
    X, y = data
    m = bc.Model((3, 4), lr=0.01, seed=2, optimizer="adam")
    params = {k: v.copy() for k, v in m.params.items()}
    states = {k: {} for k in params}
    rule = hand_optimizer("adam", 0.01)
    bc.train(m, X, y, epochs=1, batch_size=4, engine=engine)      # rows 0-3, 4-7, 8-9
    bc.train(m, X, y, epochs=1, batch_size=10, engine=engine)     # one more update
    assert m.t == 4
    hand = bc.Model((3, 4), seed=2)
    for rows in [slice(0, 4), slice(4, 8), slice(8, 10), slice(0, 10)]:
        for k in bc.PARAM_NAMES:
            setattr(hand, k, params[k])
        grads = hand_gradients(hand, X[rows], y[rows])
        params = {k: rule(params[k], grads[k], states[k]) for k in bc.PARAM_NAMES}
    for k in bc.PARAM_NAMES:
        np.testing.assert_allclose(getattr(m, k), params[k], rtol=1e-10, atol=1e-13, err_msg=k)
        np.testing.assert_allclose(getattr(m, "m_" + k), states[k]["m"], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(getattr(m, "s_" + k), states[k]["s"], rtol=1e-10, atol=1e-20)


@pytest.mark.parametrize("engine", ENGINES)
def test_momentum_zero_is_sgd(engine, data):
    X, y = data
    a = bc.Model((4, 5), lr=0.3, momentum=0.0, seed=3)
    b = bc.Model((4, 5), lr=0.3, seed=3, optimizer="sgd")
    h_a = bc.train(a, X, y, epochs=5, engine=engine)
    h_b = bc.train(b, X, y, epochs=5, engine=engine)
    assert h_a.loss == h_b.loss
    for k in bc.PARAM_NAMES:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_sgd_and_momentum_differ_after_the_first_step(data):
    """The momentum run's second update includes mu times the first: a check with teeth."""
    X, y = data
    a = bc.Model((4, 5), lr=0.3, seed=3)
    b = bc.Model((4, 5), lr=0.3, seed=3, optimizer="sgd")
    bc.train(a, X, y, epochs=1, batch_size=10, engine="numpy")
    bc.train(b, X, y, epochs=1, batch_size=10, engine="numpy")
    np.testing.assert_allclose(a.w2, b.w2, rtol=1e-14)           # first steps are equal
    bc.train(a, X, y, epochs=1, batch_size=10, engine="numpy")
    bc.train(b, X, y, epochs=1, batch_size=10, engine="numpy")
    assert not np.allclose(a.w2, b.w2, rtol=1e-6)


# -- BCE -----------------------------------------------------------------------------------


def bce_model(hidden_size, activation, X, seed):
    """A bce model with random biases whose relu pre-activations on X avoid the kink."""
    for s in range(seed, seed + 200):
        m = bc.Model(hidden_size, seed=s, activation=activation, loss="bce")
        rng = np.random.default_rng(s + 500)
        for name in ("b1", "b2", "b3"):
            getattr(m, name)[...] = rng.normal(0.0, 0.5, getattr(m, name).shape)
        z1 = X @ m.w1 + m.b1
        z2 = bc.ACTIVATIONS[activation][0](z1) @ m.w2 + m.b2
        if activation != "relu" or min(np.abs(z1).min(), np.abs(z2).min()) > 1e-2:
            return m
    raise AssertionError("no seed keeps the relu pre-activations away from 0")


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize("hidden_size", [(1, 1), (2, 5), (4, 3), (8, 6)],
                         ids=["1x1", "2x5", "4x3", "8x6"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "none"])
def test_bce_gradient_check(activation, hidden_size, n, data):
    X, y = data
    m = bce_model(hidden_size, activation, X[:n], seed=n)
    errors = bc.gradient_check(m, X[:n], y[:n])
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_bce_gradient_check_after_training(optimizer, data):
    """Away from the initial weights too: after 20 epochs of each optimizer."""
    X, y = data
    m = bc.Model((4, 3), lr=0.05, seed=4, loss="bce", optimizer=optimizer)
    bc.train(m, X, y, epochs=20, engine="numpy")
    assert max(bc.gradient_check(m, X, y).values()) < 1e-7


@pytest.mark.parametrize("row", range(10))
def test_bce_output_delta_is_y_hat_minus_y_per_row(row, data):
    """For one row, dL/dz3 = y_hat - y: the sigmoid's derivative cancels."""
    X, y = data
    m = bce_model((4, 3), "sigmoid", X, seed=row)
    grads = m.gradients(X[row:row + 1], y[row:row + 1])
    y_hat = m.forward(X[row:row + 1])
    np.testing.assert_allclose(grads["b3"], y_hat - y[row:row + 1], rtol=1e-13)


def test_bce_output_delta_over_a_batch_is_the_mean(data):
    X, y = data
    m = bce_model((4, 3), "tanh", X, seed=0)
    grads = m.gradients(X, y)
    a2 = np.tanh(np.tanh(X @ m.w1 + m.b1) @ m.w2 + m.b2)          # (n, l2)
    delta = (m.forward(X) - y) / len(X)                           # (n, 1)
    np.testing.assert_allclose(grads["b3"], delta.sum(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(grads["w3"], a2.T @ delta, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("logit", [-30.0, -8.0, 8.0, 30.0])
def test_saturated_wrong_output_bce_keeps_its_gradient_mse_loses_it(logit):
    """y_hat near 0 for a label 1 (or near 1 for a 0): BCE's delta is near -1, MSE's near 0."""
    X = np.array([[0.2, 0.6]])
    y = np.array([[1.0 if logit < 0 else 0.0]])
    deltas = {}
    for loss in ("mse", "bce"):
        m = bc.Model((3, 2), seed=0, loss=loss)
        m.w3[...] = 0.0
        m.b3[...] = logit                       # z3 = logit, wrong and saturated
        deltas[loss] = m.gradients(X, y)["b3"].item()
    s = sigmoid(abs(logit))                     # probability given to the wrong class
    assert deltas["bce"] == pytest.approx(-math.copysign(s, -logit), rel=1e-12)
    assert abs(deltas["mse"]) == pytest.approx(s * s * (1 - s), rel=1e-6)
    assert abs(deltas["mse"]) < 1e-3 * abs(deltas["bce"])


# -- initialisation: the standard deviation per layer, measured ---------------------------------

WIDE = (1024, 1024)
STD = {
    "normal": lambda fan_in, fan_out: 1.0,
    "xavier": lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: math.sqrt(2.0 / fan_in),
}


@pytest.mark.parametrize("init", list(STD))
def test_init_std_per_layer_on_a_wide_network(init):
    """Sample mean and std of each weight matrix against the formula, within 5 standard errors.

    For N independent normal draws the sample std has relative standard error about
    1/sqrt(2N): 0.07 % for w2 (1024 x 1024), 1.6 % for w1 (2 x 1024), 2.2 % for w3.
    """
    m = bc.Model(WIDE, seed=11, init=init)
    l1, l2 = WIDE
    for name, (fan_in, fan_out) in [("w1", (2, l1)), ("w2", (l1, l2)), ("w3", (l2, 1))]:
        w = getattr(m, name).ravel()
        want = STD[init](fan_in, fan_out)
        assert abs(w.std() / want - 1) < 5 / math.sqrt(2 * w.size), (name, w.std(), want)
        assert abs(w.mean()) < 5 * want / math.sqrt(w.size), (name, w.mean())
        inside = np.mean(np.abs(w) < want)      # a normal puts 68.27 % within one std
        assert abs(inside - 0.6827) < 5 * math.sqrt(0.6827 * 0.3173 / w.size), (name, inside)
    for name in ("b1", "b2", "b3"):
        assert not getattr(m, name).any()


def test_inits_differ_where_their_formulas_differ():
    """He scales by fan_in alone, Xavier by fan_in + fan_out: at w1 (2 -> 1024) He is 1."""
    stds = {init: bc.Model(WIDE, seed=0, init=init).w1.std() for init in STD}
    assert stds["he"] == pytest.approx(1.0, rel=0.1)
    assert stds["xavier"] == pytest.approx(math.sqrt(2 / 1026), rel=0.1)
    assert stds["normal"] == pytest.approx(1.0, rel=0.1)


# -- diagnostics: gradient norms and update-to-weight ratios --------------------------------------


def hand_health(m, X, y, epochs, batch_size, lr_decay=1.0):
    """The diagnostics by hand: per epoch, the mean over updates of ||dW|| and ||dW_step||/||W||."""
    lr0 = m.lr
    norms = {k: [] for k in WEIGHTS}
    ratios = {k: [] for k in WEIGHTS}
    for e in range(epochs):
        m.lr = lr0 * lr_decay ** max(e - 1, 0)
        sums = {k: [0.0, 0.0] for k in WEIGHTS}
        starts = range(0, len(X), batch_size)
        for start in starts:
            grads = m.gradients(X[start:start + batch_size], y[start:start + batch_size])
            before = {k: getattr(m, k).copy() for k in WEIGHTS}
            m.step(grads)
            for k in WEIGHTS:
                sums[k][0] += math.sqrt(np.sum(grads[k] ** 2))
                sums[k][1] += (math.sqrt(np.sum((getattr(m, k) - before[k]) ** 2))
                               / math.sqrt(np.sum(before[k] ** 2)))
        for k in WEIGHTS:
            norms[k].append(sums[k][0] / len(starts))
            ratios[k].append(sums[k][1] / len(starts))
    m.lr = lr0
    return norms, ratios


@pytest.mark.parametrize("optimizer, batch_size, lr_decay", [
    ("momentum", 1, 1.0), ("momentum", 4, 0.5), ("sgd", 10, 1.0), ("adam", 3, 0.8),
])
def test_diagnostics_equal_a_hand_loop(optimizer, batch_size, lr_decay, data):
    X, y = data
    options = dict(lr=0.1 if optimizer != "adam" else 0.01, seed=5, optimizer=optimizer,
                   activation="tanh")
    m, ref = diagnostics.WatchedModel((3, 5), **options), bc.Model((3, 5), **options)
    history, health = diagnostics.train(m, X, y, epochs=4, batch_size=batch_size,
                                        lr_decay=lr_decay)
    norms, ratios = hand_health(ref, X, y, 4, batch_size, lr_decay)
    assert history.engine == "numpy"
    assert set(health.grad_norm) == set(health.update_ratio) == set(WEIGHTS)
    for k in WEIGHTS:
        np.testing.assert_allclose(health.grad_norm[k], norms[k], rtol=1e-12, err_msg=k)
        np.testing.assert_allclose(health.update_ratio[k], ratios[k], rtol=1e-12, err_msg=k)
        assert all(v > 0 for v in health.grad_norm[k] + health.update_ratio[k])
    for k in bc.PARAM_NAMES:
        np.testing.assert_allclose(getattr(m, k), getattr(ref, k), rtol=1e-12, atol=1e-15)


def test_sgd_update_ratio_is_lr_times_grad_norm_over_weight_norm(data):
    """For one full-batch SGD step ||dW_step|| = lr ||dL/dW||: the two diagnostics agree."""
    X, y = data
    m = diagnostics.WatchedModel((3, 5), lr=0.2, seed=6, optimizer="sgd")
    weight_norms = {k: np.linalg.norm(getattr(m, k)) for k in WEIGHTS}
    _, health = diagnostics.train(m, X, y, epochs=1, batch_size=len(X))
    for k in WEIGHTS:
        assert health.update_ratio[k][0] == pytest.approx(
            0.2 * health.grad_norm[k][0] / weight_norms[k], rel=1e-12)


@pytest.mark.parametrize("engine", ["auto", *ENGINES])
def test_diagnostics_run_the_numpy_engine_and_change_no_number(engine, data):
    X, y = data
    options = dict(lr=0.05, seed=8, optimizer="adam", loss="bce")
    plain, watched = bc.Model((4, 6), **options), diagnostics.WatchedModel((4, 6), **options)
    h_plain = bc.train(plain, X, y, epochs=6, batch_size=3, shuffle=True, seed=1,
                       engine="numpy")
    h_watched, health = diagnostics.train(watched, X, y, epochs=6, batch_size=3, shuffle=True,
                                          seed=1, engine=engine)
    assert h_watched.engine == "numpy"
    for field in ("loss", "accuracy", "mae", "lr"):
        assert getattr(h_watched, field) == getattr(h_plain, field), field
    for prefix in ("", "v_", "m_", "s_"):
        for k in bc.PARAM_NAMES:
            np.testing.assert_array_equal(getattr(watched, prefix + k), getattr(plain, prefix + k))
    assert watched.t == plain.t
    assert all(len(health.grad_norm[k]) == 6 for k in WEIGHTS)


def test_without_diagnostics_the_fast_engine_still_runs(data):
    if "numba" not in bc.ENGINES:
        pytest.skip("numba is not installed")
    X, y = data
    assert bc.train(bc.Model((3, 4)), X, y, epochs=2).engine == "numba"


def test_diagnostics_keep_one_entry_per_epoch_when_training_diverges():
    X, y = bc.generate_linear(20, seed=0)
    m = diagnostics.WatchedModel((8, 8), lr=50.0, activation="none", output_activation="none",
                                 seed=0)
    with pytest.warns(RuntimeWarning, match="training diverged"):
        history, health = diagnostics.train(m, X * 100, y, epochs=50)
    assert history.diverged_at is not None and history.epochs == history.diverged_at < 50
    for k in WEIGHTS:
        assert len(health.grad_norm[k]) == len(health.update_ratio[k]) == history.epochs


def test_diagnostics_over_several_calls_are_per_call(data):
    X, y = data
    m = diagnostics.WatchedModel((3, 4), seed=0)
    _, first = diagnostics.train(m, X, y, epochs=2)
    _, second = diagnostics.train(m, X, y, epochs=3, batch_size=4)
    assert [len(first.grad_norm["w1"]), len(second.grad_norm["w1"])] == [2, 3]
    ref = bc.Model((3, 4), seed=0)
    bc.train(ref, X, y, epochs=2)
    norms, _ = hand_health(ref, X, y, 3, 4)
    np.testing.assert_allclose(second.grad_norm["w1"], norms["w1"], rtol=1e-12)


def test_diagnostics_train_needs_a_watched_model(data):
    X, y = data
    with pytest.raises(TypeError, match=r"model must be a workbook.diagnostics.WatchedModel, "
                                        r"got Model\. Build it as WatchedModel"):
        diagnostics.train(bc.Model((3, 4)), X, y, epochs=2)


# -- plot_health -----------------------------------------------------------------------------


def test_plot_health_draws_each_layer_and_the_reference(data):
    plt = pytest.importorskip("matplotlib.pyplot")
    X, y = data
    _, health = diagnostics.train(diagnostics.WatchedModel((3, 4), seed=0), X, y, epochs=5)
    axes = plots.plot_health(health)
    try:
        norm_lines, ratio_lines = axes[0].get_lines(), axes[1].get_lines()
        assert len(norm_lines) == 3 and len(ratio_lines) == 4
        for line, k in zip(norm_lines, WEIGHTS, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 6))
            np.testing.assert_array_equal(line.get_ydata(), health.grad_norm[k])
        for line, k in zip(ratio_lines[:3], WEIGHTS, strict=True):
            np.testing.assert_array_equal(line.get_ydata(), health.update_ratio[k])
        np.testing.assert_array_equal(ratio_lines[3].get_ydata(), [1e-3, 1e-3])
        assert axes[0].get_yscale() == axes[1].get_yscale() == "log"
    finally:
        plt.close("all")


def test_plot_health_draws_on_given_axes(data):
    plt = pytest.importorskip("matplotlib.pyplot")
    X, y = data
    _, health = diagnostics.train(diagnostics.WatchedModel((3, 4), seed=0), X, y, epochs=2)
    fig, axes = plt.subplots(2, 2)
    try:
        assert list(plots.plot_health(health, axes[1])) == list(axes[1])
        assert not axes[0, 0].get_lines() and len(axes[1, 0].get_lines()) == 3
    finally:
        plt.close(fig)


def test_plot_health_needs_a_health(data):
    pytest.importorskip("matplotlib")
    X, y = data
    history = bc.train(bc.Model((3, 4), seed=0), X, y, epochs=2)
    with pytest.raises(ValueError, match=r"health must be a workbook.diagnostics.Health with "
                                         r"values, got History\. Train with "
                                         r"workbook.diagnostics.train"):
        plots.plot_health(history)


# -- bad input for each new option ------------------------------------------------------------

BAD_CHOICES = [
    ("optimizer", value) for value in ("Adam", "SGD", "rmsprop", "", None, 0, ["adam"])
] + [
    ("loss", value) for value in ("BCE", "cross_entropy", "mae", None, 1.0, ("bce",))
] + [
    ("init", value) for value in ("Xavier", "glorot", "he_normal", "kaiming", None, 1.0)
]
ALLOWED = {"optimizer": "'momentum', 'sgd', 'adam'", "loss": "'mse', 'bce'",
           "init": "'normal', 'xavier', 'he'"}


def choice_message(parameter, value):
    got = repr(value).replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(
        ")", r"\)")
    return (rf"{parameter} must be one of \({ALLOWED[parameter]}\), got {got}\. "
            rf"Pass e\.g\. {parameter}=")


@pytest.mark.parametrize("parameter, value", BAD_CHOICES,
                         ids=[f"{p}={v!r}" for p, v in BAD_CHOICES])
def test_bad_choice_in_model(parameter, value):
    with pytest.raises(ValueError, match=choice_message(parameter, value)):
        bc.Model(**{parameter: value})


@pytest.mark.parametrize("parameter, value", BAD_CHOICES[::3],
                         ids=[f"{p}={v!r}" for p, v in BAD_CHOICES[::3]])
def test_bad_choice_in_run_experiment(parameter, value):
    with pytest.raises(ValueError, match=choice_message(parameter, value)):
        experiments.run_experiment(epochs=1, **{parameter: value})


def test_bce_without_a_sigmoid_output_in_run_experiment():
    with pytest.raises(ValueError, match=r"loss='bce' needs output_activation='sigmoid'"):
        experiments.run_experiment(epochs=1, loss="bce", output_activation="none")


@pytest.mark.parametrize("key, value", [("optimizer", "rmsprop"), ("loss", "hinge"),
                                        ("init", "uniform")])
def test_load_refuses_an_unknown_option(tmp_path, key, value):
    path = tmp_path / "model.npz"
    bc.Model((3, 4), seed=0, optimizer="adam", loss="bce", init="he").save(path)
    with np.load(path) as stored:
        arrays = {k: stored[k] for k in stored.files}
    arrays[key] = np.array(value)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"invalid hyperparameters: {key} must be one of"):
        bc.Model.load(path)


@pytest.mark.parametrize("optimizer, loss, init", [("sgd", "bce", "xavier"),
                                                   ("adam", "mse", "he")])
def test_load_keeps_the_options(tmp_path, optimizer, loss, init, data):
    X, y = data
    m = bc.Model((3, 4), lr=0.01, seed=0, optimizer=optimizer, loss=loss, init=init)
    bc.train(m, X, y, epochs=2, engine="numpy")
    m.save(tmp_path / "m.npz")
    back = bc.Model.load(tmp_path / "m.npz")
    assert (back.optimizer, back.loss, back.init, back.t) == (optimizer, loss, init, m.t)
