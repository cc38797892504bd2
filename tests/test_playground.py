"""The playground's session: step, reset and replay, the test set, the noise, the unit maps.

Oracles: ``playground_run`` and ``run_experiment`` (the same network trained in
one call), ``bc.train`` and ``bc.evaluate`` called directly, and the hidden
activations recomputed from the weights.
"""

import numpy as np
import pytest
from matplotlib.figure import Figure

import backprop_core as bc
from workbook import experiments, playground, plots, widgets
from workbook.playground import Session

FIELDS = ("loss", "accuracy", "mae", "lr")


def same_weights(a, b):
    return all(np.array_equal(getattr(a, p + n), getattr(b, p + n))
               for p in ("", "v_") for n in bc.PARAM_NAMES)


def same_run(a, b):
    return (all(getattr(a.history, f) == getattr(b.history, f) for f in FIELDS)
            and same_weights(a.model, b.model))


@pytest.mark.parametrize("kwargs", [{}, {"dataset": "xor", "hidden_size": (2, 2), "seed": 3},
                                    {"dataset": "circle", "batch_size": 10, "lr": 0.5}])
def test_a_session_trains_the_network_of_playground_run(kwargs):
    session = Session(**kwargs).run(120)
    model, X, y, history = widgets.playground_run(epochs=120, **kwargs)
    assert np.array_equal(session.X, X) and np.array_equal(session.y, y)
    assert all(getattr(session.history, f) == getattr(history, f) for f in FIELDS)
    assert same_weights(session.model, model)


def test_step_equals_training_one_more_epoch():
    session = Session(dataset="xor").run(37)
    session.step()
    assert session.epochs == 38
    assert same_run(session, Session(dataset="xor").run(38))
    # and equals bc.train by hand from the initial weights
    model = session.initial.copy()
    history = bc.train(model, session.X, session.y, 38)
    assert history.loss == session.history.loss and same_weights(model, session.model)


def test_reset_replays_bit_for_bit():
    session = Session(seed=4, noise=0.1).run(150)
    first = (list(session.history.loss), list(session.test_loss), session.model.copy())
    session.reset()
    assert session.epochs == 0 and session.test_loss == [] and session.history.loss == []
    assert same_weights(session.model, session.initial)
    assert not any(np.any(getattr(session.model, "v_" + n)) for n in bc.PARAM_NAMES)
    session.run(150)
    assert session.history.loss == first[0] and session.test_loss == first[1]
    assert same_weights(session.model, first[2])


def test_reset_does_not_touch_the_initial_copy():
    session = Session().run(5)
    session.reset().run(3)
    assert same_weights(session.reset().model, Session().model)


def test_the_test_set_is_evaluated_and_never_trained_on():
    with_test, without = Session(n_test=60).run(90), Session(n_test=0).run(90)
    assert with_test.X_test.shape == (60, 2) and with_test.y_test.shape == (60, 1)
    assert without.X_test.shape == (0, 2) and without.test_loss[-1] != without.test_loss[-1]
    assert same_run(with_test, without)                     # the test set changes nothing
    loss, accuracy = bc.evaluate(with_test.model, with_test.X_test, with_test.y_test)
    assert (with_test.test_loss[-1], with_test.test_accuracy[-1]) == (loss, accuracy)
    assert with_test.test_epochs[-1] == 90 and len(with_test.test_epochs) == 90
    assert not np.isin(with_test.X_test, with_test.X).any()  # fresh points


def test_test_metrics_are_recorded_about_every_percent_and_at_the_end():
    session = Session().run(250)
    assert session.test_epochs == list(range(2, 251, 2))
    session.step()
    assert session.test_epochs[-1] == 251


def test_xor_test_points_lie_on_the_diagonals_with_their_labels():
    X, y = playground.held_out("xor", 40, np.random.SeedSequence(1))
    on_main = np.isclose(X[:, 0], X[:, 1])
    on_anti = np.isclose(X[:, 0] + X[:, 1], 1.0)
    assert np.all(np.where(y[:, 0] == 0, on_main, on_anti))
    assert y.sum() == 20


def test_noise_moves_the_inputs_not_the_labels():
    clean, noisy = Session(noise=0.0), Session(noise=0.2)
    X, y, _, _ = experiments._prepare_run(experiments.RunConfig())
    assert np.array_equal(clean.X, X)
    assert np.array_equal(noisy.y, y) and np.array_equal(noisy.y_test, clean.y_test)
    shift = np.concatenate([(noisy.X - clean.X).ravel(), (noisy.X_test - clean.X_test).ravel()])
    assert 0.17 < shift.std() < 0.23 and abs(shift.mean()) < 0.03
    assert np.array_equal(Session(noise=0.2).X, noisy.X)    # seeded


def test_a_diverged_session_trains_no_further():
    session = Session(activation="none", output_activation="none", lr=0.1).run(20)
    assert session.history.diverged_at == 1 and session.epochs == 1
    session.step()
    assert session.epochs == 1


