"""Tests of normsafe_init.pylearn2.layers.family_from_params: the init
family a pylearn2 layer declares through its options (no pylearn2 needed)."""
from __future__ import absolute_import, division, print_function

import pytest

from normsafe_init.laws import Gaussian, Sparse, Uniform, Zero
from normsafe_init.pylearn2.layers import family_from_params
from helpers import assert_raises_msg


# -- family_from_params -------------------------------------------------------

@pytest.mark.parametrize('kwargs, expected', [
    ({'irange': 0.05}, Uniform(0.05)),
    ({'irange': 0.05, 'include_prob': 0.5}, Uniform(0.05, include_prob=0.5)),
    ({'istdev': 0.01}, Gaussian(0.01)),
    ({'istdev': 1}, Gaussian(1.0)),
    ({'sparse_init': 15}, Sparse(15, 1.0)),
    ({'sparse_init': 15, 'sparse_stdev': 0.1}, Sparse(15, 0.1)),
    ({'sparse_init': 15.0, 'sparse_stdev': 0.1}, Sparse(15, 0.1)),
    ({'irange': 0}, Zero()),
    ({'irange': 0.0, 'include_prob': 0.5}, Zero()),
    ({'istdev': 0}, Zero()),
    ({'sparse_init': 0}, Zero()),
    ({'sparse_init': 15, 'sparse_stdev': 0}, Zero()),
])
def test_family_from_params(kwargs, expected):
    family = family_from_params(**kwargs)
    assert type(family) is type(expected)
    assert family == expected


@pytest.mark.parametrize('kwargs, exc_type, message', [
    ({}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got none'),
    ({'sparse_stdev': 0.1}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got none'),
    ({'irange': 0.05, 'istdev': 0.01}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got irange, '
     'istdev'),
    ({'istdev': 0.01, 'sparse_init': 15}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got istdev, '
     'sparse_init'),
    ({'irange': 0, 'istdev': 0, 'sparse_init': 0}, ValueError,
     'exactly one of irange, istdev, sparse_init must be set; got irange, '
     'istdev, sparse_init'),
    ({'irange': -0.05}, ValueError, 'irange must be >= 0; got -0.05'),
    ({'istdev': float('inf')}, ValueError, 'istdev must be finite; got inf'),
    ({'istdev': 'abc'}, TypeError,
     "istdev must be a real number; got 'abc' (type str)"),
    ({'sparse_init': -1}, ValueError,
     'sparse_init must be an integer >= 0; got -1'),
    ({'sparse_init': 2.5}, ValueError,
     'sparse_init must be an integer >= 0; got 2.5'),
    ({'sparse_init': 3, 'sparse_stdev': -1.0}, ValueError,
     'sparse_stdev must be >= 0; got -1.0'),
    ({'irange': 0.05, 'include_prob': 0}, ValueError,
     'include_prob must be in (0, 1]; got 0.0'),
])
def test_family_from_params_errors(kwargs, exc_type, message):
    assert_raises_msg(exc_type, message, family_from_params, **kwargs)
