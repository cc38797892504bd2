"""Activations: sigmoid's values and stability, and every derivative against central differences.

The oracle for a derivative is the central difference (f(x + h) - f(x - h)) / 2h of the
activation itself; each ``der_f`` takes f's OUTPUT, so it is called as ``der_f(f(x))``.
"""

import doctest
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import backprop_core as bc

H = 1e-5                                       # central-difference step
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
moderate_floats = st.floats(min_value=-50.0, max_value=50.0, allow_nan=False)


def central_difference(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


# -- sigmoid values ----------------------------------------------------------


def test_sigmoid_saturates_exactly():
    assert bc.sigmoid(-1000.0) == 0.0
    assert bc.sigmoid(1000.0) == 1.0
    assert bc.sigmoid(0.0) == 0.5


@pytest.mark.parametrize("x", [-1e308, 1e308, -1.7976931348623157e308, 1.7976931348623157e308,
                               -1000.0, 1000.0, -745.2, 709.8, -5e-324, 5e-324, -0.0, 0.0])
def test_sigmoid_no_warning_for_finite_floats(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = bc.sigmoid(x)
        s_array = bc.sigmoid(np.array([x, -x]))
    assert 0.0 <= s <= 1.0
    assert s_array[0] == s


def test_sigmoid_matches_the_listing_where_the_listing_is_safe():
    x = np.linspace(-30, 30, 601)
    listing = 1 / (1 + np.exp(-x))             # Listing 1
    np.testing.assert_allclose(bc.sigmoid(x), listing, rtol=1e-14, atol=0)


def test_sigmoid_keeps_shape_and_returns_a_scalar_for_a_scalar():
    x = np.arange(12.0).reshape(3, 4) - 6
    assert bc.sigmoid(x).shape == (3, 4)
    assert np.ndim(bc.sigmoid(0.3)) == 0
    np.testing.assert_array_equal(bc.sigmoid([[-1.0, 2.0]]), [[bc.sigmoid(-1.0), bc.sigmoid(2.0)]])


# -- der_sigmoid takes the output --------------------------------------------


@pytest.mark.parametrize("x", np.linspace(-8, 8, 17))
def test_der_sigmoid_of_output_is_the_slope(x):
    numeric = central_difference(bc.sigmoid, x)
    assert bc.der_sigmoid(bc.sigmoid(x)) == pytest.approx(numeric, rel=1e-8, abs=1e-10)


def test_der_sigmoid_of_input_is_not_the_slope():
    """The common mistake: der_sigmoid(x) is y (1 - y) at y = x, not sigma'(x)."""
    x = 2.0
    assert bc.der_sigmoid(x) == pytest.approx(x * (1 - x))
    assert bc.der_sigmoid(x) != pytest.approx(central_difference(bc.sigmoid, x), rel=1e-3)


# -- each activation's derivative ----------------------------------------------


def test_activation_table():
    assert set(bc.ACTIVATIONS) == {"sigmoid", "tanh", "relu", "none"}
    assert bc.ACTIVATIONS["sigmoid"] == (bc.sigmoid, bc.der_sigmoid)
    assert bc.ACTIVATIONS["tanh"] == (bc.tanh, bc.der_tanh)
    assert bc.ACTIVATIONS["relu"] == (bc.relu, bc.der_relu)
    assert bc.ACTIVATIONS["none"] == (bc.identity, bc.der_identity)


# points away from relu's kink at 0 (|x| >> H)
XS = np.concatenate([np.linspace(-4, -0.01, 40), np.linspace(0.01, 4, 40)])


@pytest.mark.parametrize("name", sorted(bc.ACTIVATIONS))
def test_derivative_against_central_differences(name):
    f, der_f = bc.ACTIVATIONS[name]
    numeric = central_difference(f, XS)
    analytic = der_f(f(XS))
    assert analytic.shape == XS.shape
    np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", sorted(bc.ACTIVATIONS))
def test_activation_values(name):
    expected = {"sigmoid": 1 / (1 + np.exp(-XS)), "tanh": np.tanh(XS),
                "relu": np.where(XS > 0, XS, 0.0), "none": XS}[name]
    np.testing.assert_allclose(bc.ACTIVATIONS[name][0](XS), expected, rtol=1e-14)


def test_relu_derivative_is_zero_at_the_kink_and_below():
    np.testing.assert_array_equal(bc.der_relu(bc.relu(np.array([-2.0, 0.0, 3.0]))),
                                  [0.0, 0.0, 1.0])


# -- properties ----------------------------------------------------------------


@given(finite_floats)
def test_sigmoid_in_unit_interval(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = bc.sigmoid(x)
    assert 0.0 <= s <= 1.0


@given(finite_floats)
def test_sigmoid_symmetry(x):
    assert bc.sigmoid(-x) == pytest.approx(1.0 - bc.sigmoid(x), abs=1e-15)


@given(finite_floats, finite_floats)
def test_sigmoid_monotone(x0, x1):
    lo, hi = min(x0, x1), max(x0, x1)
    assert bc.sigmoid(lo) <= bc.sigmoid(hi)


@given(moderate_floats)
def test_tanh_is_a_scaled_sigmoid(x):
    assert math.tanh(x) == pytest.approx(2 * bc.sigmoid(2 * x) - 1, abs=1e-15)
    assert bc.tanh(x) == pytest.approx(math.tanh(x), abs=1e-15)


@given(finite_floats)
def test_der_sigmoid_bounded(x):
    d = bc.der_sigmoid(bc.sigmoid(x))
    assert 0.0 <= d <= 0.25


# -- the docstring examples run as written ------------------------------------


def test_docstring_examples():
    result = doctest.testmod(bc, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
