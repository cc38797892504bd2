"""The scalar autograd engine against independent oracles.

Each operation's gradient is checked against central finite differences of the
forward computation alone; the lab's network built from ``Value`` objects must
give ``Model.gradients`` to 1e-12, whose own oracle is the gradient check.
"""

import math

import pytest
from matplotlib.figure import Figure

import backprop_core as bc
from workbook import autograd, plots
from workbook.autograd import Value


def expression(a, b, c, d):
    """An expression using every operation of Value; works on floats and on Values."""
    s = (a * b + c ** 2 / d - 1.5 * a).sigmoid() if isinstance(a, Value) else \
        float(bc.sigmoid(a * b + c ** 2 / d - 1.5 * a))
    e = s.exp() if isinstance(s, Value) else math.exp(s)
    return (e - b) * (2.0 - c) + 3.0 / d - (-a) ** 3


@pytest.mark.parametrize("point", [(0.3, -1.2, 0.7, 2.0), (-2.0, 0.5, 1.5, -0.8),
                                   (1.1, 1.1, -0.4, 3.3)])
def test_every_operation_against_central_differences(point):
    values = [Value(v) for v in point]
    out = expression(*values)
    out.backward()
    assert out.data == pytest.approx(expression(*point), rel=1e-15)
    for i, v in enumerate(values):
        eps = 1e-6
        up, down = list(point), list(point)
        up[i] += eps
        down[i] -= eps
        numeric = (expression(*up) - expression(*down)) / (2 * eps)
        assert v.grad == pytest.approx(numeric, rel=1e-7, abs=1e-9), f"operand {i}"


def test_a_value_used_twice_gets_both_gradients():
    a = Value(3.0)
    b = a * a + a                                       # db/da = 2a + 1
    b.backward()
    assert a.grad == 7.0


def test_backward_twice_gives_the_same_gradients():
    a, b = Value(0.4), Value(-1.3)
    out = (a * b).sigmoid() * a
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first


def test_graph_is_topological_and_complete():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    order = d.graph()
    assert order[-1] is d and len(order) == 4
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(position[id(child)] < position[id(node)] for child in node._prev)


def test_a_deep_graph_needs_no_recursion():
    x = Value(0.5)
    out = x
    for _ in range(5000):
        out = out * 1.0 + 0.0
    out.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("hidden_size,seed,row", [((5, 10), 0, 0), ((5, 10), 3, 7),
                                                  ((2, 3), 1, 2), ((64, 8), 2, 5)])
def test_the_labs_network_gives_model_gradients_to_1e_12(hidden_size, seed, row):
    X, y = bc.generate_linear(10, seed=seed)
    model = bc.Model(hidden_size, seed=seed)
    loss, params = autograd.network_loss(model, X[row], y[row, 0])
    loss.backward()
    ours, theirs = autograd.grads(params), model.gradients(X[row:row + 1], y[row:row + 1])
    assert loss.data == pytest.approx(model.loss_value(X[row:row + 1], y[row:row + 1]),
                                      rel=1e-12)
    for name in bc.PARAM_NAMES:
        assert ours[name].shape == theirs[name].shape
        assert bc.rel_error(ours[name], theirs[name]) < 1e-12, name


def test_the_network_refuses_what_it_does_not_build():
    with pytest.raises(ValueError, match="activation, output_activation 'sigmoid'"):
        autograd.network_loss(bc.Model((2, 2), activation="relu"), [0.1, 0.2], 1.0)


def test_pow_refuses_a_value_exponent():
    with pytest.raises(TypeError, match="exponent must be an int or a float"):
        Value(2.0) ** Value(3.0)


def test_draw_graph_draws_every_node_with_its_numbers():
    x0, w0, b = Value(0.5, label="x0"), Value(-0.3, label="w0"), Value(0.1, label="b")
    loss = (x0 * w0 + b).sigmoid()
    loss.backward()
    fig = Figure()
    ax = plots.draw_graph(loss, ax=fig.subplots())
    texts = [t.get_text() for t in ax.texts]
    for node in loss.graph():
        assert any(f"{node.data:.4g}" in t for t in texts)
        assert f"grad {node.grad:.4g}" in texts
    assert {"*", "+", "σ"} <= set(texts)


def test_draw_graph_refuses_a_large_graph():
    model = bc.Model((5, 10), seed=0)
    loss, _ = autograd.network_loss(model, [0.1, 0.9], 1.0)
    with pytest.raises(ValueError, match="draw_graph is for small graphs"):
        plots.draw_graph(loss, ax=Figure().subplots())
