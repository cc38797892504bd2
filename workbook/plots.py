"""Figures shared by the notebooks: data, decision boundaries, curves, the network.

Every function draws on the axes it is given; given none, it opens a pyplot
figure. Widget callbacks always pass their own axes (see ``widgets``).
"""

import numpy as np

import backprop_core as bc
from workbook.stepper import fmt, name_of

#: class -> colour, the same in every figure of the workbook.
CLASS_COLORS = {0: "tab:red", 1: "tab:blue"}


def _axes(ax, figsize=(4, 4)):
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(X, y, ax=None, title="Data"):
    """Scatter the points of (X, y), coloured by class; returns the axes."""
    X, y = bc._check_X(X, y=np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y)   # y: (n,) too
    ax = _axes(ax)
    y = np.asarray(y).ravel()
    for label, color in CLASS_COLORS.items():
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], c=color, s=25, edgecolors="k",
                   linewidths=0.4, label=f"class {label}")
    ax.set(xlabel="$x_0$", ylabel="$x_1$", title=title, aspect="equal",
           xlim=(-0.1, 1.1), ylim=(-0.1, 1.1))
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return ax


def show_result(X, y, pred_y):
    """The lab's figure: ground truth beside the prediction; returns the figure."""
    import matplotlib.pyplot as plt
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8, 4))
    plot_data(X, y, ax0, title="Ground truth")
    plot_data(X, pred_y, ax1, title="Predict result")
    fig.tight_layout()
    return fig


def plot_decision_boundary(model, X=None, y=None, ax=None, resolution=200, title=None):
    """Shade the model's output over the unit square and draw the 0.5 contour."""
    bc._check_model(model)
    if not (bc._is_int(resolution) and 2 <= resolution <= 2000):
        raise ValueError(f"resolution must be an integer from 2 to 2000, points per side of the "
                         f"grid, got {resolution!r:.60}. Pass e.g. resolution=200.")
    if (X is None) != (y is None):
        raise ValueError("pass X and y together (the data to draw), or neither.")
    ax = _axes(ax)
    grid = np.linspace(-0.1, 1.1, resolution)
    xx0, xx1 = np.meshgrid(grid, grid)
    with np.errstate(all="ignore"):
        y_hat = model._forward(np.c_[xx0.ravel(), xx1.ravel()])[3].reshape(xx0.shape)
    image = ax.contourf(xx0, xx1, y_hat, levels=np.linspace(0, 1, 11), cmap="RdBu",
                        alpha=0.35, extend="both")
    if np.ptp(y_hat) > 0:
        ax.contour(xx0, xx1, y_hat, levels=[0.5], colors="k", linewidths=1.2)
    if X is not None:
        plot_data(X, y, ax, title=title or "Decision boundary")
    else:
        ax.set(xlabel="$x_0$", ylabel="$x_1$", aspect="equal", title=title or "Output")
    return image


def _plain_log_ticks(ax):
    """Label a log y axis 0.145 rather than 1.45×10⁻¹ between the powers of ten.

    Over less than a decade matplotlib labels ticks that are not powers of ten
    in scientific notation; those labels become plain numbers, and the powers of
    ten keep their 10ⁿ form.
    """
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainBetweenDecades(LogFormatterSciNotation):
        def __call__(self, x, pos=None):
            label = super().__call__(x, pos)
            exponent = np.log10(x) if x > 0 else 0.0
            if label and not np.isclose(exponent, round(exponent)):
                return f"{x:.3g}"
            return label

    ax.yaxis.set_major_formatter(PlainBetweenDecades())
    ax.yaxis.set_minor_formatter(PlainBetweenDecades(labelOnlyBase=False))


