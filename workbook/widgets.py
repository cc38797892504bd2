"""Widgets of the notebooks: the shared sliders and the playground.

Callbacks draw on untracked ``matplotlib.figure.Figure`` objects and
``display`` them, never through pyplot: JupyterLab may run a callback on a
second kernel thread, where pyplot's own flush would race with the drawing.
"""

import time

from backprop_core import ACTIVATIONS, OUTPUT_ACTIVATIONS
from workbook.datasets import DATASETS, load_dataset
from workbook.diagnostics import WatchedModel
from workbook.diagnostics import train as diagnostics_train
from workbook.experiments import RunConfig, _prepare_run, _train_run
from workbook.plots import plot_decision_boundary, plot_health, plot_history

# The same controls, with the same descriptions, in every notebook: the browser
# tests find the sliders by these descriptions.


def lr_slider(value=0.1, min_exp=-3, max_exp=0):
    """A ``FloatLogSlider`` for the learning rate, 10^min_exp .. 10^max_exp."""
    import ipywidgets as widgets
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.25,
                                  description="lr", continuous_update=False,
                                  readout_format=".3g")


def hidden_size_sliders(value=(5, 10), max_units=128):
    """Two ``IntSlider``s for the hidden widths, described "l1" and "l2"."""
    import ipywidgets as widgets
    return tuple(widgets.IntSlider(value=v, min=1, max=max_units, step=1,
                                   description=name, continuous_update=False)
                 for name, v in zip(("l1", "l2"), value, strict=True))


def playground_run(dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
                   output_activation="sigmoid", momentum=0.9, batch_size=1, epochs=150, seed=0,
                   engine="auto", callback=None, optimizer="momentum", loss="mse",
                   init="normal"):
    """Train one network of the playground; returns ``(model, X, y, history)``.

    The seeding is ``run_experiment``'s: ``seed`` draws the data ("linear" and
    "circle"), the initial weights and the shuffling from independent streams
    of ``np.random.SeedSequence(seed)``, so the numbers are those of the
    ``run_experiment`` row with the same fields. Rows are visited in the lab's
    order, 100 points for "linear" and "circle".

    Parameters
    ----------
    dataset : {"linear", "xor", "circle"}
    lr, hidden_size, activation, output_activation, momentum, optimizer, loss, init
        As in ``Model``.
    batch_size, epochs, engine
        As in ``train``.
    seed : int
    callback : callable or None
        Called as ``callback(model, X, y, history)`` after every chunk of
        epochs (about 1% of the run), with the model being trained: for live plots.

    Returns
    -------
    model : Model
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n, 1)
    history : History
        ``history.diverged_at`` tells whether and when the loss became NaN or
        inf; ``train``'s warning is silenced, as in ``run_experiment``.

    Notes
    -----
    With lr 0.1, momentum 0.9 and batch 1, per-sample training on "linear" is
    chaotic: for seed 0, weights that differ by 1e-13 give losses that agree
    to 14 digits up to epoch 150 and differ in the third digit at epoch 200,
    so engines that round differently (numba, numpy) part ways there too. The
    default of 150 epochs stays on the reproducible side.
    """
    config = RunConfig(dataset=dataset, hidden_size=hidden_size, lr=lr, momentum=momentum,
                       activation=activation, output_activation=output_activation,
                       optimizer=optimizer, loss=loss, init=init, epochs=epochs,
                       batch_size=batch_size, seed=seed)
    X, y, model, shuffle_seq = _prepare_run(config)
    hook = None if callback is None else (lambda epoch, history: callback(model, X, y, history))
    history = _train_run(config, X, y, model, shuffle_seq, engine, False, hook)
    return model, X, y, history


