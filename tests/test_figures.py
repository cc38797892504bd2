"""Figures a student reads first: the network drawing, log-axis labels, the playground's
first run."""

import inspect
import re

import numpy as np
import pytest
from matplotlib.figure import Figure

import backprop_core as bc
from workbook import plots, widgets


def circles(ax):
    """(x, y, diameter) of every circle drawn, in points."""
    to_points = 72.0 / ax.figure.dpi
    out = []
    for collection in ax.collections:
        diameter = float(np.sqrt(collection.get_sizes()[0]))
        for x, y in ax.transData.transform(collection.get_offsets()) * to_points:
            out.append((x, y, diameter))
    return out


@pytest.mark.parametrize("hidden_size, drawn", [((5, 10), [2, 5, 10, 1]),
                                                ((512, 32), [2, 10, 10, 1]),
                                                ((1, 1), [2, 1, 1, 1])])
def test_the_network_drawing_shows_every_unit_up_to_ten_and_no_circles_overlap(hidden_size,
                                                                              drawn):
    ax = Figure(figsize=(7, 4)).subplots()
    plots.draw_network(hidden_size, ax=ax)
    assert [len(c.get_offsets()) for c in ax.collections] == drawn
    found = circles(ax)
    for i, (x0, y0, d0) in enumerate(found):
        for x1, y1, d1 in found[i + 1:]:
            if abs(x0 - x1) < 1e-6:                       # the same layer
                assert abs(y0 - y1) > (d0 + d1) / 2, (hidden_size, y0, y1, d0)
    texts = [t.get_text() for t in ax.texts]
    assert ("... 512 units" in texts) == (hidden_size[0] > 10)


def history(loss):
    loss = [float(v) for v in loss]
    return bc.History(loss=loss, accuracy=list(np.linspace(0.5, 0.6, len(loss))),
                      mae=loss, lr=[0.1] * len(loss))


@pytest.mark.parametrize("low, high", [(0.121, 0.146), (2e-4, 0.15), (0.3, 0.31)])
def test_log_loss_axes_label_numbers_plainly_between_powers_of_ten(low, high):
    """Not 1.45×10⁻¹: over less than a decade the ticks read 0.145."""
    fig = Figure(figsize=(9, 3.2))
    axes = fig.subplots(1, 2)
    plots.plot_history(history(np.geomspace(high, low, 300)), axes=axes)
    fig.canvas.draw()
    labels = [t.get_text() for t in (*axes[0].get_yticklabels(which="both"),)
              if t.get_text()]
    assert labels, (low, high)
    for label in labels:
        mantissa = re.search(r"([0-9.]+)\\times", label)
        assert mantissa is None, label          # only 10^k, never m×10^k
        assert re.fullmatch(r"[0-9.]+|\$\\mathdefault\{10\^\{-?\d+\}\}\$", label), label


def test_the_playground_starts_with_a_run_that_learns():
    """Its first run, at the controls' starting values, ends better than it starts and
    its accuracy never falls back by more than one point."""
    start = {name: p.default for name, p in inspect.signature(widgets.playground).parameters.items()
             if name in inspect.signature(widgets.playground_run).parameters
             and name not in ("engine", "callback")}
    *_, run = widgets.playground_run(**start)
    accuracy = np.array(run.accuracy)
    assert run.loss[-1] < run.loss[0] / 5
    assert accuracy[-1] >= 0.95 and accuracy[-1] > accuracy[0]
    assert np.max(np.maximum.accumulate(accuracy) - accuracy) <= 0.011
    longer = widgets.playground_run(**{**start, "epochs": 150})[3]
    assert longer.accuracy[-1] < max(longer.accuracy) - 0.03       # why it stops early
