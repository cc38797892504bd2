"""The stepper's record and drawing against the model: every number it shows is Model's.

The oracle is ``Model``: its forward pass (z and a recomputed from its
parameters with numpy, a3 from ``Model.forward``, L from ``loss_value``) and
``Model.gradients``. The record computes the same numbers with scalar loops;
the drawing must show them, and each printed equation must recompute its result.
"""

import math
import re

import numpy as np
import pytest
from matplotlib.figure import Figure

import backprop_core as bc
from workbook import plots, stepper

CASES = [((2, 3), 0, 0), ((3, 2), 1, 1), ((2, 3), 4, 2), ((1, 1), 2, 3), ((4, 5), 3, 0)]


def model_numbers(model, x, y):
    """Every number of one sample by the model's own (vectorised) code, by array name."""
    X, Y = x.reshape(1, 2), np.array([[y]])
    z1 = X @ model.w1 + model.b1
    a1 = bc.sigmoid(z1)
    z2 = a1 @ model.w2 + model.b2
    a2 = bc.sigmoid(z2)
    z3 = a2 @ model.w3 + model.b3
    grads = model.gradients(X, Y)
    out = {"z1": z1, "a1": a1, "z2": z2, "a2": a2, "z3": z3, "a3": model.forward(X),
           "L": np.array(model.loss_value(X, Y))}
    out.update({"d" + name: grads[name] for name in bc.PARAM_NAMES})
    # for n = 1 the deltas are the bias gradients, and da_k = delta_{k+1} W_{k+1}^T
    out.update(dz3=grads["b3"], dz2=grads["b2"], dz1=grads["b1"],
               da3=out["a3"] - Y, da2=grads["b3"] @ model.w3.T, da1=grads["b2"] @ model.w2.T)
    return out


def sample(hidden_size, seed, row):
    X, y = bc.generate_linear(8, seed=seed)
    return bc.Model(hidden_size, seed=seed), X[row], y[row, 0]


