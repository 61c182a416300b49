"""Tests of normsafe_init._validation: every check, with whole messages."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest

from normsafe_init._validation import (check_axes, check_choice,
                                       check_fraction, check_int,
                                       check_open_probability, check_positive,
                                       check_real)
from helpers import assert_raises_msg

NAN = float('nan')
INF = float('inf')


# -- check_real ---------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (0, 0.0), (3, 3.0), (-2.5, -2.5), (np.float32(0.5), 0.5),
    (np.int64(7), 7.0), (np.float64(1e-300), 1e-300), (INF, INF),
    (-INF, -INF),
])
def test_check_real_accepts_numbers(value, expected):
    result = check_real(value, 'x')
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize('value, message', [
    ('abc', "x must be a real number; got 'abc' (type str)"),
    (None, 'x must be a real number; got None (type NoneType)'),
    (True, 'x must be a real number; got True (type bool)'),
    (np.bool_(False), 'x must be a real number; got %r (type %s)'
     % (np.bool_(False), type(np.bool_(False)).__name__)),
    ([1.0], 'x must be a real number; got [1.0] (type list)'),
    (1j, 'x must be a real number; got 1j (type complex)'),
])
def test_check_real_type_errors(value, message):
    assert_raises_msg(TypeError, message, check_real, value, 'x')


def test_check_real_nan():
    assert_raises_msg(ValueError, 'x must be a real number, not NaN',
                      check_real, NAN, 'x')
    assert_raises_msg(ValueError, 'y must be a real number, not NaN',
                      check_real, np.float32('nan'), 'y')


# -- check_fraction -----------------------------------------------------------

@pytest.mark.parametrize('value', [1, 1.0, 0.5, 1e-300, np.float32(0.25)])
def test_check_fraction_accepts(value):
    assert check_fraction(value) == float(value)


@pytest.mark.parametrize('value, message', [
    (0, 'fraction must be in (0, 1]; got 0.0'),
    (0.0, 'fraction must be in (0, 1]; got 0.0'),
    (1.5, 'fraction must be in (0, 1]; got 1.5'),
    (-0.5, 'fraction must be in (0, 1]; got -0.5'),
    (1.0000001, 'fraction must be in (0, 1]; got 1.0000001'),
    (INF, 'fraction must be in (0, 1]; got inf'),
])
def test_check_fraction_range(value, message):
    assert_raises_msg(ValueError, message, check_fraction, value)


def test_check_fraction_nan_and_name():
    assert_raises_msg(ValueError, 'fraction must be a real number, not NaN',
                      check_fraction, NAN)
    assert_raises_msg(ValueError, 'include_prob must be in (0, 1]; got 2.0',
                      check_fraction, 2, 'include_prob')
    assert_raises_msg(TypeError,
                      "fraction must be a real number; got '0.5' (type str)",
                      check_fraction, '0.5')


# -- check_open_probability ---------------------------------------------------

@pytest.mark.parametrize('value', [0.5, 1e-300, 0.999999999, np.float64(0.99)])
def test_check_open_probability_accepts(value):
    assert check_open_probability(value) == float(value)


@pytest.mark.parametrize('value, message', [
    (1, 'confidence must be in (0, 1); got 1.0'),
    (1.0, 'confidence must be in (0, 1); got 1.0'),
    (0, 'confidence must be in (0, 1); got 0.0'),
    (-0.1, 'confidence must be in (0, 1); got -0.1'),
    (1.5, 'confidence must be in (0, 1); got 1.5'),
    (-INF, 'confidence must be in (0, 1); got -inf'),
])
def test_check_open_probability_range(value, message):
    assert_raises_msg(ValueError, message, check_open_probability, value)


def test_check_open_probability_other_errors():
    assert_raises_msg(ValueError, 'confidence must be a real number, not NaN',
                      check_open_probability, NAN)
    assert_raises_msg(TypeError,
                      "confidence must be a real number; got 'abc' (type str)",
                      check_open_probability, 'abc')
    assert_raises_msg(ValueError, 'p must be in (0, 1); got 1.0',
                      check_open_probability, 1.0, 'p')


# -- check_positive -----------------------------------------------------------

@pytest.mark.parametrize('value, allow_zero', [
    (1, False), (1e-300, False), (0.0, True), (5, True),
    (np.float32(2), False),
])
def test_check_positive_accepts(value, allow_zero):
    result = check_positive(value, 'limit', allow_zero=allow_zero)
    assert result == float(value)


@pytest.mark.parametrize('value, allow_zero, message', [
    (0, False, 'limit must be > 0; got 0.0'),
    (-1, False, 'limit must be > 0; got -1.0'),
    (-1, True, 'limit must be >= 0; got -1.0'),
    (-1e-300, True, 'limit must be >= 0; got -1e-300'),
    (INF, False, 'limit must be finite; got inf'),
    (INF, True, 'limit must be finite; got inf'),
    (-INF, False, 'limit must be finite; got -inf'),
])
def test_check_positive_errors(value, allow_zero, message):
    assert_raises_msg(ValueError, message, check_positive, value, 'limit',
                      allow_zero=allow_zero)


def test_check_positive_type_and_nan():
    assert_raises_msg(ValueError, 'limit must be a real number, not NaN',
                      check_positive, NAN, 'limit')
    assert_raises_msg(TypeError,
                      'limit must be a real number; got None (type NoneType)',
                      check_positive, None, 'limit')


# -- check_int ----------------------------------------------------------------

@pytest.mark.parametrize('value, minimum, expected', [
    (3, 1, 3), (3.0, 1, 3), (np.int32(5), 1, 5), (np.float64(8.0), 1, 8),
    (0, 0, 0), (1, 1, 1), (-3, -5, -3), (10 ** 12, 1, 10 ** 12),
])
def test_check_int_accepts(value, minimum, expected):
    result = check_int(value, 'n', minimum=minimum)
    assert result == expected
    assert isinstance(result, int)


@pytest.mark.parametrize('value, minimum, exc_type, message', [
    (0, 1, ValueError, 'n must be an integer >= 1; got 0'),
    (-1, 0, ValueError, 'n must be an integer >= 0; got -1'),
    (2.5, 1, ValueError, 'n must be an integer >= 1; got 2.5'),
    (0.0, 1, ValueError, 'n must be an integer >= 1; got 0'),
    (NAN, 1, ValueError, 'n must be an integer >= 1; got nan'),
    (INF, 1, ValueError, 'n must be an integer >= 1; got inf'),
    (True, 1, TypeError, 'n must be an integer >= 1; got True'),
    (np.bool_(True), 1, TypeError,
     'n must be an integer >= 1; got %r' % (np.bool_(True),)),
    ('3', 1, TypeError, "n must be an integer >= 1; got '3'"),
    (None, 1, TypeError, 'n must be an integer >= 1; got None'),
    ([3], 1, TypeError, 'n must be an integer >= 1; got [3]'),
])
def test_check_int_errors(value, minimum, exc_type, message):
    assert_raises_msg(exc_type, message, check_int, value, 'n',
                      minimum=minimum)


def test_check_int_default_minimum_is_one():
    assert_raises_msg(ValueError, 'reps must be an integer >= 1; got 0',
                      check_int, 0, 'reps')


# -- check_choice -------------------------------------------------------------

def test_check_choice():
    assert check_choice('max', 'mode', ('max', 'mean')) == 'max'
    assert check_choice('mean', 'mode', ('max', 'mean')) == 'mean'
    assert_raises_msg(ValueError,
                      "mode must be one of 'max', 'mean'; got 'median'",
                      check_choice, 'median', 'mode', ('max', 'mean'))
    assert_raises_msg(ValueError,
                      "mode must be one of 'max', 'mean'; got 'MAX'",
                      check_choice, 'MAX', 'mode', ('max', 'mean'))
    assert_raises_msg(ValueError,
                      "mode must be one of 'max', 'mean'; got None",
                      check_choice, None, 'mode', ('max', 'mean'))
    assert_raises_msg(ValueError, 'k must be one of 1, 2; got 3',
                      check_choice, 3, 'k', (1, 2))


# -- check_axes ---------------------------------------------------------------

@pytest.mark.parametrize('axes, ndim, expected', [
    (0, 2, (0,)),
    (-1, 2, (1,)),
    ((0,), 2, (0,)),
    ([1], 2, (1,)),
    ((3, 1, 2), 4, (1, 2, 3)),
    ((-3, -2, -1), 4, (1, 2, 3)),
    ((0, 1, 2), 4, (0, 1, 2)),
    ((2, 3, 4), 7, (2, 3, 4)),
    ((-5, 3, -3), 7, (2, 3, 4)),
    (np.array([2, 0]), 3, (0, 2)),
    (np.int64(1), 2, (1,)),
    ((0,), 1, (0,)),
])
def test_check_axes_resolves_and_sorts(axes, ndim, expected):
    result = check_axes(axes, ndim)
    assert result == expected
    assert all(type(a) is int for a in result)


@pytest.mark.parametrize('axes, ndim, exc_type, message', [
    ((), 2, ValueError, 'axes must name at least one axis; got ()'),
    ([], 2, ValueError, 'axes must name at least one axis; got ()'),
    ((2,), 2, ValueError,
     'axes (2,) is out of range for a 2-D weight (allowed: -2 to 1)'),
    (2, 2, ValueError,
     'axes (2,) is out of range for a 2-D weight (allowed: -2 to 1)'),
    ((0, -3), 2, ValueError,
     'axes (0, -3) is out of range for a 2-D weight (allowed: -2 to 1)'),
    ((1, 2, 3), 3, ValueError,
     'axes (1, 2, 3) is out of range for a 3-D weight (allowed: -3 to 2)'),
    ((0, -2), 2, ValueError, 'axes must not repeat an axis; got (0, -2)'),
    ((1, 1), 4, ValueError, 'axes must not repeat an axis; got (1, 1)'),
    (1.5, 2, TypeError,
     'axes must be an int or a sequence of ints; got 1.5'),
    (None, 2, TypeError,
     'axes must be an int or a sequence of ints; got None'),
    ((0, 1.0), 2, TypeError, 'axes must contain ints; got (0, 1.0)'),
    ((True,), 2, TypeError, 'axes must contain ints; got (True,)'),
    ('ab', 2, TypeError, "axes must contain ints; got ('a', 'b')"),
])
def test_check_axes_errors(axes, ndim, exc_type, message):
    assert_raises_msg(exc_type, message, check_axes, axes, ndim)


def test_check_axes_uses_name():
    assert_raises_msg(ValueError,
                      'layout axes must name at least one axis; got ()',
                      check_axes, (), 3, name='layout axes')