def playground(dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
               output_activation="sigmoid", momentum=0.9, batch_size=1, epochs=150, seed=0,
               engine="auto", redraw_seconds=1.0):
    """A small TensorFlow Playground: controls that retrain the network and redraw it.

    Each change of a control calls ``playground_run`` with the controls' values.
    While it trains, a progress bar and a label follow the epochs; the figure
    (decision boundary over the data, loss and accuracy curves) is drawn when
    training ends and, in runs longer than ``redraw_seconds``, every
    ``redraw_seconds`` on the way. One figure is reused for every drawing.

    Parameters
    ----------
    dataset, lr, hidden_size, activation, output_activation, momentum, batch_size, epochs, seed
        The controls' starting values; see ``playground_run``.
    engine : {"auto", "numba", "numpy"}
        Passed to ``train``.
    redraw_seconds : float, default 1.0
        Least time between two drawings during training.

    Returns
    -------
    ipywidgets.VBox
        Controls, progress bar and output; display it. Its ``controls``
        attribute maps the names of ``playground_run``'s parameters (``l1``
        and ``l2`` for ``hidden_size``) to the widgets, ``out`` is the output.
    """
    import io

    import ipywidgets as widgets
    from IPython.display import Image, clear_output, display
    from matplotlib.figure import Figure

    style = {"description_width": "70px"}
    sliders = {"continuous_update": False, "style": style}
    l1, l2 = hidden_size_sliders(hidden_size)
    controls = {
        "dataset": widgets.Dropdown(options=DATASETS, value=dataset, description="data",
                                    style=style),
        "seed": widgets.IntSlider(value=seed, min=0, max=20, description="seed", **sliders),
        "l1": l1, "l2": l2,
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                       description="activation", style=style),
        "output_activation": widgets.Dropdown(options=OUTPUT_ACTIVATIONS,
                                              value=output_activation, description="output",
                                              style=style),
        "lr": lr_slider(lr, max_exp=1),
        "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                        description="momentum", **sliders),
        "batch_size": widgets.IntSlider(value=batch_size, min=1, max=100,
                                        description="batch", **sliders),
        "epochs": widgets.IntSlider(value=epochs, min=10, max=2000, step=10,
                                    description="epochs", **sliders),
    }
    for name in ("l1", "l2", "lr"):
        controls[name].style.description_width = style["description_width"]
    columns = [["dataset", "seed"], ["l1", "l2", "activation", "output_activation"],
               ["lr", "momentum", "batch_size", "epochs"]]
    box = widgets.HBox([widgets.VBox([controls[name] for name in column])
                        for column in columns], layout=widgets.Layout(flex_flow="row wrap"))
    progress = widgets.IntProgress(value=0, min=0, max=epochs, description="epoch",
                                   style=style)
    status = widgets.Label()

    # One figure, outside pyplot, with fixed margins: a redraw costs one render
    # and one PNG (constrained layout or bbox_inches="tight" would double it).
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.15, top=0.9, wspace=0.4)

    def draw(model, X, y, history, values):
        for ax in axes:
            ax.clear()
        plot_decision_boundary(model, X, y, ax=axes[0], resolution=100,
                               title=f"{values['dataset']}, epoch {history.epochs}")
        plot_history(history, axes=axes[1:])
        for ax in axes[1:]:
            ax.set_xlim(0, values["epochs"] + 1)
        if history.diverged_at is not None:
            axes[0].text(0.5, 0.5, f"diverged at epoch {history.diverged_at}", ha="center",
                         transform=axes[0].transAxes, bbox={"facecolor": "white"})
        clear_output(wait=True)
        print(f"data = {values['dataset']}, l1 = {values['l1']}, l2 = {values['l2']}, "
              f"activation = {values['activation']}, output = {values['output_activation']}, "
              f"lr = {values['lr']:.3g}, momentum = {values['momentum']:.2f}, "
              f"batch = {values['batch_size']}, epochs = {values['epochs']}, "
              f"seed = {values['seed']}")
        png = io.BytesIO()
        fig.savefig(png, format="png")
        display(Image(png.getvalue(), format="png"))

    def show(**values):
        last_draw = [time.perf_counter()]
        progress.max, progress.value = values["epochs"], 0

        def callback(model, X, y, history):
            progress.value = history.epochs
            status.value = (f"epoch {history.epochs} / {values['epochs']}: loss "
                            f"{history.loss[-1]:.4f}, accuracy {history.accuracy[-1]:.3f}")
            if time.perf_counter() - last_draw[0] > redraw_seconds:
                draw(model, X, y, history, values)
                last_draw[0] = time.perf_counter()

        model, X, y, history = playground_run(
            values["dataset"], values["lr"], (values["l1"], values["l2"]),
            values["activation"], values["output_activation"], values["momentum"],
            values["batch_size"], values["epochs"], values["seed"], engine, callback)
        draw(model, X, y, history, values)
        if history.diverged_at is not None:
            print(f"Training diverged at epoch {history.diverged_at}: the loss became "
                  f"{history.loss[-1]}, so training stopped there. Try a smaller lr, or "
                  "the sigmoid output, which keeps y_hat in (0, 1).")
        else:
            print(f"final loss {history.loss[-1]:.4f}, accuracy {history.accuracy[-1]:.4f} "
                  f"after {history.epochs} epochs ({history.engine} engine, "
                  f"{history.seconds:.2f} s)")

    out = widgets.interactive_output(show, controls)
    ui = widgets.VBox([box, widgets.HBox([progress, status]), out])
    ui.controls, ui.out = controls, out
    return ui


def explore(dataset="xor", activation="sigmoid", optimizer="momentum", loss="mse", init="normal",
            batch_size=10, lr=0.1, l1=5, l2=10, epochs=1000):
    """Train one watched network (seed 0) and display its curves and health panel.

    The numbers are ``workbook.diagnostics.train`` on a ``WatchedModel`` with
    these options, on ``load_dataset(dataset, seed=0)``; the figure, drawn on an
    untracked ``Figure`` (safe in a widget callback), holds the loss and accuracy
    per epoch and the per-layer gradient norms and update ratios.

    Returns
    -------
    history : backprop_core.History
    health : workbook.diagnostics.Health
    """
    from IPython.display import display
    from matplotlib.figure import Figure

    X, y = load_dataset(dataset, seed=0)
    model = WatchedModel((l1, l2), lr=lr, activation=activation, optimizer=optimizer,
                         loss=loss, init=init, seed=0)
    history, health = diagnostics_train(model, X, y, epochs, batch_size=batch_size)
    fig = Figure(figsize=(15, 3.2), layout="constrained")
    axes = fig.subplots(1, 4)
    plot_history(history, axes=axes[:2])
    plot_health(health, axes=axes[2:])
    display(fig)
    return history, health
