"""Training health, per layer: gradient norms and update-to-weight ratios.

``WatchedModel`` is a ``backprop_core.Model`` that measures every update it
makes; ``train`` trains one and returns, beside the history, its ``Health``:
per weight matrix and per epoch, the mean over the epoch's updates of

* the gradient norm ||dL/dW||, on each update's batch, and
* the update-to-weight ratio ||W_after - W_before|| / ||W_before||, which
  CS231n's rule of thumb puts near 1e-3 for a layer that learns well: much
  lower, it barely moves; much higher, it is thrown about.

Because ``WatchedModel`` overrides ``_step``, ``backprop_core.train`` runs the
numpy reference for it (the compiled engine measures nothing).
"""

from dataclasses import dataclass

import numpy as np

import backprop_core as bc

WEIGHT_NAMES = ("w1", "w2", "w3")


@dataclass
class Health:
    """Per weight name ("w1", "w2", "w3"), one value per epoch."""

    grad_norm: dict
    update_ratio: dict


class WatchedModel(bc.Model):
    """A ``Model`` that records, at every update, ||dL/dW|| and ||dW|| / ||W|| per weight.

    Takes ``Model``'s parameters. ``watched[name]`` lists one
    (gradient norm, update ratio) pair per update, over the model's life.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.watched = {name: [] for name in WEIGHT_NAMES}

    def _step(self, grads):
        before = {name: getattr(self, name).copy() for name in WEIGHT_NAMES}
        super()._step(grads)
        with np.errstate(divide="ignore", invalid="ignore"):   # W = 0 gives inf, as it is
            for name, W in before.items():
                change = np.linalg.norm(getattr(self, name) - W)
                self.watched[name].append((np.linalg.norm(grads[name]),
                                           change / np.linalg.norm(W)))


def train(model, X, y, epochs, batch_size=1, **options):
    """``backprop_core.train`` on a ``WatchedModel``; returns ``(history, health)``.

    Parameters are those of ``backprop_core.train``; ``engine`` is always
    the numpy reference.

    Returns
    -------
    history : backprop_core.History
    health : Health
        Per weight and per epoch of this run, the means over the epoch's updates.
    """
    if not isinstance(model, WatchedModel):
        raise TypeError(f"model must be a workbook.diagnostics.WatchedModel, got "
                        f"{type(model).__name__}. Build it as WatchedModel(...) with "
                        "Model's arguments.")
    first = len(model.watched[WEIGHT_NAMES[0]])
    history = bc.train(model, X, y, epochs, batch_size=batch_size, **options)
    per_epoch = -(-len(X) // batch_size)               # updates per epoch
    means = {name: np.mean(np.reshape(
        model.watched[name][first:first + history.epochs * per_epoch],
        (history.epochs, per_epoch, 2)), axis=1) for name in WEIGHT_NAMES}   # (epochs, 2)
    return history, Health(grad_norm={k: v[:, 0].tolist() for k, v in means.items()},
                           update_ratio={k: v[:, 1].tolist() for k, v in means.items()})


def layer_inputs(model, X):
    """The pre-activations ``(z1, z2, z3)`` of ``model`` on ``X`` (n, 2): (n, l1), (n, l2), (n, 1).

    A sigmoid unit with |z| > 4.6 has slope below 0.01: it is saturated.
    """
    bc._check_model(model)
    X = bc._check_X(X)
    f = bc.ACTIVATIONS[model.activation][0]
    z1 = X @ model.w1 + model.b1                # (n, l1)
    z2 = f(z1) @ model.w2 + model.b2            # (n, l2)
    return z1, z2, f(z2) @ model.w3 + model.b3