def plot_history(history, axes=None, label=None):
    """Loss and accuracy curves of a ``History``, on two axes; returns the axes."""
    import matplotlib.pyplot as plt
    if not isinstance(history, bc.History):
        raise TypeError(f"history must be a backprop_core.History, got "
                        f"{type(history).__name__}. Pass what train returns.")
    if axes is not None and len(axes) < 2:
        raise ValueError(f"axes must be two matplotlib Axes (loss, accuracy), got {len(axes)}. "
                         "Pass e.g. axes=fig.subplots(1, 2).")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, history.epochs + 1)
    axes[0].plot(epochs, history.loss, label=label)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Training loss", yscale="log")
    _plain_log_ticks(axes[0])
    axes[1].plot(epochs, history.accuracy, label=label)
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="Training accuracy",
                ylim=(-0.02, 1.02))
    if history.diverged_at is not None:
        for ax in axes:
            ax.axvline(history.diverged_at, color="k", ls="--", lw=1)
    if label is not None:
        axes[1].legend(fontsize=8)
    return axes


def plot_curves(rows, title, metric="loss", styles=None, axes=None):
    """One panel per data set: each label's curve of ``metric`` per epoch, for the first seed.

    Parameters
    ----------
    rows : list of dict
        From ``experiments.compare``: rows with a "label" and a "history".
    title : str
        Ends each panel's title, after the data set's name.
    metric : {"loss", "accuracy", "mae"}
    styles : dict, optional
        Label -> keyword arguments of ``Axes.plot``, e.g. ``{"adam": {"ls": "--"}}``.
    axes : sequence of Axes, optional
        One per data set; by default a new figure.

    Returns
    -------
    sequence of Axes
    """
    if metric not in ("loss", "accuracy", "mae"):
        raise ValueError(f"metric must be one of ('loss', 'accuracy', 'mae'), got "
                         f"{metric!r:.60}. Pass e.g. metric='loss'.")
    if not (isinstance(rows, (list, tuple)) and rows and all(
            isinstance(r, dict) and {"dataset", "seed", "label", "history"} <= set(r)
            for r in rows)):
        raise ValueError("rows must be a non-empty list of rows with a 'dataset', 'seed', "
                         f"'label' and 'history', got {type(rows).__name__} {rows!r:.60}. "
                         "Pass what experiments.compare returns.")
    datasets = list(dict.fromkeys(row["dataset"] for row in rows))
    if axes is None:
        import matplotlib.pyplot as plt
        _, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.3),
                               layout="constrained", squeeze=False)
        axes = axes[0]
    first_seed = min(row["seed"] for row in rows)
    for row in rows:
        if row["seed"] != first_seed:
            continue
        ax, history = axes[datasets.index(row["dataset"])], row["history"]
        ax.plot(np.arange(1, history.epochs + 1), getattr(history, metric), label=row["label"],
                **(styles or {}).get(row["label"], {}))
    for dataset, ax in zip(datasets, axes, strict=True):
        ax.set(title=f"{dataset}: {title}", xlabel="epoch", ylabel=f"training {metric}",
               yscale="log")
        ax.legend(fontsize=8)
    return axes


