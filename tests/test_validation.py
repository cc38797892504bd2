"""The bad-input table: each error names the parameter and says what was expected."""

import numpy as np
import pytest

import backprop_core as bc
from workbook import datasets, experiments

X_OK, Y_OK = bc.generate_linear(6, seed=0)


@pytest.fixture
def model():
    return bc.Model((3, 4), seed=0)


# -- Model hyperparameters ---------------------------------------------------------------

HIDDEN = r"hidden_size must be two positive integers \(l1, l2\), got .*hidden_size=\(5, 10\)"


@pytest.mark.parametrize("hidden_size", [
    (5,), (5, 10, 3), (), (0, 10), (5, 0), (-1, 10), (5.0, 10), (5, 10.5), (True, 10),
    (5, False), "5,10", "ab", 5, None, {5: 10, 1: 2}, (5, "10"),
])
def test_hidden_size(hidden_size):
    with pytest.raises(ValueError, match=HIDDEN):
        bc.Model(hidden_size=hidden_size)


@pytest.mark.parametrize("hidden_size", [(1, 1), [3, 2], (np.int64(4), np.int32(2))])
def test_hidden_size_accepted(hidden_size):
    assert bc.Model(hidden_size=hidden_size).hidden_size == tuple(int(h) for h in hidden_size)


@pytest.mark.parametrize("lr", [0, 0.0, -0.1, -1, float("nan"), float("inf"), -float("inf"),
                                np.float64("nan")])
def test_lr_value(lr):
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, inf\), got .*"
                                         r"lr=0\.1"):
        bc.Model(lr=lr)


@pytest.mark.parametrize("lr", ["0.1", None, True, [0.1], 1j])
def test_lr_type(lr):
    with pytest.raises(TypeError, match=r"lr must be a real number, got \w+"):
        bc.Model(lr=lr)


@pytest.mark.parametrize("momentum", [-0.1, 1.0, 1.5, float("nan")])
def test_momentum_range(momentum):
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\), got"):
        bc.Model(momentum=momentum)


@pytest.mark.parametrize("momentum", [0, 0.0, 0.99])
def test_momentum_accepted(momentum):
    assert bc.Model(momentum=momentum).momentum == momentum


def test_momentum_type():
    with pytest.raises(TypeError, match="momentum must be a real number"):
        bc.Model(momentum="0.9")


UNKNOWN_CHOICES = [
    ("activation", "softmax", "'sigmoid', 'tanh', 'relu', 'none'"),
    ("activation", "Sigmoid", "'sigmoid', 'tanh', 'relu', 'none'"),
    ("activation", None, "'sigmoid', 'tanh', 'relu', 'none'"),
    ("activation", ["relu"], "'sigmoid', 'tanh', 'relu', 'none'"),
    ("output_activation", "tanh", "'sigmoid', 'none'"),
    ("optimizer", "rmsprop", "'momentum', 'sgd', 'adam'"),
    ("loss", "mae", "'mse', 'bce'"),
    ("init", "uniform", "'normal', 'xavier', 'he'"),
]


@pytest.mark.parametrize("parameter, value, allowed", UNKNOWN_CHOICES,
                         ids=[f"{p}={v!r}" for p, v, _ in UNKNOWN_CHOICES])
def test_unknown_choice(parameter, value, allowed):
    with pytest.raises(ValueError, match=rf"{parameter} must be one of \({allowed}.*\), got "
                                         rf"{value!r}".replace("[", r"\[").replace("]", r"\]")):
        bc.Model(**{parameter: value})


def test_bce_needs_a_sigmoid_output():
    with pytest.raises(ValueError, match=r"loss='bce' needs output_activation='sigmoid'.*"
                                         r"got output_activation='none'"):
        bc.Model(loss="bce", output_activation="none")


# -- train's arguments ----------------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["epochs", "batch_size"])
@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, True, "3", None])
def test_train_counts(model, parameter, value):
    kwargs = {"epochs": 1, parameter: value}
    with pytest.raises(ValueError, match=rf"{parameter} must be a positive integer, got "
                                         rf"{value!r}\. Pass e\.g\. {parameter}="):
        bc.train(model, X_OK, Y_OK, engine="numpy", **kwargs)


@pytest.mark.parametrize("lr_decay", [0, 0.0, -0.9, float("nan"), float("inf")])
def test_lr_decay(model, lr_decay):
    with pytest.raises(ValueError, match=r"lr_decay must be a finite number in \(0, inf\)"):
        bc.train(model, X_OK, Y_OK, epochs=1, lr_decay=lr_decay, engine="numpy")


