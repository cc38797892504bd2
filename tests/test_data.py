"""The lab's two data sets: "linear" and "XOR"."""

import numpy as np
import pytest

import backprop_core as bc
from workbook import datasets


def lab_xor_easy():
    """The lab's generator, written from its description, as the oracle."""
    inputs, labels = [], []
    for i in range(11):
        inputs.append([0.1 * i, 0.1 * i])
        labels.append(0)
        if i == 5:
            continue
        inputs.append([0.1 * i, 1 - 0.1 * i])
        labels.append(1)
    return np.array(inputs), np.array(labels).reshape(21, 1)


@pytest.fixture
def global_rng_state():
    """Fails the test if it touched the global numpy RNG."""
    before = np.random.get_state()  # noqa: NPY002
    yield
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


# -- generate_linear -----------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 100, 1000])
def test_linear_shapes_dtypes_range(n):
    X, y = bc.generate_linear(n, seed=3)
    assert X.shape == (n, 2) and y.shape == (n, 1)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert np.all((X >= 0.0) & (X < 1.0))


def test_linear_labels_rule():
    X, y = bc.generate_linear(500, seed=1)
    expected = np.where(X[:, 0] > X[:, 1], 0.0, 1.0).reshape(-1, 1)
    np.testing.assert_array_equal(y, expected)
    assert 0 < y.sum() < 500                   # both classes present


def test_linear_default_n():
    X, y = bc.generate_linear(seed=0)
    assert X.shape == (100, 2) and y.shape == (100, 1)


def test_linear_deterministic_with_seed():
    X0, y0 = bc.generate_linear(50, seed=42)
    X1, y1 = bc.generate_linear(50, seed=42)
    X2, _ = bc.generate_linear(50, seed=43)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)
    assert not np.array_equal(X0, X2)


def test_linear_seeds_through_default_rng():
    X, _ = bc.generate_linear(20, seed=7)
    expected = np.random.default_rng(7).uniform(0.0, 1.0, size=(20, 2))
    np.testing.assert_array_equal(X, expected)


def test_linear_without_seed_draws_fresh_points():
    X0, _ = bc.generate_linear(20)
    X1, _ = bc.generate_linear(20)
    assert not np.array_equal(X0, X1)


@pytest.mark.usefixtures("global_rng_state")
@pytest.mark.parametrize("seed", [None, 0, 123])
def test_linear_leaves_global_rng_alone(seed):
    bc.generate_linear(100, seed=seed)


def test_linear_unaffected_by_global_seed():
    state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(0)  # noqa: NPY002
        X0, _ = bc.generate_linear(10, seed=5)
        np.random.seed(1)  # noqa: NPY002
        X1, _ = bc.generate_linear(10, seed=5)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    np.testing.assert_array_equal(X0, X1)


# -- generate_xor_easy ---------------------------------------------------------


def test_xor_equals_the_lab_generator():
    X, y = bc.generate_xor_easy()
    X_lab, y_lab = lab_xor_easy()
    assert X.shape == (21, 2) and y.shape == (21, 1)
    assert X.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(X, X_lab)
    np.testing.assert_array_equal(y, y_lab)


def test_xor_structure():
    X, y = bc.generate_xor_easy()
    centre = np.all(X == [0.5, 0.5], axis=1)
    assert centre.sum() == 1                   # the centre point once
    assert y[centre, 0] == 0
    on_main = np.isclose(X[:, 0], X[:, 1])
    np.testing.assert_array_equal(y[:, 0], np.where(on_main, 0.0, 1.0))
    assert int((y == 0).sum()) == 11 and int((y == 1).sum()) == 10
    # interleaved: labels alternate 0, 1, 0, 1, ... except around the centre
    assert list(y[:4, 0]) == [0, 1, 0, 1]


@pytest.mark.usefixtures("global_rng_state")
def test_xor_is_fixed():
    X0, y0 = bc.generate_xor_easy()
    X1, y1 = bc.generate_xor_easy()
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)


# -- load_dataset --------------------------------------------------------------


def test_load_dataset_linear():
    X, y = datasets.load_dataset("linear", n=30, seed=9)
    X_ref, y_ref = bc.generate_linear(30, seed=9)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_load_dataset_linear_default_n():
    X, _ = datasets.load_dataset("linear", seed=0)
    assert X.shape == (100, 2)


def test_load_dataset_xor_ignores_n_and_seed():
    X, y = datasets.load_dataset("xor", n=5, seed=1)
    X_lab, y_lab = lab_xor_easy()
    np.testing.assert_array_equal(X, X_lab)
    np.testing.assert_array_equal(y, y_lab)