def draw_network(hidden_size, ax=None, max_drawn=10):
    """Draw the 2 -> l1 -> l2 -> 1 architecture (the lab's Figure 2).

    A layer of at most ``max_drawn`` units is drawn whole, a wider one as its
    first ``max_drawn`` units and a note of its width. The circles shrink with
    the number drawn, so that they never overlap.
    """
    if not (isinstance(hidden_size, (tuple, list)) and len(hidden_size) == 2
            and all(bc._is_int(h) and h >= 1 for h in hidden_size)):
        raise ValueError(f"hidden_size must be two positive integers (l1, l2), got "
                         f"{hidden_size!r:.60}. Pass e.g. hidden_size=(5, 10).")
    if not (bc._is_int(max_drawn) and 1 <= max_drawn <= 100):
        raise ValueError(f"max_drawn must be an integer from 1 to 100, got {max_drawn!r:.60}. "
                         "Pass e.g. max_drawn=10.")
    ax = _axes(ax, figsize=(7, 4))
    sizes = [2, *hidden_size, 1]
    names = ["input\n$X$ (n, 2)", f"hidden 1\n$a_1$ (n, {sizes[1]})",
             f"hidden 2\n$a_2$ (n, {sizes[2]})", "output\n$\\hat y$ (n, 1)"]
    ax.set(xlim=(-0.5, 3.5), ylim=(-1.8, 2.0))
    bbox = ax.get_window_extent()                               # the axes, in pixels
    points_per_unit = bbox.height * 72.0 / ax.figure.dpi / 3.8  # y-span of the axes: 3.8
    positions = []
    for i, size in enumerate(sizes):
        drawn = min(size, max_drawn)
        ys = np.linspace(-1, 1, drawn) if drawn > 1 else np.zeros(1)
        positions.append(ys)
        gap = 2.0 / (drawn - 1) * points_per_unit if drawn > 1 else np.inf   # in points
        diameter = min(16.0, 0.75 * gap)                        # a quarter of the gap free
        ax.scatter(np.full(drawn, i), ys, s=diameter ** 2, c="white", edgecolors="k",
                   zorder=3)
        if drawn < size:
            ax.text(i, -1.35, f"... {size} units", ha="center", fontsize=8)
        ax.text(i, 1.3, names[i], ha="center", va="bottom", fontsize=9)
    for i in range(3):
        for y0 in positions[i]:
            for y1 in positions[i + 1]:
                ax.plot([i, i + 1], [y0, y1], c="0.6", lw=0.5, zorder=1)
        ax.text(i + 0.5, -1.6, f"$W_{i + 1}$, $b_{i + 1}$", ha="center", fontsize=9)
    ax.axis("off")
    return ax


