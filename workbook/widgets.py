"""Widgets of the notebooks: the shared sliders and the playground.

Callbacks draw on untracked ``matplotlib.figure.Figure`` objects and
``display`` them, never through pyplot: JupyterLab may run a callback on a
second kernel thread, where pyplot's own flush would race with the drawing.
"""

import math
import time
import warnings

import backprop_core as bc
from backprop_core import ACTIVATIONS, OUTPUT_ACTIVATIONS
from workbook.datasets import DATASETS, load_dataset
from workbook.diagnostics import WatchedModel
from workbook.diagnostics import train as diagnostics_train
from workbook.experiments import RunConfig, _prepare_run, _train_run
from workbook.playground import Session
from workbook.plots import (
    draw_stepper,
    plot_health,
    plot_history,
    plot_session,
)

UNITS_SHOWN = 8        # hidden units per layer drawn by the playground's unit maps

#: The playground's slider ceilings where numba cannot run. The numpy reference is
#: about 100x slower: at 128 x 128 units, batch 1 and 2000 epochs a run takes minutes;
#: at these ceilings (200 epochs of 100 points, 64 x 64 units) a few seconds.
NUMPY_LIMITS = {"epochs": 200, "l1": 64, "l2": 64}


def numpy_only(engine="auto"):
    """True if ``train(engine=engine)`` would run the numpy reference (no working numba)."""
    if engine == "numpy" or "numba" not in bc.ENGINES:
        return True
    from workbook.engine import problem
    return problem() is not None              # compiles the engine, once per process