@pytest.mark.parametrize("hidden_size,seed,row", CASES)
def test_every_number_of_the_record_is_the_models(hidden_size, seed, row):
    model, x, y = sample(hidden_size, seed, row)
    record = stepper.trace(model, x, y)
    ours, theirs = record.arrays(), model_numbers(model, x, y)
    assert set(ours) == set(theirs)
    for name, value in ours.items():
        assert not np.isnan(value).any(), f"{name} has numbers the record never computed"
        np.testing.assert_allclose(value, theirs[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_the_steps_come_in_backprops_order():
    model, x, y = sample((2, 3), 0, 0)
    record = stepper.trace(model, x, y)
    l1, l2 = 2, 3
    assert record.n_forward == 2 * (l1 + l2 + 1) + 1
    # da3, dz3; dw3, db3; da2, dz2, dw2, db2; da1, dz1, dw1, db1
    backward = 2 + (l2 + 1) + (l2 + l2 + l1 * l2 + l2) + (l1 + l1 + 2 * l1 + l1)
    assert len(record.steps) == record.n_forward + backward == 44
    names = [s.name for s in record.steps]
    assert names[:4] == ["z1[0]", "a1[0]", "z1[1]", "a1[1]"]
    assert names[record.n_forward - 3:record.n_forward + 2] == ["z3", "a3", "L", "da3", "dz3"]
    assert names[-1] == "db1[1]"
    # each number is computed after every number its equation reads
    seen = {"x[0]", "x[1]", "y"} | {f"{p}" for p in names if p[0] in "wb"}
    params = {stepper.name_of(n, idx) for n in bc.PARAM_NAMES
              for idx in np.ndindex(getattr(model, n).shape)}
    for step in record.steps:
        missing = [r for r in step.reads if r not in seen | params]
        assert not missing, f"{step.name} reads {missing} before they are computed"
        seen.add(step.name)


def _evaluate(expression):
    """The value of an equation's numeric part, e.g. ``0.5·(-1.2) + 0.3`` or ``σ(0.673)``."""
    code = (expression.replace("·", "*").replace("σ", "_sigmoid").replace("½", "0.5*")
            .replace("²", "**2"))
    return eval(code, {"__builtins__": {}, "_sigmoid": lambda v: float(bc.sigmoid(v))})


@pytest.mark.parametrize("hidden_size,seed,row", CASES[:3])
def test_each_equation_recomputes_its_number(hidden_size, seed, row):
    """The numbers substituted in an equation give its result, to their 4 digits."""
    record = stepper.trace(*sample(hidden_size, seed, row))
    for step in record.steps:
        parts = step.equation.split(" = ")
        assert parts[0] == step.name
        assert float(parts[-1]) == pytest.approx(step.value, rel=5e-4, abs=1e-12)
        numeric = parts[-2]
        if numeric in record.known(len(record.steps)):         # a copy: db3 = dz3 = ...
            assert record.known(len(record.steps))[numeric] == step.value
            continue
        numbers = [abs(float(n)) for n in re.findall(r"\d+\.?\d*(?:e[-+]?\d+)?", numeric)]
        scale = math.prod(sorted(numbers)[-2:]) if "·" in numeric else max(numbers)
        assert _evaluate(numeric) == pytest.approx(step.value, abs=2e-3 * max(scale, 1e-3)), \
            step.equation


def test_the_dz2_equation_reads_as_the_issue_asks():
    record = stepper.trace(*sample((2, 3), 0, 0))
    step = next(s for s in record.steps if s.name == "dz2[1]")
    da2, a2 = record.known(len(record.steps))["da2[1]"], record.known(len(record.steps))["a2[1]"]
    assert step.equation == (f"dz2[1] = da2[1] · σ′(z2[1]) = da2[1] · a2[1] (1 - a2[1]) = "
                             f"{stepper._factor(da2)} · {stepper.fmt(a2 * (1 - a2))} = "
                             f"{stepper.fmt(step.value)}")


def drawn_numbers(trace, upto):
    """name -> the text drawn for it by ``draw_stepper``."""
    fig = Figure(figsize=(13, 5.2))
    plots.draw_stepper(trace, upto, axes=fig.subplots(1, 2))
    return {t.get_gid().removeprefix("value:"): t.get_text()
            for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("value:")}


def _as_number(text):
    return float(text.removeprefix("∂ "))


@pytest.mark.parametrize("hidden_size,seed,row", CASES[:3])
def test_the_numbers_drawn_are_the_models(hidden_size, seed, row):
    model, x, y = sample(hidden_size, seed, row)
    record = stepper.trace(model, x, y)
    drawn = drawn_numbers(record, len(record.steps))
    truth = model_numbers(model, x, y)
    truth.update({name: getattr(model, name) for name in bc.PARAM_NAMES})
    truth["x"] = x.reshape(1, 2)
    checked = 0
    for array, values in truth.items():
        for index in np.ndindex(values.shape):
            name = stepper.name_of(array, index if values.shape else ())
            assert name in drawn, f"{name} is not on the figure"
            assert _as_number(drawn[name]) == pytest.approx(values[index], rel=6e-4,
                                                           abs=1e-12), name
            checked += 1
    l1, l2 = hidden_size
    n_params = 2 * l1 + l1 + l1 * l2 + l2 + l2 + 1
    # x, every z and a with its gradient, L, every parameter with its gradient
    assert checked == 2 + 4 * (l1 + l2 + 1) + 1 + 2 * n_params


def test_only_the_numbers_computed_so_far_are_drawn():
    record = stepper.trace(*sample((2, 3), 0, 0))
    for upto in (0, 5, record.n_forward, record.n_forward + 7):
        drawn = drawn_numbers(record, upto)
        done = {s.name for s in record.steps[:upto]}
        for step in record.steps:
            has_number = bool(re.search(r"\d", drawn[step.name]))
            assert has_number == (step.name in done), (upto, step.name, drawn[step.name])


def test_the_current_step_is_highlighted_and_its_equation_is_the_title():
    record = stepper.trace(*sample((2, 3), 0, 0))
    upto = record.n_forward + 10
    fig = Figure(figsize=(13, 5.2))
    ax, _ = plots.draw_stepper(record, upto, axes=fig.subplots(1, 2))
    step = record.steps[upto - 1]
    assert step.equation in ax.get_title(loc="left")
    colours = {t.get_gid(): t.get_bbox_patch().get_facecolor()
               for a in fig.axes for t in a.texts if t.get_gid()}
    from matplotlib.colors import to_rgba
    assert colours[f"value:{step.name}"] == to_rgba("orange")
    for read in step.reads:
        if f"value:{read}" in colours:
            assert colours[f"value:{read}"] == to_rgba("khaki"), read


def test_bad_input_is_refused_with_a_clear_message():
    model, x, y = sample((2, 3), 0, 0)
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        stepper.trace(bc.Model((2, 3), activation="tanh"), x, y)
    with pytest.raises(ValueError, match="loss='mse'"):
        stepper.trace(bc.Model((2, 3), loss="bce"), x, y)
    with pytest.raises(TypeError, match="backprop_core.Model"):
        stepper.trace("model", x, y)
    with pytest.raises(ValueError, match="one sample"):
        stepper.trace(model, np.zeros((2, 2)), y)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        stepper.trace(model, x, 2.0)
    record = stepper.trace(model, x, y)
    with pytest.raises(ValueError, match="upto must be an integer from 0 to 44"):
        plots.draw_stepper(record, 45, axes=Figure().subplots(1, 2))


def test_the_widget_steps_forward_then_backward_and_resets(capsys):
    from workbook import widgets
    model, x, y = sample((2, 3), 0, 0)
    ui = widgets.backprop_stepper(model, x, y)
    forward, backward, reset = (ui.buttons[n] for n in ("forward", "backward", "reset"))
    assert ui.position() == 0 and backward.disabled and not forward.disabled
    backward.click()                                    # nothing to go back from yet
    assert ui.position() == 0
    for _ in range(ui.trace.n_forward + 3):             # extra clicks stop at the loss
        forward.click()
    assert ui.position() == ui.trace.n_forward and forward.disabled and not backward.disabled
    for _ in range(5):
        backward.click()
    assert ui.position() == ui.trace.n_forward + 5
    printed = capsys.readouterr().out
    assert ui.trace.steps[ui.trace.n_forward + 4].equation in printed
    assert "forward pass complete: press backward" in printed
    reset.click()
    assert ui.position() == 0 and not forward.disabled and backward.disabled
