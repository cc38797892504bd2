"""The workbook's tools that notebooks 04 to 06 used to define for themselves.

Oracles: ``run_experiment`` for ``sweep``'s kept histories and models and for
``compare``; the curves a figure holds against the histories they came from; the
pre-activations written out by hand for ``layer_inputs``; ``RunConfig`` for the
playground's options.
"""

import numpy as np
import pytest

import backprop_core as bc
from workbook import diagnostics, experiments, plots, widgets

SMALL = experiments.RunConfig(hidden_size=(3, 2), epochs=4, n=20)


def test_sweep_keeps_each_runs_history_and_model_on_request():
    plain = experiments.sweep({"lr": [0.1, 0.5]}, seeds=[0, 1], base=SMALL)
    kept = experiments.sweep({"lr": [0.1, 0.5]}, seeds=[0, 1], base=SMALL,
                             keep_histories=True, keep_models=True)
    assert all("history" not in row and "model" not in row for row in plain)
    for row, bare in zip(kept, plain, strict=True):
        model, history, again = experiments.run_experiment(SMALL, seed=row["seed"], lr=row["lr"])
        assert {k: v for k, v in row.items() if k not in ("history", "model")} == bare == again
        assert row["history"].loss == history.loss
        np.testing.assert_array_equal(row["model"].w2, model.w2)
    assert [(r["lr"], r["seed"]) for r in kept] == [(0.1, 0), (0.1, 1), (0.5, 0), (0.5, 1)]


def test_compare_runs_each_setting_on_each_data_set_and_seed():
    settings = {"tanh": {"activation": "tanh"}, "sgd": {"optimizer": "sgd"}}
    rows = experiments.compare(settings, SMALL, seeds=[0, 3])
    assert [(r["dataset"], r["label"], r["seed"]) for r in rows] == [
        (d, label, s) for d in ("linear", "xor") for label in settings for s in (0, 3)]
    for row in rows:
        want = experiments.run_experiment(SMALL, dataset=row["dataset"], seed=row["seed"],
                                          **settings[row["label"]])[2]
        assert row["mae"] == want["mae"] and row["history"].epochs == 4


def test_plot_curves_draws_the_first_seeds_history_per_label_and_data_set():
    plt = pytest.importorskip("matplotlib.pyplot")
    rows = experiments.compare({"a": {"lr": 0.1}, "b": {"lr": 0.5}}, SMALL, seeds=[2, 5])
    axes = plots.plot_curves(rows, "test", metric="mae", styles={"b": {"ls": "--"}})
    try:
        assert [ax.get_title() for ax in axes] == ["linear: test", "xor: test"]
        for ax, dataset in zip(axes, ("linear", "xor"), strict=True):
            lines = ax.get_lines()
            assert [line.get_label() for line in lines] == ["a", "b"]
            for line, label in zip(lines, ("a", "b"), strict=True):
                row = next(r for r in rows if (r["dataset"], r["label"], r["seed"])
                           == (dataset, label, 2))
                np.testing.assert_array_equal(line.get_ydata(), row["history"].mae)
            assert lines[1].get_linestyle() == "--"
    finally:
        plt.close("all")


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_layer_inputs_are_the_pre_activations(activation):
    X, y = bc.generate_linear(7, seed=1)
    model = bc.Model((4, 3), activation=activation, seed=2)
    z1, z2, z3 = diagnostics.layer_inputs(model, X)
    f = bc.ACTIVATIONS[activation][0]
    np.testing.assert_allclose(z1, X @ model.w1 + model.b1)
    np.testing.assert_allclose(z2, f(z1) @ model.w2 + model.b2)
    np.testing.assert_allclose(model._forward(X)[2], z3)       # z3, the output's input


def test_playground_run_takes_the_optimizer_loss_and_init():
    options = dict(optimizer="adam", loss="bce", init="xavier")
    model, X, y, history = widgets.playground_run("xor", lr=0.01, epochs=5, **options)
    assert (model.optimizer, model.loss, model.init) == ("adam", "bce", "xavier")
    row = experiments.run_experiment(experiments.RunConfig(
        dataset="xor", lr=0.01, epochs=5, **options))[2]
    assert history.loss[-1] == row["final_loss"]


def test_explore_displays_one_figure_and_returns_the_watched_numbers(monkeypatch):
    pytest.importorskip("matplotlib")
    shown = []
    monkeypatch.setattr(widgets, "display_figure", shown.append)     # display(fig), once
    history, health = widgets.explore(dataset="xor", epochs=3, l1=3, l2=2)
    model = diagnostics.WatchedModel((3, 2), lr=0.1, seed=0)
    want, want_health = diagnostics.train(model, *bc.generate_xor_easy(), 3, batch_size=10)
    assert history.loss == want.loss and health == want_health
    assert len(shown) == 1 and len(shown[0].axes) == 4