def plot_health(health, axes=None):
    r"""Per-layer training health: gradient norms and update-to-weight ratios over epochs.

    Left, for each weight matrix W, the epoch's mean gradient norm
    :math:`\|\partial L / \partial W\|`; right, the epoch's mean
    update-to-weight ratio :math:`\|\Delta W\| / \|W\|`, with CS231n's rule of
    thumb 1e-3 as a dashed line. Both on a log scale; a layer whose ratio
    stays far below the line barely learns, one far above it is thrown about.

    Parameters
    ----------
    health : workbook.diagnostics.Health
        From ``workbook.diagnostics.train``.
    axes : sequence of two matplotlib Axes, optional
        Where to draw; by default a new figure with two axes side by side.

    Returns
    -------
    sequence of two Axes

    Raises
    ------
    ValueError
        If ``health`` holds no values.
    """
    import matplotlib.pyplot as plt
    if not getattr(health, "grad_norm", None) or not getattr(health, "update_ratio", None):
        raise ValueError(f"health must be a workbook.diagnostics.Health with values, got "
                         f"{type(health).__name__}. Train with workbook.diagnostics.train("
                         "WatchedModel(...), X, y, epochs) to record it.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, norms in health.grad_norm.items():
        epochs = np.arange(1, len(norms) + 1)
        label = f"$W_{name[1:]}$"
        axes[0].plot(epochs, norms, label=label)
        axes[1].plot(epochs, health.update_ratio[name], label=label)
    axes[1].axhline(1e-3, color="k", ls="--", lw=1, label="1e-3")
    axes[0].set(xlabel="epoch", ylabel=r"mean $\|\partial L / \partial W\|$",
                title="Gradient norm per layer", yscale="log")
    axes[1].set(xlabel="epoch", ylabel=r"mean $\|\Delta W\| \,/\, \|W\|$",
                title="Update-to-weight ratio", yscale="log")
    for ax in axes:
        ax.legend(fontsize=8)
    return axes


def _stepper_nodes(trace):
    """Columns of the stepper's graph: (node name, its gradient's name, x, y) for every node."""
    l1, l2 = trace.hidden_size
    columns = [("x", 2), ("z1", l1), ("a1", l1), ("z2", l2), ("a2", l2), ("z3", 1), ("a3", 1),
               ("L", 1)]
    nodes = []
    for col, (array, size) in enumerate(columns):
        for j in range(size):
            index = () if array == "L" else (0, j)
            grad = None if array in ("x", "L") else name_of("d" + array, index)
            nodes.append((name_of(array, index), grad, col, (size - 1) / 2 - j))
    return nodes


def draw_stepper(trace, upto, axes=None):
    """Draw the stepper's record after its first ``upto`` steps: every number computed so far.

    Left, the graph of one sample: the inputs, every z and a, the loss, each node
    with its forward value (black) and the gradient of L with respect to it (red,
    once the backward pass reaches it). Right, the parameters W and b and their
    gradients dW and db. The number computed by step ``upto`` is highlighted in
    orange, the numbers its equation reads in yellow, and the equation, with the
    numbers substituted, is the title. Every number is a text artist whose gid is
    ``"value:<name>"`` (``"value:z2[1]"``, ``"value:dw2[0,1]"``), for the tests.

    Parameters
    ----------
    trace : workbook.stepper.Trace
    upto : int
        How many steps have been computed, 0 to ``len(trace.steps)``.
    axes : sequence of two Axes, optional
        The graph's and the parameters'; by default a new figure.

    Returns
    -------
    sequence of two Axes
    """
    from matplotlib.patches import FancyBboxPatch
    if not (isinstance(upto, (int, np.integer)) and 0 <= upto <= len(trace.steps)):
        raise ValueError(f"upto must be an integer from 0 to {len(trace.steps)}, got "
                         f"{upto!r}. Pass the number of steps computed so far.")
    if axes is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(13, 5.2))
        axes = fig.subplots(1, 2, width_ratios=[2.6, 1])
    ax, ax_p = axes
    known = trace.known(upto)
    known.update({f"x[{i}]": v for i, v in enumerate(trace.x)})
    current = trace.steps[upto - 1] if upto else None
    reads = set(current.reads) if current else set()
    hot = {current.name} if current else set()
    hot_nodes = {n.removeprefix("d") for n in reads | hot if not n.startswith(("dw", "db"))}
    hot_nodes = {n for n in hot_nodes if not n.startswith(("w", "b"))}

    def color(name):
        return "orange" if name in hot else "khaki" if name in reads else "none"

    nodes = _stepper_nodes(trace)
    where = {name: (x, y) for name, _, x, y in nodes}
    # edges: a_{k-1}[i] -> z_k[j] (a weight), z_k[j] -> a_k[j] (the sigmoid), a3 -> L
    edges = []
    for name, _, x, _y in nodes:
        if name.startswith("z"):
            edges += [(src, name) for src, _, xs, _ in nodes if xs == x - 1]
        elif name.startswith("a"):
            edges.append((name.replace("a", "z", 1), name))
    edges.append(("a3", "L"))
    for src, dst in edges:
        lit = src in hot_nodes and dst in hot_nodes
        (x0, y0), (x1, y1) = where[src], where[dst]
        ax.plot([x0 + 0.34, x1 - 0.34], [y0, y1], color="tab:orange" if lit else "0.75",
                lw=2.2 if lit else 0.7, zorder=1)
    for name, grad, x, y in nodes:
        on = name in hot_nodes
        ax.add_patch(FancyBboxPatch((x - 0.34, y - 0.36), 0.68, 0.72, boxstyle="round,pad=0.02",
                                    fc="lightyellow" if on else "white",
                                    ec="tab:orange" if on else "0.4", lw=1.6 if on else 0.8,
                                    zorder=2))
        ax.text(x, y + 0.2, name, ha="center", va="center", fontsize=8, weight="bold",
                zorder=3)
        value = known.get(name)
        text = ax.text(x, y, "·" if value is None else fmt(value), ha="center", va="center",
                       fontsize=8, zorder=3, bbox={"fc": color(name), "ec": "none", "pad": 1})
        text.set_gid(f"value:{name}")
        if grad is not None:
            value = known.get(grad)
            text = ax.text(x, y - 0.2, "" if value is None else f"∂ {fmt(value)}",
                           ha="center", va="center", fontsize=8, color="tab:red", zorder=3,
                           bbox={"fc": color(grad), "ec": "none", "pad": 1})
            text.set_gid(f"value:{grad}")
    rows = max(2, *trace.hidden_size)
    ax.text(0, -rows / 2 - 0.2, f"y = {fmt(trace.y)}", ha="center", fontsize=8,
            bbox={"fc": color("y"), "ec": "none", "pad": 1})
    ax.set(xlim=(-0.45, 7.45), ylim=(-rows / 2 - 0.45, rows / 2))
    ax.axis("off")
    title = (f"step {upto} of {len(trace.steps)} ({current.phase}): {current.equation}"
             if current else f"step 0 of {len(trace.steps)}: press forward")
    ax.set_title(title, fontsize=8.5, loc="left", wrap=True)

    # the parameters and their gradients, one table per layer
    ax_p.axis("off")
    lines = []
    for k in (1, 2, 3):
        w = trace.params[f"w{k}"]
        lines.append((f"W{k}, b{k}", None, None))
        for i in range(w.shape[0]):
            label = f"w3[{i}]" if k == 3 else f"w{k}[{i},:]"
            lines.append((label, [name_of(f"w{k}", (i, j)) for j in range(w.shape[1])],
                          [name_of(f"dw{k}", (i, j)) for j in range(w.shape[1])]))
        lines.append((f"b{k}", [name_of(f"b{k}", (0, j)) for j in range(w.shape[1])],
                      [name_of(f"db{k}", (0, j)) for j in range(w.shape[1])]))
    values = {name_of(f"{p}{k}", idx): trace.params[f"{p}{k}"][idx]
              for k in (1, 2, 3) for p in "wb"
              for idx in np.ndindex(trace.params[f"{p}{k}"].shape)}
    width = max(len(v) for _, v, _ in lines if v)
    size = 7.5 if width <= 3 else max(5.0, 7.5 * 3.5 / width)
    step_y = 1.0 / (len(lines) + 1)
    for r, (label, params, grads) in enumerate(lines):
        y = 1 - (r + 0.5) * step_y
        if params is None:
            ax_p.text(0, y, label + "   (value, then ∂L/∂ in red)", fontsize=8, weight="bold",
                      transform=ax_p.transAxes)
            continue
        ax_p.text(0, y, label.split("[")[0] if label.startswith("b") else label, fontsize=7.5,
                  transform=ax_p.transAxes, family="monospace")
        for j, (p, g) in enumerate(zip(params, grads, strict=True)):
            x = 0.22 + j * 0.78 / width
            text = ax_p.text(x, y, fmt(values[p]), fontsize=size, transform=ax_p.transAxes,
                             bbox={"fc": color(p), "ec": "none", "pad": 1})
            text.set_gid(f"value:{p}")
            gv = known.get(g)
            text = ax_p.text(x, y - 0.42 * step_y, "·" if gv is None else fmt(gv),
                             fontsize=size, color="tab:red", transform=ax_p.transAxes,
                             bbox={"fc": color(g), "ec": "none", "pad": 1})
            text.set_gid(f"value:{g}")
    return axes