def test_ctrl_c_in_training_stops_the_run_and_keeps_the_completed_epochs(monkeypatch):
    calls = []

    def interrupting(model, X, y, orders, lrs, batch_size):     # Ctrl-C in engine call 7
        calls.append(len(orders))
        out = bc._numpy_epochs(model, X, y, orders, lrs, batch_size)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return out

    session = Session(engine="numpy")
    monkeypatch.setitem(bc.ENGINES, "numpy", interrupting)
    with pytest.warns(RuntimeWarning, match=r"^training interrupted after (\d+) of 300 epochs; "
                      r"the session keeps them: \1 epochs since the initial weights"):
        session.run(300)
    monkeypatch.undo()
    kept = session.epochs
    assert len(calls) == 7, f"the run went on after Ctrl-C: {len(calls)} engine calls"
    assert session.history.interrupted and 0 < kept < 300
    assert kept == sum(calls[:6])                   # the interrupted call is undone
    assert all(len(getattr(session.history, f)) == kept for f in FIELDS)
    assert session.test_epochs[-1] == kept
    assert session.test_loss[-1] == bc.evaluate(session.model, session.X_test,
                                                session.y_test)[0]
    model = session.initial.copy()                  # oracle: train those epochs in one call
    history = bc.train(model, session.X, session.y, kept, engine="numpy")
    assert history.loss == session.history.loss and same_weights(model, session.model)
    session.run(5)                                  # and the session trains on
    assert not session.history.interrupted and session.epochs == kept + 5


def test_ctrl_c_in_the_callback_keeps_the_chunk_it_saw():
    seen = []

    def callback(session):
        seen.append(session.epochs)
        if len(seen) == 3:
            raise KeyboardInterrupt

    session = Session(engine="numpy")
    with pytest.warns(RuntimeWarning, match=r"^training interrupted after 6 of 200 epochs"):
        session.run(200, callback=callback)
    assert seen == [2, 4, 6] and session.epochs == 6 and session.history.interrupted
    assert same_run(session, Session(engine="numpy").run(6))


@pytest.mark.parametrize("kwargs,message", [
    ({"n_test": -1}, "n_test must be an integer >= 0"),
    ({"n_test": 2.5}, "n_test must be an integer >= 0"),
    ({"noise": -0.1}, "noise must be a finite number in"),
    ({"dataset": "spiral"}, "dataset must be one of"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Session(**kwargs)


def test_run_refuses_a_bad_epoch_count():
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Session().run(0)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_unit_maps_show_each_units_activation(activation):
    model = bc.Model((3, 10), activation=activation, seed=1)
    fig = Figure()
    axes = fig.subplots(2, 8)
    images1 = plots.plot_units(model, axes[0], 1, resolution=20)
    images2 = plots.plot_units(model, axes[1], 2, resolution=20)
    assert len(images1) == 3 and len(images2) == 8
    assert not axes[0][3].axison and axes[0][2].axison is not False
    grid = np.linspace(-0.1, 1.1, 20)
    xx0, xx1 = np.meshgrid(grid, grid)
    f = bc.ACTIVATIONS[activation][0]
    a1 = f(np.c_[xx0.ravel(), xx1.ravel()] @ model.w1 + model.b1)       # (400, 3)
    a2 = f(a1 @ model.w2 + model.b2)                                    # (400, 10)
    for j, image in enumerate(images1):
        np.testing.assert_allclose(image.get_array(), a1[:, j].reshape(20, 20), atol=1e-12)
    for j, image in enumerate(images2):
        np.testing.assert_allclose(image.get_array(), a2[:, j].reshape(20, 20), atol=1e-12)
    with pytest.raises(ValueError, match="layer must be 1 or 2"):
        plots.plot_units(model, axes[0], 3)


def test_the_widget_buttons_step_reset_and_replay(capsys):
    ui = widgets.playground(epochs=40)
    assert ui.session().epochs == 40
    ui.buttons["step"].click()
    assert same_run(ui.session(), Session().run(41))
    ui.buttons["reset"].click()
    assert ui.session().epochs == 0
    ui.buttons["run"].click()
    assert same_run(ui.session(), Session().run(40))
    ui.controls["noise"].value = 0.1
    assert ui.session().noise == 0.1 and ui.session().epochs == 40
    printed = capsys.readouterr().out
    assert "epoch 41: training loss" in printed and "epoch 0: the initial weights" in printed


def test_the_playground_figure_shows_training_and_test_curves():
    session = Session(dataset="circle", n_test=50).run(30)
    fig = Figure()
    axes, unit_axes = fig.subplots(1, 3), fig.subplots(2, 4)
    plots.plot_session(session, axes=axes, unit_axes=unit_axes, epochs=100)
    lines = {line.get_label(): line for line in axes[1].get_lines()}
    assert list(lines["test"].get_ydata()) == session.test_loss
    assert list(lines["training"].get_ydata()) == session.history.loss
    assert list(axes[2].get_lines()[-1].get_ydata()) == session.test_accuracy
    assert axes[1].get_xlim()[1] == 101
    assert "first 4 of 10" in unit_axes[1][0].get_ylabel()
