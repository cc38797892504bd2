"""Data sets by name: the lab's two and a third, TensorFlow Playground's circle."""

import numpy as np

import backprop_core as bc


def generate_circle(n=100, seed=None):
    r"""A third set, after TensorFlow Playground: a disc in the middle of the square.

    Point i is labelled 1 when it lies inside the circle of radius
    :math:`r = 1/\sqrt{2\pi} \approx 0.399` around (0.5, 0.5), which holds half
    of the unit square's area, so the two classes are equally likely:

    .. math:: y_i = [\,(x_{i0} - 0.5)^2 + (x_{i1} - 0.5)^2 < r^2\,]

    No straight line separates the classes: the network must bend its boundary
    all the way round.

    Parameters
    ----------
    n : int, default 100
        Number of points, at least 1.
    seed : int, numpy.random.SeedSequence or None
        Seed for ``np.random.default_rng``; None draws fresh entropy.

    Returns
    -------
    X : ndarray of shape (n, 2)
        Points uniform in [0, 1)^2.
    y : ndarray of shape (n, 1)
        1.0 inside the circle, else 0.0.

    Examples
    --------
    >>> X, y = generate_circle(5, seed=0)
    >>> X.shape, y.shape
    ((5, 2), (5, 1))
    """
    n = bc._check_positive_int(n, "n", "generate_circle(n=100)", most=10**7)
    rng = np.random.default_rng(bc._check_seed(seed))
    X = rng.uniform(0.0, 1.0, size=(n, 2))                          # (n, 2)
    r2 = np.sum((X - 0.5) ** 2, axis=1)                              # (n,) squared radius
    y = (r2 < 1.0 / (2.0 * np.pi)).astype(float).reshape(n, 1)      # (n, 1)
    return X, y


DATASETS = ("linear", "xor", "circle")


def load_dataset(dataset, n=100, seed=None):
    """Return ``(X, y)`` for a data set by name: "linear" (n points), "xor" or "circle" (n points).

    ``n`` and ``seed`` apply to "linear" and "circle"; "xor" is fixed (but they are
    checked for every data set).
    """
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r:.60}. "
                         "Pass e.g. dataset='linear'.")
    bc._check_positive_int(n, "n", "n=100", most=10**7)
    bc._check_seed(seed)
    if dataset == "linear":
        return bc.generate_linear(n, seed=seed)
    if dataset == "xor":
        return bc.generate_xor_easy()
    return generate_circle(n, seed=seed)