def draw_graph(root, ax=None, show_grad=True):
    """Draw the computation graph of an autograd ``Value``, micrograd's ``draw_dot`` in matplotlib.

    Each node is a box with its label, its value and (in red) its gradient, with
    the operation that made it (``+``, ``*``, ``σ``, ...) in a circle on its left;
    the leaves (inputs, parameters, constants) are on the left and ``root`` on the
    right, each node one column right of its deepest operand. For small graphs:
    a neuron, a network with one or two units per layer.

    Parameters
    ----------
    root : workbook.autograd.Value
    ax : matplotlib Axes, optional
    show_grad : bool, default True

    Returns
    -------
    Axes
    """
    from matplotlib.patches import Circle, FancyBboxPatch
    order = root.graph()
    if len(order) > 120:
        raise ValueError(f"root's graph has {len(order)} nodes; draw_graph is for small graphs "
                         "(at most 120 nodes). Build a smaller one, e.g. one neuron.")
    depth, users = {}, {}
    for node in order:                          # children come first in topological order
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
        for child in node._prev:
            users.setdefault(id(child), []).append(node)
    for node in reversed(order):                # a leaf sits just left of its first user
        if not node._prev and id(node) in users:
            depth[id(node)] = min(depth[id(u)] for u in users[id(node)]) - 1
    columns = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    tall = max(len(nodes) for nodes in columns.values())
    ax = _axes(ax, figsize=(2.0 * (len(columns) + 1), 0.9 * tall + 1))
    where = {}
    for col in sorted(columns, reverse=True):   # right to left: rows follow the users' rows
        nodes = sorted(columns[col], key=lambda n: -np.mean(
            [where[id(u)][1] for u in users.get(id(n), []) if id(u) in where] or [0.0]))
        for r, node in enumerate(nodes):
            where[id(node)] = (2.0 * col, (len(nodes) - 1) / 2 - r)
    for node in order:
        x, y = where[id(node)]
        for child in node._prev:
            cx, cy = where[id(child)]
            ax.annotate("", xy=(x - 1.05, y), xytext=(cx + 0.62, cy),
                        arrowprops={"arrowstyle": "->", "color": "0.55", "lw": 0.8})
        ax.add_patch(FancyBboxPatch((x - 0.6, y - 0.32), 1.2, 0.64, boxstyle="round,pad=0.02",
                                    fc="white", ec="0.3", lw=0.8, zorder=2))
        label = node.label or ("const" if not node._prev else "")
        lines = [label, f"{node.data:.4g}"] if label else [f"{node.data:.4g}"]
        ax.text(x, y + (0.08 if show_grad else 0), "\n".join(lines), ha="center", va="center",
                fontsize=7.5, zorder=3, linespacing=1.1)
        if show_grad:
            ax.text(x, y - 0.2, f"grad {node.grad:.4g}", ha="center", va="center", fontsize=7.5,
                    color="tab:red", zorder=3)
        if node._op:
            ax.add_patch(Circle((x - 0.85, y), 0.2, fc="lightyellow", ec="0.3", lw=0.8,
                                zorder=2))
            ax.text(x - 0.85, y, node._op, ha="center", va="center", fontsize=7.5, zorder=3)
            ax.plot([x - 0.65, x - 0.6], [y, y], color="0.3", lw=0.8)
    xs = [p[0] for p in where.values()]
    ax.set(xlim=(min(xs) - 1.3, max(xs) + 0.8), ylim=(-tall / 2 - 0.1, tall / 2 + 0.1))
    ax.axis("off")
    return ax


