"""Figures shared by the notebooks: data, decision boundaries, curves, the network.

Every function draws on the axes it is given; given none, it opens a pyplot
figure. Widget callbacks always pass their own axes (see ``widgets``).
"""

import numpy as np

#: class -> colour, the same in every figure of the workbook.
CLASS_COLORS = {0: "tab:red", 1: "tab:blue"}


def _axes(ax, figsize=(4, 4)):
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_data(X, y, ax=None, title="Data"):
    """Scatter the points of (X, y), coloured by class; returns the axes."""
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


def plot_history(history, axes=None, label=None):
    """Loss and accuracy curves of a ``History``, on two axes; returns the axes."""
    import matplotlib.pyplot as plt
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, history.epochs + 1)
    axes[0].plot(epochs, history.loss, label=label)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Training loss", yscale="log")
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


def draw_network(hidden_size, ax=None, max_drawn=8):
    """Draw the 2 -> l1 -> l2 -> 1 architecture (the lab's Figure 2)."""
    ax = _axes(ax, figsize=(7, 4))
    sizes = [2, *hidden_size, 1]
    names = ["input\n$X$ (n, 2)", f"hidden 1\n$a_1$ (n, {sizes[1]})",
             f"hidden 2\n$a_2$ (n, {sizes[2]})", "output\n$\\hat y$ (n, 1)"]
    positions = []
    for i, size in enumerate(sizes):
        drawn = min(size, max_drawn)
        ys = np.linspace(-1, 1, drawn) if drawn > 1 else np.zeros(1)
        positions.append(ys)
        ax.scatter(np.full(drawn, i), ys, s=250, c="white", edgecolors="k", zorder=3)
        if drawn < size:
            ax.text(i, -1.35, f"... {size} units", ha="center", fontsize=8)
        ax.text(i, 1.3, names[i], ha="center", va="bottom", fontsize=9)
    for i in range(3):
        for y0 in positions[i]:
            for y1 in positions[i + 1]:
                ax.plot([i, i + 1], [y0, y1], c="0.6", lw=0.5, zorder=1)
        ax.text(i + 0.5, -1.6, f"$W_{i + 1}$, $b_{i + 1}$", ha="center", fontsize=9)
    ax.set(xlim=(-0.5, 3.5), ylim=(-1.8, 2.0))
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