@pytest.mark.parametrize("engine", ["cuda", "NUMPY", "", None])
def test_engine_name(model, engine):
    with pytest.raises(ValueError, match=r"engine must be one of \('auto'.*'numpy'.*\), got"):
        bc.train(model, X_OK, Y_OK, epochs=1, engine=engine)


def test_train_needs_a_model():
    with pytest.raises(TypeError, match="model must be a backprop_core.Model, got dict"):
        bc.train({}, X_OK, Y_OK, epochs=1, engine="numpy")


def test_bad_input_leaves_the_model_untouched(model):
    w1 = model.w1.copy()
    with pytest.raises(ValueError):
        bc.train(model, X_OK, Y_OK, epochs=0, engine="numpy")
    np.testing.assert_array_equal(model.w1, w1)


# -- X and y, at every public function that takes them ------------------------------------------


def call_with(func_name, model, X, y):
    calls = {
        "train": lambda: bc.train(model, X, y, epochs=1, engine="numpy"),
        "gradients": lambda: model.gradients(X, y),
        "loss_value": lambda: model.loss_value(X, y),
        "evaluate": lambda: bc.evaluate(model, X, y),
        "mean_abs_error": lambda: bc.mean_abs_error(model, X, y),
        "gradient_check": lambda: bc.gradient_check(model, X, y),
        "numerical_gradients": lambda: bc.numerical_gradients(model, X, y),
    }
    return calls[func_name]()


XY_FUNCS = ["train", "gradients", "loss_value", "evaluate", "mean_abs_error", "gradient_check",
            "numerical_gradients"]

BAD_X = [
    (np.zeros(6), ValueError, r"X must have shape \(n, 2\), one row per point, n >= 1, got "
                              r"shape \(6,\)"),
    (np.zeros((6, 3)), ValueError, r"X must have shape \(n, 2\).*got shape \(6, 3\).*"
                                   r"X\.reshape\(-1, 2\)"),
    (np.zeros((2, 3, 2)), ValueError, r"X must have shape \(n, 2\)"),
    (np.float64(0.5), ValueError, r"X must have shape \(n, 2\)"),
    (np.zeros((0, 2)), ValueError, r"X must have shape \(n, 2\), one row per point, n >= 1, "
                                   r"got shape \(0, 2\)"),
    (np.where(np.eye(6, 2) == 1, np.nan, 0.0), ValueError,
     r"X must contain finite numbers only; it has NaN or inf"),
    (np.where(np.eye(6, 2) == 1, -np.inf, 0.0), ValueError, r"X must contain finite numbers"),
    (np.full((6, 2), "a"), TypeError, r"X must be an array of numbers of shape \(n, 2\)"),
    ([[0.1, 0.2], [0.3]], TypeError, r"X must be an array of numbers"),
    ({"x": 1}, TypeError, r"X must be an array of numbers"),
]


@pytest.mark.parametrize("func_name", XY_FUNCS)
@pytest.mark.parametrize("X, error, message", BAD_X)
def test_bad_X(model, func_name, X, error, message):
    with pytest.raises(error, match=message):
        call_with(func_name, model, X, Y_OK)


BAD_Y = [
    (Y_OK.ravel(), r"y must have shape \(n, 1\) = \(6, 1\), one label per row of X, got shape "
                   r"\(6,\)\. Reshape with y\.reshape\(-1, 1\)"),
    (np.hstack([Y_OK, Y_OK]), r"y must have shape \(n, 1\) = \(6, 1\).*got shape \(6, 2\)"),
    (Y_OK[:5], r"y must have shape \(n, 1\) = \(6, 1\), one label per row of X, got shape "
               r"\(5, 1\)"),
    (np.vstack([Y_OK, Y_OK]), r"y must have shape \(n, 1\) = \(6, 1\).*got shape \(12, 1\)"),
    (Y_OK * 2, r"y must hold labels 0 or 1 only, got values \[2\.0\]"),
    (Y_OK - 0.5, r"y must hold labels 0 or 1 only"),
    (np.full((6, 1), np.nan), r"y must hold labels 0 or 1 only"),
    (-Y_OK, r"y must hold labels 0 or 1 only"),
]


@pytest.mark.parametrize("func_name", XY_FUNCS)
@pytest.mark.parametrize("y, message", BAD_Y)
def test_bad_y(model, func_name, y, message):
    with pytest.raises(ValueError, match=message):
        call_with(func_name, model, X_OK, y)


