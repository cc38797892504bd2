"""A figure the widgets redraw in place looks exactly like the same figure drawn afresh.

The playground keeps its figures between redraws and updates them in place
(``plots.plot_session`` removes what it drew and gives the unit maps new
values) instead of clearing every axes. The oracle is a fresh figure: after
any sequence of sessions, the in-place figure must render to the same pixels.
"""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from workbook import plots
from workbook.playground import Session


def figures():
    """The playground's two figures (as ``widgets.playground`` lays them out)."""
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.15, top=0.9, wspace=0.4)
    units_fig = Figure(figsize=(11, 3.0))
    unit_axes = units_fig.subplots(2, 8)
    units_fig.subplots_adjust(left=0.06, right=0.99, bottom=0.02, top=0.9, wspace=0.08,
                              hspace=0.25)
    return fig, axes, units_fig, unit_axes


def pixels(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def draw(session, kept=None, epochs=20):
    fig, axes, units_fig, unit_axes = kept or figures()
    plots.plot_session(session, axes=axes, unit_axes=unit_axes, epochs=epochs)
    return fig, axes, units_fig, unit_axes


SESSIONS = [  # each is drawn in place over the one before it
    lambda: Session(lr=0.1778).run(20),
    lambda: Session(hidden_size=(3, 12), activation="relu").run(20),       # fewer, more units
    lambda: Session(dataset="xor", activation="tanh", n_test=0).run(30),   # no test curves
    lambda: Session(lr=10.0, activation="none", output_activation="none").run(20),  # diverges
    lambda: Session(),                                                     # epoch 0 (reset)
    lambda: Session(dataset="circle", hidden_size=(8, 2), noise=0.1).run(40),
]


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")   # the diverged unit maps
def test_redrawing_in_place_gives_the_pixels_of_a_fresh_figure():
    kept = None
    for make in SESSIONS:
        session = make()
        kept = draw(session, kept, epochs=40)
        fresh = draw(session, epochs=40)
        for in_place, new in ((kept[0], fresh[0]), (kept[2], fresh[2])):
            a, b = pixels(in_place), pixels(new)
            assert a.shape == b.shape
            differ = np.any(a != b, axis=-1)
            assert not differ.any(), (f"{session.config}: {differ.sum()} pixels differ from a "
                                      "fresh drawing")


def test_the_in_place_unit_maps_hold_the_new_activations():
    kept = draw(Session(hidden_size=(5, 10)).run(5))
    session = Session(hidden_size=(3, 10), activation="relu", seed=2).run(5)
    draw(session, kept)
    unit_axes = kept[3]
    assert [len(ax.images) for ax in unit_axes[0]] == [1, 1, 1, 0, 0, 0, 0, 0]
    assert not unit_axes[0][3].axison and unit_axes[0][3].get_title() == ""
    grid = np.linspace(-0.1, 1.1, 30)
    xx0, xx1 = np.meshgrid(grid, grid)
    a1 = np.maximum(np.c_[xx0.ravel(), xx1.ravel()] @ session.model.w1 + session.model.b1, 0)
    for j, ax in enumerate(unit_axes[0][:3]):
        (image,) = ax.images
        np.testing.assert_allclose(image.get_array(), a1[:, j].reshape(30, 30), atol=1e-12)
        assert image.get_clim() == pytest.approx((a1[:, j].min(), a1[:, j].max() + 1e-12))


def test_figure_png_renders_once_the_whole_figure(monkeypatch):
    """What a widget sends: the whole figure (no crop), from a single rendering."""
    import io

    from PIL import Image

    from workbook.widgets import figure_png

    fig = Figure(figsize=(9, 3), layout="constrained")
    plots.plot_history(Session(dataset="xor").run(30).history, axes=fig.subplots(1, 2))
    draws = []
    original = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: draws.append(1) or original(
        self, renderer))
    png = figure_png(fig)
    assert len(draws) == 1
    assert np.asarray(Image.open(io.BytesIO(png))).shape[:2] == (300, 900)
