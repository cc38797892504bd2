"""The playground's run as an object: step it one epoch, reset it, replay it, test it.

A ``Session`` holds one run of the playground (notebook 05): its training data,
a held-out test set, the initial weights and the model being trained. ``run``
trains more epochs on the current weights, ``step`` one more, ``reset`` puts
the initial weights back so that the same run can be replayed bit for bit.
After every epoch it records, beside the training ``History``, the loss and the
accuracy on the test set, which the network never trains on.

The seeding is ``workbook.experiments.run_experiment``'s: the training data and
the initial weights come from the same streams of ``SeedSequence(seed)``, so
with ``noise=0`` a session trains exactly the network of ``run_experiment`` and
``workbook.widgets.playground_run`` with the same fields. The test set and the
noise come from streams of their own (children 3 and 4).
"""

import math
import warnings

import numpy as np

import backprop_core as bc
from workbook.datasets import DATASETS, load_dataset
from workbook.experiments import RunConfig, _prepare_run


def held_out(dataset, n, seed):
    """``n`` fresh points of ``dataset``'s distribution: ``(X, y)``, (n, 2) and (n, 1).

    "linear" and "circle" draw new uniform points. "xor" is 21 fixed points on the
    two diagonals of the square; its fresh points lie anywhere on those diagonals,
    half on each: (t, t) labelled 0 and (t, 1 - t) labelled 1, t uniform in [0, 1).
    """
    if dataset != "xor":
        return load_dataset(dataset, n, seed=seed)
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, size=n)                       # (n,)
    y = (np.arange(n) % 2).astype(float)                    # (n,) 0, 1, 0, 1, ...
    X = np.c_[t, np.where(y == 1, 1.0 - t, t)]              # (n, 2)
    return X, y.reshape(n, 1)


def _check_n_test(n_test):
    if not bc._is_int(n_test) or n_test < 0:
        raise ValueError(f"n_test must be an integer >= 0 (0: no test set), got {n_test!r}. "
                         "Pass e.g. n_test=100.")
    return int(n_test)


class Session:
    """One playground run that can be trained on, stepped, reset and replayed.

    Parameters
    ----------
    dataset, lr, hidden_size, activation, output_activation, momentum, batch_size, seed,
    optimizer, loss, init
        As in ``workbook.widgets.playground_run``.
    n_test : int, default 100
        Size of the test set, drawn by ``held_out`` (0: none).
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to every input, training and
        test, as in TensorFlow Playground; the labels stay those of the clean points.
    engine : {"auto", "numba", "numpy"}

    Attributes
    ----------
    X, y, X_test, y_test : ndarray
        The training set, (n, 2) and (n, 1), and the test set.
    model : backprop_core.Model
        The network being trained; ``initial`` is a copy of its starting point.
    history : backprop_core.History
        The training loss and accuracy per epoch.
    test_epochs, test_loss, test_accuracy : list
        The epochs at which the test set was evaluated, and its loss and accuracy
        there: after the last epoch of every ``run``, and every 1% of its epochs.
    """

    def __init__(self, dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
                 output_activation="sigmoid", momentum=0.9, batch_size=1, seed=0, n_test=100,
                 noise=0.0, engine="auto", optimizer="momentum", loss="mse", init="normal"):
        config = RunConfig(dataset=dataset, hidden_size=hidden_size, lr=lr, momentum=momentum,
                           activation=activation, output_activation=output_activation,
                           optimizer=optimizer, loss=loss, init=init, batch_size=batch_size,
                           seed=seed)
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}. "
                             "Pass e.g. dataset='linear'.")
        n_test = _check_n_test(n_test)
        noise = bc._check_real(noise, "noise", 0.0, math.inf, False, "noise=0.1")
        self.X, self.y, self.model, _ = _prepare_run(config)
        test_seq, noise_seq = np.random.SeedSequence(seed).spawn(5)[3:]
        self.X_test, self.y_test = (held_out(dataset, n_test, test_seq) if n_test
                                    else (np.empty((0, 2)), np.empty((0, 1))))
        if noise > 0:
            rng = np.random.default_rng(noise_seq)
            self.X = self.X + noise * rng.standard_normal(self.X.shape)              # (n, 2)
            self.X_test = self.X_test + noise * rng.standard_normal(self.X_test.shape)
        self.config, self.n_test, self.noise, self.engine = config, n_test, noise, engine
        self.initial = self.model.copy()
        self.reset()

    @property
    def epochs(self):
        """Epochs trained since the initial weights."""
        return self.history.epochs

    def reset(self):
        """Back to the initial weights (and optimizer state), with empty histories."""
        self.model = self.initial.copy()
        self.history = bc.History(engine=self.engine)
        self.test_epochs, self.test_loss, self.test_accuracy = [], [], []
        return self

    def run(self, epochs, callback=None):
        """Train ``epochs`` more epochs on the current weights; returns the session.

        ``backprop_core.train`` runs them in chunks of about 1% of the epochs; the
        bits are those of one ``train`` call of all the epochs (``train`` itself
        runs in chunks). After each chunk the test set is evaluated and
        ``callback(session)`` is called. A run that has diverged trains no further.

        Ctrl-C (in training or in ``callback``) stops the run, as it stops
        ``backprop_core.train``: the session keeps the epochs completed,
        ``history.interrupted`` is set (until the next ``run`` or ``reset``), and a
        ``RuntimeWarning`` says how many epochs of the run were trained.
        """
        epochs = bc._check_positive_int(epochs, "epochs", "epochs=1")
        every, done = max(1, epochs // 100), 0
        self.history.interrupted = False
        while done < epochs and self.history.diverged_at is None:
            chunk = min(every, epochs - done)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)   # in diverged_at, interrupted
                more = bc.train(self.model, self.X, self.y, chunk,
                                batch_size=self.config.batch_size, engine=self.engine)
            if more.diverged_at is not None:
                self.history.diverged_at = self.history.epochs + more.diverged_at
            for name in ("loss", "accuracy", "mae", "lr"):
                getattr(self.history, name).extend(getattr(more, name))
            self.history.engine = more.engine
            self.history.interrupted = more.interrupted
            done += more.epochs
            with np.errstate(all="ignore"):                     # a diverged model: NaN
                test = (bc.evaluate(self.model, self.X_test, self.y_test) if self.n_test
                        else (math.nan, math.nan))
            self.test_epochs.append(self.history.epochs)
            self.test_loss.append(test[0])
            self.test_accuracy.append(test[1])
            try:
                if callback is not None:
                    callback(self)
            except KeyboardInterrupt:                           # the chunk is recorded: keep it
                self.history.interrupted = True
            if self.history.interrupted:
                warnings.warn(f"training interrupted after {done} of {epochs} epochs; the "
                              f"session keeps them: {self.epochs} epochs since the initial "
                              "weights (session.epochs).", RuntimeWarning, stacklevel=2)
                break
        return self

    def step(self):
        """One more epoch on the current weights."""
        return self.run(1)
