"""The exercise checkers: they accept right answers, reject stubs and typical
mistakes with the right diagnosis, and never let a student's error escape.

The right answers below are written out from the lab's equations, independently
of the module; each wrong answer is one typical mistake, and the test pins the
words of the verdict that must name it.
"""

import re

import numpy as np
import pytest

import backprop_core as bc
from workbook import checks, experiments

PARAMS = ("w1", "b1", "w2", "b2", "w3", "b3")


def sigma(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


# -- right answers, from the lab's equations ------------------------------------


def der_sigmoid(y):
    return y * (1 - y)


def forward(model, X):
    a1 = sigma(X @ model.w1 + model.b1)
    a2 = sigma(a1 @ model.w2 + model.b2)
    return sigma(a2 @ model.w3 + model.b3)


def backward(model, X, y, der_of=None, no_der=(), w2_back=None, mean=True, bias_mean=False,
             half=True, error=None, dw2_transposed=False, keepdims=True, der_of_z=(),
             dw3_input=None, dw2_input=None):
    """The six gradients of mean ½(ŷ − y)², with switches for typical mistakes."""
    n = X.shape[0]
    z1 = X @ model.w1 + model.b1
    a1 = sigma(z1)
    z2 = a1 @ model.w2 + model.b2
    a2 = sigma(z2)
    z3 = a2 @ model.w3 + model.b3
    a3 = sigma(z3)

    def der(k, z, a):
        if k in no_der:
            return 1.0
        if k in der_of_z:                   # der_sigmoid(z_k) in this layer only
            return der_sigmoid(z)
        return (der_of or der_sigmoid)(z if der_of else a)

    err = (a3 - y) if error is None else error(a3, y)
    dz3 = err * der(3, z3, a3) * (1.0 if half else 2.0) / (n if mean else 1)
    dz2 = (dz3 @ model.w3.T) * der(2, z2, a2)
    dz1 = (dz2 @ (model.w2.T if w2_back is None else w2_back(model.w2))) * der(1, z1, a1)

    def bias(dz):
        return dz.mean(axis=0, keepdims=keepdims) if bias_mean else dz.sum(
            axis=0, keepdims=keepdims)

    inputs = {"X": X, "z1": z1, "a1": a1, "z2": z2, "a2": a2}
    dw3 = inputs[dw3_input or "a2"].T @ dz3
    dw2 = (dz2.T @ a1) if dw2_transposed else inputs[dw2_input or "a1"].T @ dz2
    return {"w3": dw3, "b3": bias(dz3), "w2": dw2, "b2": bias(dz2),
            "w1": X.T @ dz1, "b1": bias(dz1)}


def gradients(model, X, y):
    return backward(model, X, y)


def make_step(rule):
    """A momentum step; "lab" is v <- mu v + lr g, theta <- theta - v."""
    def step(model, grads):
        mu, lr = model.momentum, model.lr
        for name in PARAMS:
            theta, v, g = getattr(model, name), getattr(model, "v_" + name), grads[name]
            if rule == "lab":
                v = mu * v + lr * g
                theta = theta - v
            elif rule == "negative velocity":          # equivalent form
                v = mu * v - lr * g
                theta = theta + v
            elif rule == "lr outside":                 # equivalent at a constant lr
                v = mu * v + g
                theta = theta - lr * v
            elif rule == "sign swapped":
                v = mu * v + lr * g
                theta = theta + v
            elif rule == "order swapped":
                theta = theta - v
                v = mu * v + lr * g
            elif rule == "plain sgd":
                theta = theta - lr * g
            elif rule == "momentum 0.9":
                v = 0.9 * v + lr * g
                theta = theta - v
            elif rule == "lr and momentum swapped":
                v = lr * v + mu * g
                theta = theta - v
            elif rule == "damped":                     # v <- mu v + (1 - mu) lr g
                v = mu * v + (1 - mu) * lr * g
                theta = theta - v
            elif rule == "damped, lr outside":         # v <- mu v + (1 - mu) g, theta -= lr v
                v = mu * v + (1 - mu) * g
                theta = theta - lr * v
            elif rule == "nesterov":                   # PyTorch's nesterov=True, lr inside v
                v = mu * v + lr * g
                theta = theta - (mu * v + lr * g)
            setattr(model, name, theta)
            setattr(model, "v_" + name, v)
    step.__name__ = "step"
    return step


def in_place_step(model, grads):
    for name in PARAMS:
        v = getattr(model, "v_" + name)
        v *= model.momentum
        v += model.lr * grads[name]
        getattr(model, name)[...] -= v


def numerical_gradient(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def numerical_gradient_with_copies(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        grad[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return grad


def one_sided(f, x, eps):
    grad, f0 = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f(x) - f0) / eps
        x[i] = old
    return grad


def one_sided_own_step(f, x, eps):
    return one_sided(f, x, 1e-3)


def not_restored(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        f_plus = f(x)
        x[i] -= 2 * eps
        grad[i] = (f_plus - f(x)) / (2 * eps)
    return grad


def restored_by_arithmetic(f, x, eps):
    """Central differences that put x[i] back by adding eps again: rounding remains."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        f_plus = f(x)
        x[i] -= 2 * eps
        f_minus = f(x)
        x[i] += eps
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def row_view(f, x, eps):
    """`old = x[i]` over the first axis: a row VIEW of a 2-D x, changed in place."""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        old = x[i]
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def rows_at_once(f, x, eps):
    """A loop over the first axis that copies each row: every row perturbed at once."""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        old = np.copy(x[i])
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old - eps
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def der_sigmoid_with_np_sigmoid(y):
    return np.sigmoid(y) * (1 - np.sigmoid(y))


def rerun_row(config, seeds, metric):
    values = [experiments.run_experiment(config, seed=seed)[2][metric] for seed in seeds]
    return float(np.mean(values)), float(np.std(values))


def rerun_row_with(ddof=0, seeds_of=None, metric_of=None, pick=None, config_of=None,
                   swap=False):
    """rerun_row with one typical mistake switched on."""
    def fn(config, seeds, metric):
        run_config = config_of(config) if config_of else config
        values = []
        for seed in (seeds_of(config, seeds) if seeds_of else seeds):
            _, history, row = experiments.run_experiment(run_config, seed=seed)
            name = metric_of or metric
            series = {"mae": history.mae, "accuracy": history.accuracy,
                      "final_loss": history.loss}[name]
            values.append(pick(series) if pick else row[name])
        mean, std = float(np.mean(values)), float(np.std(values, ddof=ddof))
        return (std, mean) if swap else (mean, std)
    fn.__name__ = "rerun_row"
    return fn


def stub(*args):
    raise NotImplementedError("Exercise 1: write your code here")


def raises_value_error(*args):
    raise ValueError("something is off")


def returns_none(*args):
    return None


CHECKERS = {"der_sigmoid": checks.check_der_sigmoid, "forward": checks.check_forward,
            "gradients": checks.check_gradients, "step": checks.check_step,
            "gradient_check": checks.check_gradient_check,
            "rerun_row": checks.check_rerun_row}

SOLUTIONS = {"der_sigmoid": [der_sigmoid],
             "forward": [forward],
             "gradients": [gradients, lambda model, X, y: model.gradients(X, y)],
             "step": [make_step("lab"), in_place_step, lambda model, grads: model.step(grads)],
             "gradient_check": [numerical_gradient, numerical_gradient_with_copies],
             "rerun_row": [rerun_row, lambda config, seeds, metric: tuple(
                 experiments.summarize(experiments.sweep({}, seeds=seeds, base=config),
                                       ("lr",))[0][metric + k] for k in ("_mean", "_std"))]}


def verdict(capsys, checker, fn):
    """Run a checker; it must not raise, and must return a bool. Returns (ok, text)."""
    ok = checker(fn)
    assert isinstance(ok, bool)
    return ok, capsys.readouterr().out


# -- solutions pass with one line --------------------------------------------------


@pytest.mark.parametrize("exercise, fn", [(k, fn) for k, fns in SOLUTIONS.items() for fn in fns])
def test_solution_passes_with_one_line(capsys, exercise, fn):
    ok, out = verdict(capsys, CHECKERS[exercise], fn)
    assert ok, out
    assert out.startswith(f"✓ check_{exercise}:")
    assert out.count("\n") == 1


@pytest.mark.parametrize("rule, note", [("negative velocity", "opposite sign"),
                                        ("lr outside", "learning rate out of the velocity")])
def test_equivalent_momentum_forms_pass_with_a_note(capsys, rule, note):
    ok, out = verdict(capsys, checks.check_step, make_step(rule))
    assert ok, out
    assert note in out


def test_a_more_accurate_step_is_not_a_mistake(capsys):
    """Central differences with a smaller step than asked are still right."""
    ok, out = verdict(capsys, checks.check_gradient_check,
                      lambda f, x, eps: numerical_gradient(f, x, 1e-6))
    assert ok, out


# -- stubs, exceptions, wrong types -------------------------------------------------


@pytest.mark.parametrize("exercise", CHECKERS)
def test_stub_is_not_implemented_yet(capsys, exercise):
    ok, out = verdict(capsys, CHECKERS[exercise], stub)
    assert not ok
    assert out.startswith(f"✗ check_{exercise}: not implemented yet (Exercise 1: write your "
                          "code here)")
    assert "Traceback" not in out


@pytest.mark.parametrize("exercise", CHECKERS)
def test_exception_gets_a_friendly_paragraph(capsys, exercise):
    ok, out = verdict(capsys, CHECKERS[exercise], raises_value_error)
    assert not ok
    assert "your function raised ValueError: something is off" in out
    assert "(in `raises_value_error`, at `raise ValueError(\"something is off\")`) on " in out
    assert "Hint:" in out
    assert "Traceback" not in out and out.count("\n") == 1


@pytest.mark.parametrize("exercise", ["der_sigmoid", "forward", "gradients", "gradient_check",
                                      "rerun_row"])
def test_returning_none_asks_for_a_return(capsys, exercise):
    ok, out = verdict(capsys, CHECKERS[exercise], returns_none)
    assert not ok
    assert "return" in out and "None" in out


def test_step_returning_a_new_model_is_caught(capsys):
    ok, out = verdict(capsys, checks.check_step, lambda model, grads: model.copy())
    assert not ok
    assert "the model did not change" in out and "returned a Model" in out


@pytest.mark.parametrize("exercise", CHECKERS)
def test_not_a_function(capsys, exercise):
    ok, out = verdict(capsys, CHECKERS[exercise], 0.25)
    assert not ok
    assert "expected your function, got float" in out


def test_shape_error_in_the_student_code_gets_the_shapes_hint(capsys):
    def forward_transposed(model, X):
        a1 = sigma(X @ model.w1 + model.b1)
        a2 = sigma(a1 @ model.w2.T + model.b2)
        return sigma(a2 @ model.w3 + model.b3)

    ok, out = verdict(capsys, checks.check_forward, forward_transposed)
    assert not ok
    assert "a transposed matrix: you used w2.T" in out      # the square case comes first


# -- the catalogue of typical mistakes ----------------------------------------------

MISTAKES = [
    # der_sigmoid
    ("der_sigmoid", lambda y: sigma(y) * (1 - sigma(y)), "σ′ applied to x instead of σ(x)"),
    ("der_sigmoid", lambda y: 1 - y ** 2, "the derivative of tanh"),
    ("der_sigmoid", lambda y: (y * (1 - y)).ravel(), "wrong shape"),
    ("der_sigmoid", lambda y: list(y * (1 - y)), "returned a Python list of 4 arrays"),
    ("der_sigmoid", lambda y: (y * (1 - y)).tolist(), "a Python list of numbers"),
    ("der_sigmoid", der_sigmoid_with_np_sigmoid,
     "der_sigmoid needs no attribute of anything: y is a plain numpy array"),
    ("der_sigmoid", lambda y: np.dot(y, 1 - y), "σ′ is taken elementwise: multiply with *"),
    # forward
    ("forward", lambda m, X: sigma(sigma(sigma(X @ m.w1 + m.b1) @ m.w2) @ m.w3 + m.b3),
     "the bias b2 is missing"),
    ("forward", lambda m, X: sigma(sigma(X @ m.w1 + m.b1) @ m.w2 + m.b2) @ m.w3 + m.b3,
     "no sigmoid on the output"),
    ("forward", lambda m, X: forward(m, X).ravel(), "got (6,), expected (6, 1)"),
    ("forward", lambda m, X: (None, None, forward(m, X)), "should return only the network's"),
    ("forward", lambda m, X: forward(m, X).tolist(),
     "returned a Python list of numbers on case 1 of 5 (hidden (2, 2) with 6 rows) (the kind "
     "that .tolist() makes). Return the numpy array itself"),
    ("forward", lambda m, X: [forward(m, X)], "returned a list of 1 items"),
    ("forward", lambda m, X: sigma(X @ m.weights1), "model.w1, model.b1, model.w2"),
    # gradients
    ("gradients", lambda m, X, y: backward(m, X, y, der_of=der_sigmoid),
     "σ′ applied to z instead of σ(z), in every layer"),
    ("gradients", lambda m, X, y: backward(m, X, y, no_der=(3,)),
     "a missing σ′ factor at the output"),
    ("gradients", lambda m, X, y: backward(m, X, y, no_der=(1,)),
     "a missing σ′ factor in layer 1"),
    ("gradients", lambda m, X, y: backward(m, X, y, der_of_z=(1,)),
     "σ′ applied to z1 instead of σ(z1) in layer 1: der_sigmoid(z1) computes z1 (1 − z1)"),
    ("gradients", lambda m, X, y: backward(m, X, y, der_of_z=(2,)),
     "σ′ applied to z2 instead of σ(z2) in layer 2"),
    ("gradients", lambda m, X, y: backward(m, X, y, dw3_input="z2"),
     "dw3 = z2.T @ dz3 multiplies by the wrong array: a2 = σ(z2) is layer 3's input, not z2 "
     "itself, so dw3 = a2.T @ dz3"),
    ("gradients", lambda m, X, y: backward(m, X, y, dw3_input="a1"),
     "dw3 = a1.T @ dz3 multiplies by the wrong array: layer 3's input is a2"),
    ("gradients", lambda m, X, y: backward(m, X, y, dw2_input="a2"),
     "dw2 = a2.T @ dz2 multiplies by the wrong array: layer 2's input is a1"),
    ("gradients", lambda m, X, y: {k: [v] for k, v in gradients(m, X, y).items()},
     "dw3 should be a numpy array of shape (2, 1), but your function returned a list of 1 "
     "items on case 1 of 6 (hidden (2, 2) with 6 rows). Return one array."),
    ("gradients", lambda m, X, y: {k: v.tolist() for k, v in gradients(m, X, y).items()},
     "(the kind that .tolist() makes)"),
    ("gradients", lambda m, X, y: backward(m, X, y, w2_back=lambda w2: w2),
     "a transposed matrix: the delta flows back through w2 transposed"),
    ("gradients", lambda m, X, y: backward(m, X, y, dw2_transposed=True),
     "dw2 is the transpose of the right answer"),
    ("gradients", lambda m, X, y: backward(m, X, y, mean=False),
     "a sum where a mean belongs: every gradient is n = 6 times too large"),
    ("gradients", lambda m, X, y: backward(m, X, y, bias_mean=True),
     "a mean where a sum belongs: the bias gradients are n = 6 times too small"),
    ("gradients", lambda m, X, y: backward(m, X, y, half=False), "without the ½"),
    ("gradients", lambda m, X, y: backward(m, X, y, error=lambda a3, y: y - a3),
     "the sign is flipped"),
    ("gradients", lambda m, X, y: backward(m, X, y, keepdims=False),
     "db3 has the wrong shape on case 1 of 6 (hidden (2, 2) with 6 rows): got (1,), "
     "expected (1, 1). Keep the row axis"),
    ("gradients", lambda m, X, y: {"d" + k: v for k, v in gradients(m, X, y).items()},
     "Name each gradient after its parameter"),
    ("gradients", lambda m, X, y: list(gradients(m, X, y).values()), "should return a dict"),
    # step
    ("step", make_step("sign swapped"), "the momentum sign is swapped"),
    ("step", make_step("order swapped"), "the order is swapped: θ was updated with the OLD"),
    ("step", make_step("plain sgd"), "no momentum: your update is plain SGD"),
    ("step", make_step("momentum 0.9"), "the momentum is hard-coded as 0.9"),
    ("step", make_step("lr and momentum swapped"),
     "the learning rate and the momentum are swapped: you computed v ← η v + μ g"),
    ("step", make_step("damped"), "the damped form: v ← μ v + (1 − μ) η g"),
    ("step", make_step("damped, lr outside"), "the damped form: v ← μ v + (1 − μ) η g"),
    ("step", make_step("nesterov"), "Nesterov momentum: you moved θ by the look-ahead"),
    ("step", lambda model, grads: model.step({k: grads["d" + k] for k in PARAMS}),
     "grads has the keys 'w1', 'b1', 'w2', 'b2', 'w3', 'b3'"),
    # gradient check
    ("gradient_check", one_sided, "a one-sided (forward) difference: (f(x + ε e_i) − f(x)) / ε"),
    ("gradient_check", lambda f, x, eps: one_sided(f, x, -eps),
     "a one-sided (backward) difference"),
    ("gradient_check", one_sided_own_step, "a one-sided (forward) difference, with a step of "
     "about 0.001"),
    ("gradient_check", lambda f, x, eps: 2 * numerical_gradient(f, x, eps),
     "you divided by ε; the central difference divides by 2ε"),
    ("gradient_check", lambda f, x, eps: np.full_like(x, (f(x + eps) - f(x - eps)) / (2 * eps)),
     "every element perturbed at once"),
    ("gradient_check", lambda f, x, eps: numerical_gradient(f, x, 1e-2),
     "eps is ignored: your result is the central difference with ε = 0.01"),
    ("gradient_check", not_restored, "your function left x changed on case 1 of 4"),
    ("gradient_check", not_restored, "x[i] is never put back. Save the old value, old = x[i]"),
    ("gradient_check", restored_by_arithmetic, "a rounding error. Putting x[i] back by "
     "arithmetic (x[i] += ε, then x[i] -= 2ε, then x[i] += ε) rounds at every step"),
    ("gradient_check", restored_by_arithmetic,
     "Save the old value first, old = x[i], and restore it with x[i] = old."),
    ("gradient_check", row_view, "for i in range(len(x)) runs over the ROWS of a 2-D x, and "
     "x[i] is a whole row: `old = x[i]` is then a view of that row, not a copy"),
    ("gradient_check", rows_at_once, "for i in range(len(x)) runs over the ROWS of a 2-D x, "
     "and x[i] is a whole row: your loop perturbs every element of row i at once"),
    ("gradient_check", lambda f, x, eps: numerical_gradient(f, x, eps).ravel(),
     "Return one derivative per element of x, in x's shape"),
    # rerun_row
    ("rerun_row", rerun_row_with(ddof=1), "the sample standard deviation (ddof=1)"),
    ("rerun_row", rerun_row_with(swap=True), "mean and std are swapped"),
    ("rerun_row", rerun_row_with(seeds_of=lambda c, seeds: [c.seed] * len(seeds)),
     "every run used the same seed, config.seed = 0"),
    ("rerun_row", rerun_row_with(seeds_of=lambda c, seeds: range(len(seeds))),
     "you ran seeds 0 to 2, not the seeds given, [2, 0, 5]"),
    ("rerun_row", rerun_row_with(metric_of="final_loss"), "you averaged final_loss, not mae"),
    ("rerun_row", rerun_row_with(pick=min), "you took each run's best epoch (min over the "
     "history), not its last"),
    ("rerun_row", rerun_row_with(config_of=lambda c: experiments.RunConfig(
        dataset=c.dataset, n=c.n, hidden_size=c.hidden_size, lr=c.lr, epochs=c.epochs)),
     "config.lr_decay was left out: your runs used lr_decay = 1.0"),
    ("rerun_row", rerun_row_with(config_of=lambda c: experiments.RunConfig(
        dataset=c.dataset, n=c.n, lr=c.lr, epochs=c.epochs, lr_decay=c.lr_decay)),
     "config.hidden_size was left out: your runs used hidden_size = (5, 10)"),
    ("rerun_row", lambda c, seeds, m: [experiments.run_experiment(c, seed=s)[2][m]
                                       for s in seeds], "the value of every run?"),
    ("rerun_row", lambda c, seeds, m: experiments.summarize(
        experiments.sweep({}, seeds=seeds, base=c), ("lr",))[0], "returned a dict"),
    ("rerun_row", lambda c, seeds, m: c.learning_rate, "config is a RunConfig, with the fields"),
    ("rerun_row", lambda c, seeds, m: experiments.run_experiment(c)[2]["mae_mean"],
     "the final values are row['mae'], row['accuracy'] and row['final_loss']"),
]


@pytest.mark.parametrize("exercise, fn, diagnosis", MISTAKES,
                         ids=[f"{e}-{d[:40]}" for e, _, d in MISTAKES])
def test_typical_mistake_is_rejected_and_named(capsys, exercise, fn, diagnosis):
    ok, out = verdict(capsys, CHECKERS[exercise], fn)
    assert not ok
    assert out.startswith(f"✗ check_{exercise}:")
    assert diagnosis in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("exercise, fn, diagnosis", MISTAKES,
                         ids=[f"{e}-{d[:40]}" for e, _, d in MISTAKES])
def test_verdicts_show_no_object_reprs(capsys, exercise, fn, diagnosis):
    _, out = verdict(capsys, CHECKERS[exercise], fn)
    assert not re.search(r"0x[0-9a-fA-F]{4,}|<function|<lambda>|<locals>| object at ", out), out


def test_an_address_in_the_students_own_message_is_removed(capsys):
    class Thing:
        pass

    def der_sigmoid_raising(y):
        raise TypeError(f"cannot use {Thing()} with {der_sigmoid_raising}")

    ok, out = verdict(capsys, checks.check_der_sigmoid, der_sigmoid_raising)
    assert not ok
    assert "cannot use `Thing` with `der_sigmoid_raising`" in out
    assert "0x" not in out


def test_der_sigmoid_hints_never_mention_a_model(capsys):
    """An AttributeError in der_sigmoid is about y or numpy: there is no model there."""
    ok, out = verdict(capsys, checks.check_der_sigmoid, der_sigmoid_with_np_sigmoid)
    assert not ok
    assert "AttributeError: module 'numpy' has no attribute 'sigmoid'" in out
    assert "model" not in out


def test_a_row_view_is_not_called_a_one_sided_difference(capsys):
    ok, out = verdict(capsys, checks.check_gradient_check, row_view)
    assert not ok
    assert "one-sided" not in out and "left x changed" not in out


def test_the_one_sided_fallback_names_a_step_only_when_it_reproduces_the_answer(capsys):
    """A one-sided difference with an odd step of its own is still recognised."""
    ok, out = verdict(capsys, checks.check_gradient_check,
                      lambda f, x, eps: one_sided(f, x, 3e-3))
    assert not ok
    assert "a one-sided (forward) difference, with a step of about 0.003" in out


def test_wrong_gradients_say_which_and_by_how_much(capsys):
    ok, out = verdict(capsys, checks.check_gradients,
                      lambda m, X, y: backward(m, X, y, no_der=(1,)))
    assert not ok
    lines = out.splitlines()
    assert lines[0] == ("✗ check_gradients: wrong gradients on case 1 of 6 "
                        "(hidden (2, 2) with 6 rows):")
    status = {line.split()[0]: line.split(maxsplit=1)[1] for line in lines[1:7]}
    assert {k: v == "ok" for k, v in status.items()} == {
        "dw3": True, "db3": True, "dw2": True, "db2": True, "dw1": False, "db1": False}
    assert status["dw1"].startswith("wrong: max abs error ")
    assert "max rel error" in status["dw1"]


def test_unrecognised_mistake_still_points_at_the_first_wrong_gradient(capsys):
    """Two mistakes at once match no single diagnosis: the report falls back."""
    ok, out = verdict(capsys, checks.check_gradients,
                      lambda m, X, y: backward(m, X, y, no_der=(1,), half=False))
    assert not ok
    assert "the first wrong gradient, going back from the loss, is dw3" in out


def test_batch_of_one_cannot_tell_sum_from_mean_but_larger_batches_do(capsys):
    """Sum and mean agree for one row; the checker must still fail the sum."""
    model = bc.Model((3, 4), seed=1)
    X, y = np.array([[0.2, 0.9]]), np.array([[1.0]])
    wrong = backward(model, X, y, mean=False)
    right = model.gradients(X, y)
    assert all(np.allclose(wrong[k], right[k]) for k in PARAMS)
    ok, _ = verdict(capsys, checks.check_gradients, lambda m, X, y: backward(m, X, y, mean=False))
    assert not ok


def test_in_place_der_sigmoid_is_caught(capsys):
    def der_in_place(y):
        y *= 1 - y
        return y

    ok, out = verdict(capsys, checks.check_der_sigmoid, der_in_place)
    assert not ok
    assert "changed its argument y in place" in out


def test_gradients_that_update_the_model_are_caught(capsys):
    def gradients_and_step(model, X, y):
        grads = gradients(model, X, y)
        model.step(grads)
        return grads

    ok, out = verdict(capsys, checks.check_gradients, gradients_and_step)
    assert not ok
    assert "your function changed model.w1" in out


def test_velocities_kept_elsewhere_are_caught(capsys):
    def step_without_v(model, grads):
        store = model.__dict__.setdefault("velocity", {})
        for name in PARAMS:
            store[name] = model.momentum * store.get(name, 0.0) + model.lr * grads[name]
            setattr(model, name, getattr(model, name) - store[name])

    ok, out = verdict(capsys, checks.check_step, step_without_v)
    assert not ok
    assert "model.v_w1 ... model.v_b3 stay zero" in out


# -- the checkers themselves ----------------------------------------------------------


@pytest.mark.parametrize("exercise", CHECKERS)
def test_verdicts_are_deterministic(capsys, exercise):
    """Same function, same words: the notebooks' checker outputs pass strict nbval."""
    for fn in (SOLUTIONS[exercise][0], stub):
        assert verdict(capsys, CHECKERS[exercise], fn) == verdict(capsys, CHECKERS[exercise], fn)


def test_the_mistakes_really_are_wrong():
    """Oracle for the catalogue: each wrong gradient differs from finite differences."""
    model = bc.Model((3, 3), seed=4)
    rng = np.random.default_rng(0)
    model.b1, model.b2, model.b3 = (rng.standard_normal(b.shape) for b in
                                    (model.b1, model.b2, model.b3))
    X = rng.uniform(0, 1, (5, 2))
    y = rng.integers(0, 2, (5, 1)).astype(float)
    numeric = bc.numerical_gradients(model, X, y)
    assert all(bc.rel_error(gradients(model, X, y)[k], numeric[k]) < 1e-7 for k in PARAMS)
    for kwargs in (dict(der_of=der_sigmoid), dict(no_der=(3,)), dict(no_der=(1,)),
                   dict(w2_back=lambda w2: w2), dict(mean=False), dict(bias_mean=True),
                   dict(half=False)):
        wrong = backward(model, X, y, **kwargs)
        assert max(bc.rel_error(wrong[k], numeric[k]) for k in PARAMS) > 1e-2, kwargs
