"""train, evaluate, gradient_check's teeth, and the experiment runner.

The reference semantics are the numpy engine's, so every ``train`` call here passes
``engine="numpy"``; tests/test_engine.py compares the other engines with it.
"""

import re
import warnings

import numpy as np
import pytest

import backprop_core as bc
from workbook import experiments

ENGINE = "numpy"


@pytest.fixture
def data():
    return bc.generate_linear(12, seed=3)


def hand_epoch(m, X, y, order=None, batch_size=1):
    """One epoch as the lab runs it: gradients then step, batch by batch, in order."""
    order = np.arange(len(X)) if order is None else order
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        m.step(m.gradients(X[rows], y[rows]))


def assert_same_state(a, b, rtol=1e-12):
    for prefix in ("", "v_", "m_", "s_"):
        for name in bc.PARAM_NAMES:
            np.testing.assert_allclose(getattr(a, prefix + name), getattr(b, prefix + name),
                                       rtol=rtol, atol=1e-15, err_msg=prefix + name)


class RowRecorder:
    """Wraps a model's ``_gradients`` to record which rows each update used, and the lr."""

    def __init__(self, model, X):
        self.X, self.batches, self.lrs = X, [], []
        self._inner = model._gradients
        self._model = model
        model._gradients = self

    def __call__(self, Xb, yb):
        rows = [int(np.flatnonzero(np.all(x == self.X, axis=1))[0]) for x in Xb]
        self.batches.append(rows)
        self.lrs.append(self._model.lr)
        return self._inner(Xb, yb)


# -- one epoch equals the hand loop ------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["momentum", "sgd", "adam"])
def test_one_per_sample_epoch_equals_hand_loop(optimizer, data):
    X, y = data
    m = bc.Model((5, 10), lr=0.1, seed=0, optimizer=optimizer)
    ref = m.copy()
    history = bc.train(m, X, y, epochs=1, engine=ENGINE)
    hand_epoch(ref, X, y)
    assert_same_state(m, ref)
    assert history.epochs == 1
    assert history.loss[0] == pytest.approx(ref.loss_value(X, y), rel=1e-12)


def test_three_epochs_equal_hand_loop_and_record_metrics(data):
    X, y = data
    m = bc.Model((3, 4), lr=0.5, seed=1)
    ref = m.copy()
    history = bc.train(m, X, y, epochs=3, engine=ENGINE)
    for e in range(3):
        hand_epoch(ref, X, y)
        loss, accuracy = bc.evaluate(ref, X, y)
        assert history.loss[e] == pytest.approx(loss, rel=1e-12)
        assert history.accuracy[e] == pytest.approx(accuracy)
        assert history.mae[e] == pytest.approx(np.mean(np.abs(ref.forward(X) - y)), rel=1e-12)
    assert_same_state(m, ref)
    assert history.engine == "numpy" and history.diverged_at is None
    assert history.lr == [0.5, 0.5, 0.5]


def test_train_does_not_modify_its_inputs(data):
    X, y = data
    X0, y0 = X.copy(), y.copy()
    bc.train(bc.Model((3, 4)), X, y, epochs=2, shuffle=True, seed=0, engine=ENGINE)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_train_leaves_global_rng_alone(data):
    X, y = data
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    bc.train(bc.Model((3, 4)), X, y, epochs=2, shuffle=True, seed=1, engine=ENGINE)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


# -- batch_size and shuffle ------------------------------------------------------------


@pytest.mark.parametrize("batch_size, sizes", [(1, [1] * 12), (5, [5, 5, 2]), (12, [12]),
                                               (100, [12])])
def test_batch_size_semantics(batch_size, sizes, data):
    X, y = data
    m = bc.Model((3, 4), seed=0)
    ref = m.copy()
    recorder = RowRecorder(m, X)
    bc.train(m, X, y, epochs=2, batch_size=batch_size, engine=ENGINE)
    assert [len(b) for b in recorder.batches] == sizes * 2
    assert sum(recorder.batches[:len(sizes)], []) == list(range(12))     # in order
    for _ in range(2):
        hand_epoch(ref, X, y, batch_size=batch_size)
    del m._gradients
    assert_same_state(m, ref)