def plot_units(model, axes, layer, resolution=40):
    """What each hidden unit computes: its activation over the input square, one small map each.

    Unit j of ``layer`` (1 or 2) gets the map of :math:`a_{layer}[j]` over
    :math:`[-0.1, 1.1]^2`, the square of the data, as TensorFlow Playground
    shows it. Sigmoid units are coloured on [0, 1] (red 0, blue 1, the class
    colours), tanh units on [-1, 1], relu and none units on their own range.
    Units beyond ``len(axes)`` are not drawn; unused axes are switched off.
    Axes that already show a unit map (an earlier call) get the new values in
    the same image, which is cheaper than clearing them and looks the same.

    Parameters
    ----------
    model : backprop_core.Model
    axes : sequence of Axes
        One per unit to draw.
    layer : {1, 2}
    resolution : int, default 40
        Grid points per side.

    Returns
    -------
    list of AxesImage
        One per unit drawn.
    """
    if layer not in (1, 2):
        raise ValueError(f"layer must be 1 or 2 (the hidden layers), got {layer!r}.")
    grid = np.linspace(-0.1, 1.1, resolution)
    xx0, xx1 = np.meshgrid(grid, grid)
    with np.errstate(all="ignore"):
        a = model._forward(np.c_[xx0.ravel(), xx1.ravel()])[layer - 1]   # (resolution^2, l)
    limits = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(model.activation)
    images = []
    for j, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if j >= a.shape[1]:
            for image in ax.images:
                image.remove()
            ax.set_title("")
            ax.axis("off")
            continue
        unit = a[:, j].reshape(xx0.shape)
        vmin, vmax = limits or (np.nanmin(unit), np.nanmax(unit) + 1e-12)
        if ax.images:                                   # drawn before: new values, same image
            image = ax.images[0]
            image.set_data(unit)
            image.set_clim(vmin, vmax)
        else:
            image = ax.imshow(unit, extent=(-0.1, 1.1, -0.1, 1.1), origin="lower",
                              cmap="RdBu", vmin=vmin, vmax=vmax, interpolation="nearest")
        images.append(image)
        ax.axis("on")
        ax.set_title(f"$a_{layer}[{j}]$", fontsize=7, pad=2)
    return images