@pytest.mark.parametrize("func_name", XY_FUNCS)
def test_y_of_strings(model, func_name):
    with pytest.raises(TypeError, match=r"y must be an array of 0/1 labels of shape \(n, 1\)"):
        call_with(func_name, model, X_OK, np.full((6, 1), "yes"))


@pytest.mark.parametrize("func_name", XY_FUNCS)
def test_good_inputs_as_lists_and_ints(model, func_name):
    call_with(func_name, model, X_OK.tolist(), Y_OK.astype(int).tolist())


@pytest.mark.parametrize("method", ["forward", "predict"])
@pytest.mark.parametrize("X, message", [
    (np.zeros((4, 3)), r"X must have shape \(n, 2\).*got shape \(4, 3\)"),
    (np.zeros((4, 1)), r"X must have shape \(n, 2\).*got shape \(4, 1\)"),
    (np.zeros(2), r"X must have shape \(n, 2\).*got shape \(2,\)"),
    (np.zeros((0, 2)), r"X must have shape \(n, 2\), one row per point, n >= 1"),
    (np.array([[np.inf, 0.0]]), r"X must contain finite numbers"),
])
def test_forward_on_bad_X(model, method, X, message):
    with pytest.raises(ValueError, match=message):
        getattr(model, method)(X)


# -- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, -3, 2.5, 10.0, True, "100", None])
def test_generate_linear_n(n):
    with pytest.raises(ValueError, match=rf"n must be a positive integer up to 10,000,000, got "
                                         rf"{n!r}\. Pass e\.g\. generate_linear\(n=100\)"):
        bc.generate_linear(n)


@pytest.mark.parametrize("name", ["moons", "XOR", "", None])
def test_unknown_dataset(name):
    with pytest.raises(ValueError, match=rf"dataset must be one of \('linear', 'xor'.*\), got "
                                         rf"{name!r}"):
        datasets.load_dataset(name)


def test_unknown_dataset_in_run_experiment():
    with pytest.raises(ValueError, match="dataset must be one of"):
        experiments.run_experiment(dataset="moons", epochs=1, engine="numpy")


def test_unknown_config_field():
    with pytest.raises(TypeError, match="learning_rate"):
        experiments.run_experiment(learning_rate=0.1, epochs=1, engine="numpy")


# -- step ---------------------------------------------------------------------------------------


def good_grads(model):
    return {name: np.zeros_like(p) for name, p in model.params.items()}


@pytest.mark.parametrize("change, message", [
    (lambda g: g.pop("w3"), r"grads must be a dict with keys \('w1', 'b1', 'w2', 'b2', 'w3', "
                            r"'b3'\), got \['b1', 'b2', 'b3', 'w1', 'w2'\]"),
    (lambda g: g.update(w4=np.zeros(1)), r"grads must be a dict with keys .*'w4'"),
    (lambda g: g.update(W1=g.pop("w1")), r"grads must be a dict with keys .*'W1'"),
    (lambda g: g.update(w1=np.zeros((3, 2))), r"grads\['w1'\] must have shape \(2, 3\), "
                                              r"got \(3, 2\)"),
    (lambda g: g.update(b2=np.zeros(4)), r"grads\['b2'\] must have shape \(1, 4\), got \(4,\)"),
    (lambda g: g.update(b3=0.0), r"grads\['b3'\] must have shape \(1, 1\), got \(\)"),
])
def test_step_bad_grads(model, change, message):
    grads = good_grads(model)
    change(grads)
    w1 = model.w1.copy()
    with pytest.raises(ValueError, match=message):
        model.step(grads)
    np.testing.assert_array_equal(model.w1, w1)              # nothing was applied


@pytest.mark.parametrize("grads, got", [([1, 2], "list"), (None, "NoneType"),
                                        (np.zeros(3), "ndarray")])
def test_step_needs_a_dict(model, grads, got):
    with pytest.raises(ValueError, match=rf"grads must be a dict with keys .*got {got}"):
        model.step(grads)


# -- gradient checking's own arguments ---------------------------------------------------------


@pytest.mark.parametrize("order", [1, 3, 6, "4"])
def test_numerical_gradients_order(model, order):
    with pytest.raises(ValueError, match=r"order must be one of \(2, 4\)"):
        bc.numerical_gradients(model, X_OK, Y_OK, order=order)


@pytest.mark.parametrize("eps", [0, -1e-5, float("nan")])
def test_numerical_gradients_eps(model, eps):
    with pytest.raises(ValueError, match=r"eps must be a finite number in \(0, inf\)"):
        bc.gradient_check(model, X_OK, Y_OK, eps=eps)