def test_full_batch_epoch_is_one_gradient_step(data):
    X, y = data
    m = bc.Model((3, 4), seed=0, optimizer="sgd", lr=0.2)
    ref = m.copy()
    bc.train(m, X, y, epochs=1, batch_size=len(X), engine=ENGINE)
    g = ref.gradients(X, y)
    for name in bc.PARAM_NAMES:
        np.testing.assert_allclose(getattr(m, name), getattr(ref, name) - 0.2 * g[name],
                                   rtol=1e-13)


def test_shuffle_visits_a_permutation_each_epoch_deterministically(data):
    X, y = data
    orders = []
    for _ in range(2):
        m = bc.Model((3, 4), seed=0)
        recorder = RowRecorder(m, X)
        bc.train(m, X, y, epochs=4, shuffle=True, seed=11, engine=ENGINE)
        visited = [b[0] for b in recorder.batches]
        orders.append([visited[e * 12:(e + 1) * 12] for e in range(4)])
    for epoch_order in orders[0]:
        assert sorted(epoch_order) == list(range(12))
    assert orders[0] == orders[1]                                  # same seed, same orders
    assert orders[0][0] != list(range(12))                         # actually shuffled
    assert len({tuple(o) for o in orders[0]}) > 1                  # a fresh order per epoch


def test_shuffle_seed_matters_and_training_matches_the_visited_order(data):
    X, y = data
    m1, m2 = bc.Model((3, 4), seed=0), bc.Model((3, 4), seed=0)
    ref = m1.copy()
    rec = RowRecorder(m1, X)
    h1 = bc.train(m1, X, y, epochs=2, shuffle=True, seed=1, engine=ENGINE)
    h2 = bc.train(m2, X, y, epochs=2, shuffle=True, seed=2, engine=ENGINE)
    assert h1.loss != h2.loss
    order = np.array([b[0] for b in rec.batches])
    hand_epoch(ref, X, y, order=order[:12])
    hand_epoch(ref, X, y, order=order[12:])
    del m1._gradients
    assert_same_state(m1, ref)


def test_same_seed_same_history(data):
    X, y = data
    runs = [bc.train(bc.Model((3, 4), seed=0), X, y, epochs=3, shuffle=True, seed=5,
                     batch_size=4, engine=ENGINE) for _ in range(2)]
    assert runs[0] == runs[1]


# -- lr_decay --------------------------------------------------------------------------


@pytest.mark.parametrize("decay", [0.9, 0.5, 1.0])
def test_lr_decay_schedule(decay, data):
    X, y = data
    m = bc.Model((3, 4), lr=0.2, seed=0)
    recorder = RowRecorder(m, X)
    history = bc.train(m, X, y, epochs=5, lr_decay=decay, engine=ENGINE)
    expected = [0.2, 0.2, 0.2 * decay, 0.2 * decay * decay, 0.2 * decay * decay * decay]
    assert history.lr == pytest.approx(expected, rel=1e-14)
    used = [recorder.lrs[e * 12] for e in range(5)]          # lr during each epoch
    assert used == pytest.approx(expected, rel=1e-14)
    assert m.lr == 0.2                                        # restored


def test_lr_decay_hand_loop(data):
    X, y = data
    m = bc.Model((3, 4), lr=0.3, seed=0)
    ref = m.copy()
    bc.train(m, X, y, epochs=3, lr_decay=0.9, engine=ENGINE)
    for lr in (0.3, 0.3, 0.27):
        ref.lr = lr
        hand_epoch(ref, X, y)
    ref.lr = 0.3
    assert_same_state(m, ref)


# -- divergence -----------------------------------------------------------------------


def diverging_model():
    # no activation anywhere, and an lr that grows by 20% a epoch: it must blow up
    return bc.Model((5, 10), lr=0.01, activation="none", output_activation="none", seed=0)


def hand_divergence_epoch(X, y, epochs, decay):
    m = diverging_model()
    with np.errstate(all="ignore"):
        for e in range(epochs):
            m.lr = 0.01 * decay ** max(0, e - 1)
            hand_epoch(m, X, y)
            if not np.isfinite(m.loss_value(X, y)):
                return e + 1
    return None