def _remove_drawing(ax, rescale=False):
    """Take the lines, collections, texts and legend off ``ax``, keeping its ticks.

    ``rescale`` also puts back the default (linear) y scale, as on a fresh axes.
    """
    for artist in (*ax.lines, *ax.collections, *ax.texts):
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    if rescale and ax.get_yscale() != "linear":
        ax.set_yscale("linear")
    ax.relim()
    view = ax.viewLim.get_points()              # (2, 2): an autoscaled axis starts from a
    for i, autoscaled in enumerate((ax.get_autoscalex_on(), ax.get_autoscaley_on())):
        if autoscaled:                          # fresh axes' (0, 1), which it keeps if no
            view[:, i] = (0.0, 1.0)             # data is finite (a diverged run)
    ax.viewLim.set_points(view)
    ax.set_prop_cycle(None)                     # the next line takes the first colour again


def plot_session(session, axes, unit_axes=None, epochs=None):
    """The playground's figure of a ``workbook.playground.Session``.

    On ``axes`` (three): the decision boundary over the training data, then the
    loss and the accuracy per epoch, training and test. On ``unit_axes`` (two
    rows, one per hidden layer), every hidden unit's activation over the square
    (``plot_units``), as many units per layer as the row has axes.

    Axes that already show this figure (a widget redrawing it) are drawn again
    in place: what the last call drew is removed and the unit maps get new
    values. The pixels are those of a fresh figure (``tests/test_redraw.py``),
    and it is several times cheaper than ``ax.clear()``, which rebuilds every tick.

    Parameters
    ----------
    session : workbook.playground.Session
    axes : sequence of three Axes
    unit_axes : 2-D array of Axes, optional
    epochs : int, optional
        The x range of the curves: at least this many epochs.

    Returns
    -------
    sequence of Axes
        ``axes``.
    """
    model, history = session.model, session.history
    for ax in axes:
        _remove_drawing(ax, rescale=not history.epochs)
    plot_decision_boundary(model, session.X, session.y, ax=axes[0], resolution=100,
                           title=f"{session.config.dataset}, epoch {history.epochs}")
    if history.epochs:
        plot_history(history, axes=axes[1:], label="training")
    if session.n_test and session.test_epochs:
        axes[1].plot(session.test_epochs, session.test_loss, label="test")
        axes[2].plot(session.test_epochs, session.test_accuracy, label="test")
    axes[1].set(title="Loss", xlabel="epoch", ylabel="loss")
    axes[2].set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(-0.02, 1.02))
    for ax in axes[1:]:
        ax.set_xlim(0, max(epochs or 0, history.epochs) + 1)
        if history.epochs:
            ax.legend(fontsize=8)
    if history.diverged_at is not None:
        axes[0].text(0.5, 0.5, f"diverged at epoch {history.diverged_at}", ha="center",
                     transform=axes[0].transAxes, bbox={"facecolor": "white"})
    if unit_axes is not None:
        for layer, row in ((1, unit_axes[0]), (2, unit_axes[1])):
            plot_units(model, row, layer, resolution=30)
            width = model.hidden_size[layer - 1]
            shown = f"first {len(row)} of {width}" if width > len(row) else f"{width}"
            row[0].axis("on")
            row[0].set_ylabel(f"layer {layer}\n({shown})", fontsize=7)
        unit_axes[0][0].figure.suptitle(
            "each hidden unit's activation over the square (red low, blue high)", fontsize=8)
    return axes