def figure_png(fig):
    """``fig`` as PNG bytes, rendered once: what a widget callback sends.

    ``display(fig)`` crops the figure to its artists (``bbox_inches="tight"``),
    and to find them matplotlib renders it twice. The widgets' figures need no
    crop: they have fixed margins or a layout engine that fits the artists to the
    figure. Zlib level 1: the same pixels, about 10% more bytes than the default
    level, a third less time to encode.
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # savefig would first lay a figure with a layout engine out in a draw of its own
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    data = io.BytesIO()
    canvas.print_png(data, pil_kwargs={"compress_level": 1})   # one draw, layout included
    return data.getvalue()


def display_figure(fig):
    """``display(fig)`` without the crop, so rendered once (``figure_png``); the same text."""
    from IPython.display import display
    display({"image/png": figure_png(fig), "text/plain": repr(fig)}, raw=True)


# The same controls, with the same descriptions, in every notebook: the browser
# tests find the sliders by these descriptions.


def lr_slider(value=0.1, min_exp=-3, max_exp=0):
    """A ``FloatLogSlider`` for the learning rate, 10^min_exp .. 10^max_exp."""
    import ipywidgets as widgets
    if not (bc._is_int(min_exp) and bc._is_int(max_exp) and min_exp < max_exp):
        raise ValueError(f"min_exp and max_exp must be integers, min_exp < max_exp, got "
                         f"{min_exp!r:.20} and {max_exp!r:.20}. Pass e.g. min_exp=-3, max_exp=0.")
    low, high = 10.0 ** min_exp, 10.0 ** max_exp
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and low <= value <= high):
        raise ValueError(f"value must be a number in [{low:g}, {high:g}], got {value!r:.40}. "
                         "Pass e.g. value=0.1, or widen min_exp and max_exp.")
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.25,
                                  description="lr", continuous_update=False,
                                  readout_format=".3g")


def hidden_size_sliders(value=(5, 10), max_units=128):
    """Two ``IntSlider``s for the hidden widths, described "l1" and "l2"."""
    import ipywidgets as widgets
    if not (bc._is_int(max_units) and max_units >= 1 and isinstance(value, (tuple, list))
            and len(value) == 2 and all(bc._is_int(v) and 1 <= v <= max_units for v in value)):
        raise ValueError(f"value must be two integers in 1..{max_units!r:.20}, got "
                         f"{value!r:.40}. Pass e.g. value=(5, 10), max_units=128.")
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
    if callback is not None and not bc._takes(callback, 4):
        raise TypeError(f"callback must be None or a function f(model, X, y, history), got "
                        f"{type(callback).__name__} {callback!r:.40}. Pass a function.")
    config = RunConfig(dataset=dataset, hidden_size=hidden_size, lr=lr, momentum=momentum,
                       activation=activation, output_activation=output_activation,
                       optimizer=optimizer, loss=loss, init=init, epochs=epochs,
                       batch_size=batch_size, seed=seed)
    X, y, model, shuffle_seq = _prepare_run(config)
    hook = None if callback is None else (lambda epoch, history: callback(model, X, y, history))
    history = _train_run(config, X, y, model, shuffle_seq, engine, False, hook)
    return model, X, y, history


def playground(dataset="linear", lr=0.1, hidden_size=(5, 10), activation="sigmoid",
               output_activation="sigmoid", momentum=0.9, batch_size=1, epochs=20, seed=0,
               engine="auto", redraw_seconds=1.0, n_test=100, noise=0.0):
    """A small TensorFlow Playground: controls that retrain the network and redraw it.

    Each change of a control starts a new ``workbook.playground.Session`` with
    the controls' values and trains it for ``epochs`` epochs: the same network
    as ``playground_run``, plus a test set of ``n_test`` points and input noise.
    Three buttons act on the current session: *step* trains one more epoch on
    the current weights, *reset* goes back to the same initial weights (epoch
    0), *run* trains ``epochs`` more epochs, so that reset then run replays the
    run. While it trains, a progress bar and a label follow the epochs; the
    figure (decision boundary over the training data, training and test loss
    and accuracy) is drawn when training ends and, in runs longer than
    ``redraw_seconds``, every ``redraw_seconds`` on the way; below it, a map of
    every hidden unit's activation over the square, layer 1 and layer 2 (the
    first 8 units of each).

    Parameters
    ----------
    dataset, lr, hidden_size, activation, output_activation, momentum, batch_size, epochs, seed
        The controls' starting values; see ``playground_run``. The lab's settings for
        20 epochs: the loss falls and the accuracy rises all the way; with momentum 0.9
        and one point per update the loss turns up after about 30 epochs (notebook 05,
        item 4), a poor first picture.
    engine : {"auto", "numba", "numpy"}
        Passed to ``train``.
    redraw_seconds : float, default 1.0
        Least time between two drawings during training.
    n_test, noise
        The test set's size and the inputs' noise; see ``workbook.playground.Session``.

    Returns
    -------
    ipywidgets.VBox
        Controls, buttons, progress bar and output; display it. Its ``controls``
        attribute maps the names of ``playground_run``'s parameters (``l1``
        and ``l2`` for ``hidden_size``) to the widgets, ``buttons`` the names
        "step", "reset" and "run" to the buttons, ``out`` is the output and
        ``session()`` returns the current session.
    """
    import ipywidgets as widgets
    from IPython.display import Image, clear_output, display
    from matplotlib.figure import Figure

    bc._check_choice(engine, "engine", ("auto", *bc.ENGINES))
    for name, value, choices in (("dataset", dataset, DATASETS),
                                 ("activation", activation, tuple(ACTIVATIONS)),
                                 ("output_activation", output_activation, OUTPUT_ACTIVATIONS)):
        bc._check_choice(value, name, choices)
    for name, value, low, high in (("epochs", epochs, 10, 2000), ("batch_size", batch_size, 1, 100),
                                   ("seed", seed, 0, 20)):   # the sliders' ranges: never clamped
        if not (bc._is_int(value) and low <= value <= high):
            raise ValueError(f"{name} must be an integer from {low} to {high}, the range of its "
                             f"slider, got {value!r:.40}. Pass e.g. {name}={low}.")
    bc._check_real(momentum, "momentum", 0.0, 0.995, False, "momentum=0.9")    # slider: 0-0.99
    bc._check_real(redraw_seconds, "redraw_seconds", 0.0, math.inf, False, "redraw_seconds=1.0")
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
        "noise": widgets.FloatSlider(value=noise, min=0.0, max=0.5, step=0.05,
                                     description="noise", **sliders),
        "n_test": widgets.IntSlider(value=n_test, min=0, max=200, step=10,
                                    description="test", **sliders),
    }
    for name in ("l1", "l2", "lr"):
        controls[name].style.description_width = style["description_width"]
    if numpy_only(engine):                      # keep the slowest setting to a few seconds
        for name, most in NUMPY_LIMITS.items():
            controls[name].max = most
        warnings.warn("numba cannot run here, so the playground trains with the numpy "
                      "reference, about 100x slower: its sliders stop at "
                      f"{NUMPY_LIMITS['epochs']} epochs and {NUMPY_LIMITS['l1']} units per "
                      "layer, which train in a few seconds.", RuntimeWarning, stacklevel=2)
    columns = [["dataset", "seed", "noise", "n_test"],
               ["l1", "l2", "activation", "output_activation"],
               ["lr", "momentum", "batch_size", "epochs"]]
    box = widgets.HBox([widgets.VBox([controls[name] for name in column])
                        for column in columns], layout=widgets.Layout(flex_flow="row wrap"))
    progress = widgets.IntProgress(value=0, min=0, max=epochs, description="epoch",
                                   style=style)
    status = widgets.Label()
    buttons = {name: widgets.Button(description=name, tooltip=tip,
                                    layout=widgets.Layout(width="80px"))
               for name, tip in (("step", "one more epoch on the current weights"),
                                 ("reset", "back to the initial weights, epoch 0"),
                                 ("run", "train `epochs` more epochs"))}

    # Two figures, outside pyplot, with fixed margins: a redraw costs one render
    # and one PNG each (constrained layout or bbox_inches="tight" would double it).
    # They are kept and redrawn in place (plot_session), not cleared: clearing
    # 19 axes rebuilds every tick and took as long as rendering them.
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.15, top=0.9, wspace=0.4)
    units_fig = Figure(figsize=(11, 3.0))
    unit_axes = units_fig.subplots(2, UNITS_SHOWN)
    units_fig.subplots_adjust(left=0.06, right=0.99, bottom=0.02, top=0.9, wspace=0.08,
                              hspace=0.25)
    state = {}

    def png(figure):
        return Image(figure_png(figure), format="png")

    def draw(session, values):
        plot_session(session, axes=axes, unit_axes=unit_axes, epochs=values["epochs"])
        images = (png(fig), png(units_fig))   # render first: the output then changes at once
        clear_output(wait=True)
        print(f"data = {values['dataset']}, l1 = {values['l1']}, l2 = {values['l2']}, "
              f"activation = {values['activation']}, output = {values['output_activation']}, "
              f"lr = {values['lr']:.3g}, momentum = {values['momentum']:.2f}, "
              f"batch = {values['batch_size']}, epochs = {values['epochs']}, "
              f"seed = {values['seed']}, noise = {values['noise']:.2f}, "
              f"test = {values['n_test']}")
        display(*images)

    def report(session):
        history = session.history
        if history.diverged_at is not None:
            print(f"Training diverged at epoch {history.diverged_at}: the loss became "
                  f"{history.loss[-1]}, so training stopped there. Try a smaller lr, or "
                  "the sigmoid output, which keeps y_hat in (0, 1).")
        elif not history.epochs:
            print("epoch 0: the initial weights, before any training")
        else:
            test = (f"; test loss {session.test_loss[-1]:.4f}, accuracy "
                    f"{session.test_accuracy[-1]:.4f}" if session.n_test else "")
            print(f"epoch {history.epochs}: training loss {history.loss[-1]:.4f}, accuracy "
                  f"{history.accuracy[-1]:.4f}{test} ({history.engine} engine, "
                  f"{history.seconds:.2f} s)")

    def train(session, epochs, values):
        last_draw = [time.perf_counter()]
        target = session.epochs + epochs
        progress.max, progress.value = target, session.epochs
        start = time.perf_counter()

        def callback(session):
            progress.value = session.epochs
            status.value = (f"epoch {session.epochs} / {target}: loss "
                            f"{session.history.loss[-1]:.4f}, accuracy "
                            f"{session.history.accuracy[-1]:.3f}")
            if time.perf_counter() - last_draw[0] > redraw_seconds:
                draw(session, values)
                last_draw[0] = time.perf_counter()

        session.run(epochs, callback)
        session.history.seconds = time.perf_counter() - start
        draw(session, values)
        report(session)

    def show(**values):
        session = Session(values["dataset"], values["lr"], (values["l1"], values["l2"]),
                          values["activation"], values["output_activation"],
                          values["momentum"], values["batch_size"], values["seed"],
                          values["n_test"], values["noise"], engine)
        state.update(session=session, values=values)
        train(session, values["epochs"], values)

    def on_step(_button):
        with out:
            train(state["session"], 1, state["values"])

    def on_reset(_button):
        with out:
            session = state["session"].reset()
            progress.value = 0
            status.value = "epoch 0"
            draw(session, state["values"])
            report(session)

    def on_run(_button):
        with out:
            train(state["session"], state["values"]["epochs"], state["values"])

    out = widgets.interactive_output(show, controls)
    buttons["step"].on_click(on_step)
    buttons["reset"].on_click(on_reset)
    buttons["run"].on_click(on_run)
    ui = widgets.VBox([box, widgets.HBox([*buttons.values(), progress, status]), out])
    ui.controls, ui.buttons, ui.out = controls, buttons, out
    ui.session = lambda: state["session"]
    return ui


def explore(dataset="xor", activation="sigmoid", optimizer="momentum", loss="mse", init="normal",
            batch_size=10, lr=0.1, l1=5, l2=10, epochs=1000):
    """Train one watched network (seed 0) and display its curves and health panel.

    The numbers are ``workbook.diagnostics.train`` on a ``WatchedModel`` with
    these options, on ``load_dataset(dataset, seed=0)``; the figure, drawn on an
    untracked ``Figure`` (safe in a widget callback), holds the loss and accuracy
    per epoch and the per-layer gradient norms and update ratios. Most of the
    time of a call is the numpy training (``diagnostics.train`` measures every
    step) and the figure's constrained layout.

    Returns
    -------
    history : backprop_core.History
    health : workbook.diagnostics.Health
    """
    from matplotlib.figure import Figure

    X, y = load_dataset(dataset, seed=0)
    model = WatchedModel((l1, l2), lr=lr, activation=activation, optimizer=optimizer,
                         loss=loss, init=init, seed=0)
    history, health = diagnostics_train(model, X, y, epochs, batch_size=batch_size)
    fig = Figure(figsize=(15, 3.2), layout="constrained")
    axes = fig.subplots(1, 4)
    plot_history(history, axes=axes[:2])
    plot_health(health, axes=axes[2:])
    display_figure(fig)                         # display(fig), rendered once instead of twice
    return history, health


def backprop_stepper(model, x, y):
    """Step through one sample's forward and backward pass, one number per click.

    Three buttons: *forward* computes the next number of the forward pass (a z,
    an a, then the loss), *backward* the next gradient once the forward pass is
    complete, *reset* forgets them all. After each click the figure of
    ``workbook.plots.draw_stepper`` is redrawn (the new number highlighted, every
    number computed so far written on the graph) and the step's equation, with
    the numbers substituted, is printed below it.

    Parameters
    ----------
    model : backprop_core.Model
        The lab's network (sigmoid, squared error); a small one, e.g. (2, 3).
    x, y
        One sample: inputs of shape (2,) and its label.

    Returns
    -------
    ipywidgets.VBox
        Display it. Attributes: ``trace`` (the ``workbook.stepper.Trace`` it steps
        through), ``buttons`` (name -> Button), ``out`` and ``position()``, the
        number of steps computed.
    """
    import io

    import ipywidgets as widgets
    from IPython.display import Image, clear_output, display
    from matplotlib.figure import Figure

    from workbook.stepper import trace as make_trace

    record = make_trace(model, x, y)
    n_steps, n_forward = len(record.steps), record.n_forward
    buttons = {name: widgets.Button(description=name, layout=widgets.Layout(width="110px"))
               for name in ("forward", "backward", "reset")}
    out = widgets.Output()
    fig = Figure(figsize=(13, 5.2))
    axes = fig.subplots(1, 2, width_ratios=[2.6, 1])
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9, wspace=0.02)
    state = {"upto": 0}

    def draw():
        upto = state["upto"]
        buttons["forward"].disabled = upto >= n_forward
        buttons["backward"].disabled = not n_forward <= upto < n_steps
        for ax in axes:
            ax.clear()
        draw_stepper(record, upto, axes=axes)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=80)
        with out:
            clear_output(wait=True)
            display(Image(png.getvalue(), format="png"))
            if upto == 0:
                print(f"step 0 of {n_steps}: nothing computed yet; press forward")
            else:
                step = record.steps[upto - 1]
                print(f"step {upto} of {n_steps} ({step.phase}): {step.equation}")
            if upto == n_forward:
                print("forward pass complete: press backward")
            elif upto == n_steps:
                print("backward pass complete: every gradient of L is on the figure")

    def on_forward(_button):
        state["upto"] = min(state["upto"] + 1, n_forward)
        draw()

    def on_backward(_button):
        if state["upto"] >= n_forward:
            state["upto"] = min(state["upto"] + 1, n_steps)
        draw()

    def on_reset(_button):
        state["upto"] = 0
        draw()

    buttons["forward"].on_click(on_forward)
    buttons["backward"].on_click(on_backward)
    buttons["reset"].on_click(on_reset)
    draw()
    ui = widgets.VBox([widgets.HBox(list(buttons.values())), out])
    ui.trace, ui.buttons, ui.out = record, buttons, out
    ui.position = lambda: state["upto"]
    return ui