def test_divergence_stops_keeps_history_and_warns_once():
    X, y = bc.generate_linear(20, seed=0)
    expected_epoch = hand_divergence_epoch(X, y, 200, 1.2)
    assert expected_epoch is not None and expected_epoch > 2
    m = diverging_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = bc.train(m, X, y, epochs=200, lr_decay=1.2, engine=ENGINE)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(runtime) == 1, [str(w.message) for w in caught]
    assert len(caught) == 1
    message = str(runtime[0].message)
    assert "diverged" in message and "smaller lr" in message and "activation" in message
    assert history.diverged_at == expected_epoch == history.epochs
    assert len(history.loss) == len(history.accuracy) == len(history.mae) == len(history.lr)
    assert not np.isfinite(history.loss[-1])
    assert np.all(np.isfinite(history.loss[:-1]))
    assert m.lr == 0.01


def test_divergence_warning_matches():
    X, y = bc.generate_linear(20, seed=0)
    with pytest.warns(RuntimeWarning, match=r"diverged.*Try a smaller lr"):
        bc.train(diverging_model(), X, y, epochs=50, lr_decay=1.5, engine=ENGINE)


def test_no_warning_without_divergence(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = bc.train(bc.Model((3, 4)), X, y, epochs=3, engine=ENGINE)
    assert history.diverged_at is None


# -- callback --------------------------------------------------------------------------


def test_callback_sees_the_growing_history(data):
    X, y = data
    calls = []
    history = bc.train(bc.Model((3, 4)), X, y, epochs=250, engine=ENGINE,
                       callback=lambda epoch, h: calls.append((epoch, len(h.loss))))
    assert calls[-1] == (250, 250)
    assert all(epoch == n for epoch, n in calls)
    assert [e for e, _ in calls] == sorted({e for e, _ in calls})
    assert history.epochs == 250


# -- evaluate, mean_abs_error, History ---------------------------------------------------


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_evaluate_against_direct_computation(loss, data):
    X, y = data
    m = bc.Model((5, 10), seed=2, loss=loss)
    m.b3 -= np.median(m.forward(X) - 0.5)
    value, accuracy = bc.evaluate(m, X, y)
    assert value == pytest.approx(m.loss_value(X, y), rel=1e-14)
    assert accuracy == pytest.approx(np.mean(m.predict(X) == y))
    assert isinstance(value, float) and isinstance(accuracy, float)


def test_evaluate_accuracy_counts_correct_rows():
    m = bc.Model((2, 2), seed=0)
    m.w3[...] = 0.0
    m.b3[...] = 3.0                               # predicts 1 everywhere
    X = np.zeros((4, 2))
    _, accuracy = bc.evaluate(m, X, np.array([[1.0], [0.0], [1.0], [1.0]]))
    assert accuracy == 0.75


def test_mean_abs_error(data):
    X, y = data
    m = bc.Model((5, 10), seed=2)
    assert bc.mean_abs_error(m, X, y) == pytest.approx(np.mean(np.abs(m.forward(X) - y)),
                                                      rel=1e-14)


def test_history_repr_and_epochs(data):
    X, y = data
    history = bc.train(bc.Model((3, 4)), X, y, epochs=2, engine=ENGINE)
    assert history.epochs == 2
    assert repr(history) == (f"History(epochs=2, loss={history.loss[-1]:.4g}, "
                             f"accuracy={history.accuracy[-1]:.4g}, diverged_at=None, "
                             "engine='numpy')")
    assert "seconds" not in repr(history) and history.seconds >= 0
    assert repr(bc.History()) == "History(epochs=0, empty, diverged_at=None, engine='numpy')"


# -- gradient_check has teeth ---------------------------------------------------------------


def gradients_without_a_sigma_prime(self, X, y):
    """Model._gradients with the hidden layers' f'(z2) factor dropped: a classic slip."""
    der_f = bc.ACTIVATIONS[self.activation][1]
    der_g = bc.ACTIVATIONS[self.output_activation][1]
    a1, a2, _, a3 = self._forward(X)
    dz3 = (a3 - y) * der_g(a3) / X.shape[0]
    dz2 = dz3 @ self.w3.T                              # missing * der_f(a2)
    dz1 = (dz2 @ self.w2.T) * der_f(a1)
    return {"w1": X.T @ dz1, "b1": dz1.sum(0, keepdims=True),
            "w2": a1.T @ dz2, "b2": dz2.sum(0, keepdims=True),
            "w3": a2.T @ dz3, "b3": dz3.sum(0, keepdims=True)}


def test_gradient_check_catches_a_broken_gradient(monkeypatch, data):
    X, y = data
    m = bc.Model((3, 4), seed=0)
    good = bc.gradient_check(m, X[:4], y[:4])
    assert max(good.values()) < 1e-7
    monkeypatch.setattr(bc.Model, "_gradients", gradients_without_a_sigma_prime)
    bad = bc.gradient_check(m, X[:4], y[:4])
    for name in ("w1", "b1", "w2", "b2"):
        assert bad[name] > 1e-2, bad
    assert bad["w3"] < 1e-7 and bad["b3"] < 1e-7           # the output layer is still right


# -- experiments ----------------------------------------------------------------------------


SMALL = experiments.RunConfig(hidden_size=(3, 4), epochs=4, n=20)


def test_run_experiment_uses_its_config():
    config = experiments.RunConfig(dataset="xor", hidden_size=(4, 3), lr=0.3, epochs=5,
                                   lr_decay=0.9, momentum=0.5, seed=2)
    model, history, row = experiments.run_experiment(config, engine=ENGINE)
    assert model.hidden_size == (4, 3) and model.lr == 0.3 and model.momentum == 0.5
    assert history.epochs == 5 and history.engine == "numpy"
    assert history.lr == pytest.approx([0.3, 0.3, 0.27, 0.243, 0.2187])
    X, y = bc.generate_xor_easy()
    loss, accuracy = bc.evaluate(model, X, y)
    assert row["final_loss"] == history.loss[-1] == pytest.approx(loss, rel=1e-12)
    assert row["accuracy"] == pytest.approx(accuracy)
    assert row["mae"] == pytest.approx(bc.mean_abs_error(model, X, y), rel=1e-12)
    assert row["diverged_at"] is None and row["epochs_run"] == 5
    assert row["n"] == len(X) == 21                          # the points it trained on
    for key, value in vars(config).items():
        assert key == "n" or row[key] == value, key


def test_a_row_records_the_points_the_run_trained_on():
    """The oracle is the data set itself: "xor" has its 21 points whatever n says."""
    n_xor = len(bc.generate_xor_easy()[0])
    _, _, row = experiments.run_experiment(dataset="xor", n=50, epochs=1, engine=ENGINE)
    assert row["n"] == n_xor, f"the xor row says n={row['n']}; it trained on {n_xor} points"
    _, _, row = experiments.run_experiment(dataset="linear", n=50, epochs=1, engine=ENGINE)
    assert row["n"] == 50
    base = experiments.RunConfig(hidden_size=(2, 2), epochs=1, n=30)
    rows = experiments.sweep({"dataset": ["xor", "circle"]}, seeds=[0], base=base, engine=ENGINE)
    assert [(r["dataset"], r["n"]) for r in rows] == [("xor", n_xor), ("circle", 30)]


def test_run_experiment_overrides():
    _, history, row = experiments.run_experiment(SMALL, engine=ENGINE, lr=0.05, epochs=2, seed=3)
    assert (row["lr"], row["epochs"], row["seed"], row["hidden_size"]) == (0.05, 2, 3, (3, 4))
    assert history.epochs == 2 and history.lr == [0.05, 0.05]
    assert SMALL.lr == 0.1                                   # the config itself is unchanged


def test_run_experiment_default_config():
    model, history, row = experiments.run_experiment(engine=ENGINE, epochs=2)
    assert model.hidden_size == (5, 10) and row["dataset"] == "linear" and row["n"] == 100
    assert history.epochs == 2


def test_run_experiment_is_deterministic_per_seed():
    rows = [experiments.run_experiment(SMALL, engine=ENGINE, seed=s, shuffle=True)[2]
            for s in (0, 0, 1)]
    assert rows[0] == rows[1]
    assert rows[0]["final_loss"] != rows[2]["final_loss"]


def test_run_experiment_records_divergence():
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # recorded in the row, not warned
        _, history, row = experiments.run_experiment(SMALL, engine=ENGINE, activation="none",
                                            output_activation="none", lr=0.01, lr_decay=2.0,
                                            epochs=100)
    assert row["diverged_at"] == history.diverged_at is not None
    assert row["epochs_run"] == history.epochs == history.diverged_at


def test_sweep_rows_equal_single_runs():
    grid = {"lr": [0.1, 0.5], "hidden_size": [(2, 2), (3, 4)]}
    rows = experiments.sweep(grid, seeds=[0, 1], base=SMALL, engine=ENGINE)
    assert len(rows) == 2 * 2 * 2
    keys = [(r["lr"], r["hidden_size"], r["seed"]) for r in rows]
    assert sorted(keys) == sorted((lr, hs, s) for lr in grid["lr"]
                                  for hs in grid["hidden_size"] for s in (0, 1))
    for row in rows:
        single = experiments.run_experiment(SMALL, engine=ENGINE, lr=row["lr"],
                                   hidden_size=row["hidden_size"], seed=row["seed"])[2]
        assert row == single


def test_sweep_default_seeds():
    rows = experiments.sweep({"lr": [0.1]},
                             base=experiments.RunConfig(hidden_size=(2, 2), epochs=1, n=10),
                             engine=ENGINE)
    assert [r["seed"] for r in rows] == [0, 1, 2, 3, 4]


def fake_rows():
    rng = np.random.default_rng(0)
    rows = []
    for lr in (0.1, 0.01):
        for seed in range(4):
            rows.append({"lr": lr, "seed": seed, "final_loss": rng.random(),
                         "mae": rng.random(), "accuracy": rng.random(),
                         "diverged_at": 7 if (lr, seed) == (0.01, 2) else None})
    return rows


def test_summarize_mean_and_std():
    rows = fake_rows()
    summary = experiments.summarize(rows, by=("lr",))
    assert [s["lr"] for s in summary] == [0.1, 0.01]          # first-appearance order
    for s in summary:
        members = [r for r in rows if r["lr"] == s["lr"]]
        assert s["runs"] == 4
        assert s["diverged"] == (1 if s["lr"] == 0.01 else 0)
        for metric in ("final_loss", "mae", "accuracy"):
            values = [r[metric] for r in members]
            assert s[metric + "_mean"] == pytest.approx(np.mean(values), rel=1e-14)
            assert s[metric + "_std"] == pytest.approx(np.std(values), rel=1e-14)


def test_summarize_sweep_rows_by_two_fields():
    rows = experiments.sweep({"lr": [0.1, 0.5], "activation": ["sigmoid", "tanh"]}, seeds=[0, 1, 2],
                    base=SMALL, engine=ENGINE)
    summary = experiments.summarize(rows, by=("lr", "activation"), metrics=("accuracy",))
    assert len(summary) == 4
    for s in summary:
        values = [r["accuracy"] for r in rows
                  if (r["lr"], r["activation"]) == (s["lr"], s["activation"])]
        assert s["runs"] == 3
        assert s["accuracy_mean"] == pytest.approx(np.mean(values))
        assert s["accuracy_std"] == pytest.approx(np.std(values))
        assert "mae_mean" not in s


def test_format_table():
    rows = fake_rows()
    summary = experiments.summarize(rows, by=("lr",))
    table = experiments.format_table(summary, by=("lr",), metrics=("mae", "accuracy"), digits=3)
    lines = table.splitlines()
    assert len(lines) == 2 + len(summary)
    assert lines[0].split() == ["lr", "mae", "accuracy", "runs"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    for line, s in zip(lines[2:], summary, strict=True):
        assert line.startswith(str(s["lr"]))
        for metric in ("mae", "accuracy"):
            values = [r[metric] for r in rows if r["lr"] == s["lr"]]
            assert f"{np.mean(values):.3f} ± {np.std(values):.3f}" in line
    assert lines[2].rstrip().endswith("4")
    assert lines[3].rstrip().endswith("4 (1 diverged)")
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]      # aligned columns
    assert [m.start() for m in re.finditer(r"\S+", lines[1])] == starts
    for line in lines[2:]:
        assert all(line[i] != " " and (i == 0 or line[i - 1] == " ") for i in starts), line


def test_format_table_of_no_rows():
    table = experiments.format_table([], by=("lr",))
    assert table.splitlines()[0].split() == ["lr", "mae", "accuracy", "runs"]
