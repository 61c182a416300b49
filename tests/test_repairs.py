"""Tests of normsafe_init.repairs: rescale, clip and reinit, and their
plan / apply split."""
from __future__ import absolute_import, division, print_function

import math
import warnings

import numpy as np
import pytest

from normsafe_init.laws import Gaussian, Sparse, Uniform, Zero
from normsafe_init.norms import vector_norms, vector_shape
from helpers import LAYOUT_AXES
from normsafe_init.repairs import (EPSILON, apply_factors, clip, plan_clip,
                                   plan_rescale, reinit, rescale)
from helpers import assert_raises_msg


class strict(object):
    """Floating-point errors and warnings become exceptions."""

    def __enter__(self):
        self._err = np.seterr(all='raise')
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter('error')
        return self

    def __exit__(self, *exc):
        self._warn.__exit__(*exc)
        np.seterr(**self._err)
        return False


LAYOUT_SHAPES = {
    'col': (300, 40),
    'row': (40, 300),
    'bc01': (24, 8, 3, 3),
    'c01b': (8, 3, 3, 24),
    'local_c01b': (3, 3, 4, 3, 3, 2, 3),
}
LAYOUTS = sorted(LAYOUT_AXES)


def expand(per_vector, shape, axes):
    """Broadcast a per-vector array back to the weight shape."""
    s = list(shape)
    for a in axes:
        s[a] = 1
    return np.broadcast_to(np.asarray(per_vector).reshape(s), shape)


def make_weight(layout, dtype='float32', seed=0, scale=0.2):
    shape = LAYOUT_SHAPES[layout]
    W = (np.random.RandomState(seed).randn(*shape) * scale).astype(dtype)
    return W, LAYOUT_AXES[layout]


# -- rescale ------------------------------------------------------------------

@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dtype, rtol', [('float32', 1e-6),
                                         ('float64', 1e-13)])
@pytest.mark.parametrize('target', [0.05, 0.9, 100.0])
def test_rescale_sets_max_to_target(layout, dtype, rtol, target):
    W, axes = make_weight(layout, dtype)
    before = vector_norms(W, axes)
    original = W.copy()
    buffer_address = W.__array_interface__['data'][0]
    with strict():
        factor = rescale(W, axes, target, name='h0_W')
    after = vector_norms(W, axes)
    assert factor == pytest.approx(target / before.max(), rel=1e-15)
    assert after.max() == pytest.approx(target, rel=rtol)
    # the relative spread and every direction are kept
    np.testing.assert_allclose(after / after.max(), before / before.max(),
                               rtol=rtol * 3)
    # every entry is multiplied by the one factor (the product may be formed
    # in float32 for float32 weights: a few float32 ulps)
    np.testing.assert_allclose(W, original.astype(np.float64) * factor,
                               rtol=3e-7 if dtype == 'float32' else 1e-15,
                               atol=0)
    assert W.dtype == np.dtype(dtype) and W.shape == original.shape
    assert W.__array_interface__['data'][0] == buffer_address


def test_rescale_upward_and_mask():
    W = np.array([[3.0, 0.0], [4.0, 1.0]])
    factor = rescale(W, 0, 10.0)
    assert factor == 2.0
    np.testing.assert_array_equal(W, [[6.0, 0.0], [8.0, 2.0]])
    # with a mask, only the measured norms change; every entry is scaled
    W = np.array([[3.0, 100.0], [4.0, 1.0]])
    mask = np.array([[1, 0], [1, 1]])
    factor = rescale(W, 0, 1.0, mask=mask)
    assert factor == pytest.approx(0.2, rel=1e-15)
    np.testing.assert_allclose(W, [[0.6, 20.0], [0.8, 0.2]], rtol=1e-15)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_rescale_all_zero_is_a_no_op(layout):
    W = np.zeros(LAYOUT_SHAPES[layout], dtype=np.float32)
    with strict():
        factor = rescale(W, LAYOUT_AXES[layout], 1.0)
    assert factor == 1.0
    assert not np.any(W)


def test_plan_rescale():
    assert plan_rescale(np.array([0.5, 2.0]), 1.0) == 0.5
    assert plan_rescale(np.array([0.5, 0.25]), 1.0) == 2.0
    with strict():
        assert plan_rescale(np.zeros(4), 1.0) == 1.0
        assert plan_rescale(np.array([]), 1.0) == 1.0
    assert_raises_msg(ValueError, 'target must be > 0; got 0.0',
                      plan_rescale, np.ones(3), 0)
    assert_raises_msg(ValueError, 'target must be > 0; got -1.0',
                      plan_rescale, np.ones(3), -1)
    assert_raises_msg(ValueError, 'target must be a real number, not NaN',
                      plan_rescale, np.ones(3), float('nan'))


# -- clip ---------------------------------------------------------------------

@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dtype, rtol', [('float32', 1e-6),
                                         ('float64', 1e-13)])
def test_clip_projects_only_vectors_above(layout, dtype, rtol):
    W, axes = make_weight(layout, dtype, seed=1)
    before = vector_norms(W, axes)
    target = float(np.median(before))
    above = before > target
    assert 0 < above.sum() < above.size
    original = W.copy()
    with strict():
        factors = clip(W, axes, target, name='h1_W')
    after = vector_norms(W, axes)
    assert factors.shape == before.shape and factors.dtype == np.float64
    np.testing.assert_array_equal(factors[~above], 1.0)
    np.testing.assert_allclose(factors[above], target / before[above],
                               rtol=1e-15)
    np.testing.assert_allclose(after[above], target, rtol=rtol)
    # the others are bit-identical
    untouched = expand(~above, W.shape, axes)
    assert W[untouched].tobytes() == original[untouched].tobytes()
    np.testing.assert_array_equal(after[~above], before[~above])
    # directions are kept
    clipped = expand(above, W.shape, axes)
    ratio = (W[clipped].astype(np.float64)
             / original[clipped].astype(np.float64))
    np.testing.assert_allclose(
        ratio, expand(factors, W.shape, axes)[clipped], rtol=rtol)
    assert W.dtype == np.dtype(dtype)


def test_clip_bytes_identical_for_vectors_within_range():
    W = np.array([[0.6, 3.0, 0.0, -0.0],
                  [0.7, 4.0, 0.0, 1e-40]], dtype=np.float32)
    original = W.copy()
    with strict():
        factors = clip(W, 0, 1.0)
    np.testing.assert_array_equal(factors, [1.0, 0.2, 1.0, 1.0])
    for j in (0, 2, 3):
        assert W[:, j].tobytes() == original[:, j].tobytes()
    np.testing.assert_allclose(W[:, 1], [0.6, 0.8], rtol=1e-7)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_clip_zero_vectors_never_divided(layout):
    W, axes = make_weight(layout, 'float32', seed=2, scale=1.0)
    # zero every other vector
    n, m = vector_shape(W.shape, axes)
    keep = np.arange(m).reshape(vector_norms(W, axes).shape) % 2 == 0
    W *= expand(keep, W.shape, axes)
    with strict():
        factors = clip(W, axes, 0.5)
        after = vector_norms(W, axes)
    assert np.all(np.isfinite(W))
    np.testing.assert_array_equal(factors[~keep], 1.0)
    assert np.all(after[~keep] == 0)
    np.testing.assert_allclose(after[keep], 0.5, rtol=1e-6)
    W0 = np.zeros_like(W)
    with strict():
        np.testing.assert_array_equal(clip(W0, axes, 0.5), 1.0)
    assert not np.any(W0)


def test_plan_clip():
    norms = np.array([0.0, 0.5, 1.0, 1.0 + 1e-12, 2.0, 4.0])
    with strict():
        factors = plan_clip(norms, 1.0)
    assert factors.dtype == np.float64 and factors.shape == norms.shape
    np.testing.assert_array_equal(factors[:3], 1.0)
    np.testing.assert_allclose(factors[3:], [1 / (1 + 1e-12), 0.5, 0.25],
                               rtol=1e-15)
    # list input, 2-D shape kept
    np.testing.assert_array_equal(plan_clip([[3.0, 0.5]], 1.5),
                                  [[0.5, 1.0]])
    # the divisor is floored at EPSILON (pylearn2's T.maximum(1e-7, norms))
    assert EPSILON == 1e-7
    tiny = plan_clip(np.array([5e-8]), 1e-9)
    assert tiny[0] == pytest.approx(1e-9 / 1e-7, rel=1e-15)
    assert_raises_msg(ValueError, 'target must be > 0; got 0.0',
                      plan_clip, norms, 0.0)
    assert_raises_msg(ValueError, 'target must be finite; got inf',
                      plan_clip, norms, float('inf'))


# -- plan + apply == one call -------------------------------------------------

@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_plan_then_apply_equals_one_call(layout, dtype):
    W, axes = make_weight(layout, dtype, seed=3)
    target = 0.8 * float(vector_norms(W, axes).max())
    mask = np.random.RandomState(4).uniform(size=W.shape) < 0.8

    a, b = W.copy(), W.copy()
    factor = rescale(a, axes, target, mask=mask)
    planned = plan_rescale(vector_norms(b, axes, mask=mask), target)
    assert planned == factor
    assert apply_factors(b, axes, planned) is b
    assert a.tobytes() == b.tobytes()

    a, b = W.copy(), W.copy()
    factors = clip(a, axes, target, mask=mask)
    planned = plan_clip(vector_norms(b, axes, mask=mask), target)
    np.testing.assert_array_equal(planned, factors)
    assert apply_factors(b, axes, planned) is b
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize('axes', [0, -2, (0,), (-2,), [0], np.int64(0)])
def test_int_and_negative_axes(axes):
    """Every repair accepts the axes forms vector_norms accepts."""
    W = np.array([[0.6, 3.0, 0.0], [0.8, 4.0, 0.0]])
    a = W.copy()
    np.testing.assert_array_equal(clip(a, axes, 1.0), [1.0, 0.2, 1.0])
    np.testing.assert_allclose(a, [[0.6, 0.6, 0.0], [0.8, 0.8, 0.0]],
                               rtol=1e-15)
    b = W.copy()
    assert rescale(b, axes, 1.0) == 0.2
    c = W.copy()
    apply_factors(c, axes, np.array([1.0, 0.2, 1.0]))
    assert c.tobytes() == a.tobytes()


@pytest.mark.parametrize('axes', [0, -2, (-2,), np.int64(0)])
@pytest.mark.parametrize('family', [Sparse(1), Gaussian(1.0)], ids=repr)
def test_reinit_int_and_negative_axes(family, axes):
    W = np.zeros((2, 3))
    reinit(W, family, axes, np.random.RandomState(0))
    expected = family.draw((2, 3), (0,), np.random.RandomState(0))
    assert W.tobytes() == expected.tobytes()
    if isinstance(family, Sparse):
        assert np.all(np.count_nonzero(W, axis=0) == 1)


def test_apply_factors_scalar_and_per_vector():
    W = np.ones((3, 2), dtype=np.float32)
    original = W.copy()
    assert apply_factors(W, (0,), 1.0) is W
    assert W.tobytes() == original.tobytes()
    apply_factors(W, (0,), 0.5)
    np.testing.assert_array_equal(W, 0.5)
    apply_factors(W, (0,), np.array([2.0, 4.0]))
    np.testing.assert_array_equal(W, [[1.0, 2.0]] * 3)
    apply_factors(W, (1,), [1.0, 0.5, 2.0])
    np.testing.assert_array_equal(W, [[1.0, 2.0], [0.5, 1.0], [2.0, 4.0]])
    assert W.dtype == np.float32
    # conv layouts: one factor per kernel
    K = np.ones((4, 2, 3, 3))
    apply_factors(K, (1, 2, 3), np.arange(4.0))
    np.testing.assert_array_equal(vector_norms(K, (1, 2, 3)),
                                  np.arange(4.0) * math.sqrt(18))


# -- reinit -------------------------------------------------------------------

REINIT_FAMILIES = [Gaussian(0.05), Uniform(0.05),
                   Uniform(0.05, include_prob=0.5), Sparse(3, 0.05), Zero()]


@pytest.mark.parametrize('family', REINIT_FAMILIES, ids=repr)
@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_reinit_keeps_array_identity(family, layout, dtype):
    W, axes = make_weight(layout, dtype, seed=5)
    address = W.__array_interface__['data'][0]
    shape, strides = W.shape, W.strides
    out = reinit(W, family, axes, np.random.RandomState(0), name='h2_W')
    assert out is W
    assert W.__array_interface__['data'][0] == address
    assert W.shape == shape and W.strides == strides
    assert W.dtype == np.dtype(dtype)
    expected = family.draw(shape, axes, np.random.RandomState(0),
                           dtype=dtype)
    assert W.tobytes() == expected.tobytes()
    if isinstance(family, Sparse):
        assert np.all(np.count_nonzero(W, axis=axes) == 3)
    if isinstance(family, Zero):
        assert not np.any(W)


def test_reinit_follows_the_law():
    n, m = 400, 2000
    W = np.empty((n, m), dtype=np.float32)
    family = Gaussian(0.05)
    reinit(W, family, (0,), np.random.RandomState(1))
    norms = vector_norms(W, 0)
    # mean norm within 5 SE of the exact law; P(norm > median) ~ 1/2
    se = family.std(n) / math.sqrt(m)
    assert abs(norms.mean() - family.mean(n)) < 5 * se
    frac = np.mean(norms > family.ppf(0.5, n))
    assert abs(frac - 0.5) < 5 * math.sqrt(0.25 / m)
    # a solved scale then keeps every vector under the target, as promised
    t = family.max_ppf(0.999999, n, m)
    assert norms.max() <= t


def test_reinit_non_contiguous_view_and_mask():
    base = np.zeros((6, 8))
    view = base[:, ::2]           # non-contiguous
    mask = np.ones((6, 4))
    mask[0] = 0
    reinit(view, Sparse(2, 1.0), (0,), np.random.RandomState(0), mask=mask)
    assert np.all(np.count_nonzero(view, axis=0) == 2)
    assert not np.any(view[0])
    assert not np.any(base[:, 1::2])          # the other columns untouched


def test_reinit_does_not_touch_global_rng():
    np.random.seed(5)
    state = np.random.get_state()
    W = np.zeros((20, 5))
    reinit(W, Gaussian(1.0), (0,), np.random.RandomState(3))
    after = np.random.get_state()
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2] == after[2]


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize('repair', ['rescale', 'clip'])
@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_non_finite_weights_raise_and_leave_w_unchanged(repair, bad):
    W = np.full((4, 3), 2.0, dtype=np.float32)
    W[1, 2] = bad
    before = W.tobytes()
    func = rescale if repair == 'rescale' else clip
    assert_raises_msg(ValueError, 'h1_W contains NaN or Inf values (in 1 of 3 '
                                  'vectors); nothing was changed',
                      func, W, 0, 1.0, name='h1_W')
    assert W.tobytes() == before


@pytest.mark.parametrize('repair', ['rescale', 'clip', 'reinit'])
def test_read_only_and_bad_arrays(repair):
    def call(W, name='W'):
        if repair == 'reinit':
            return reinit(W, Gaussian(1.0), (0,), np.random.RandomState(0),
                          name=name)
        return (rescale if repair == 'rescale' else clip)(W, 0, 1.0,
                                                          name=name)

    W = np.full((4, 3), 2.0)
    W.setflags(write=False)
    assert_raises_msg(ValueError, 'h3_W is read-only; repairs work in place',
                      call, W, 'h3_W')
    assert np.all(W == 2.0)
    assert_raises_msg(TypeError, 'W must be a floating-point array; got '
                                 'dtype int64',
                      call, np.full((4, 3), 2, dtype=np.int64))
    assert_raises_msg(TypeError, 'W must be a floating-point array; got '
                                 'dtype int32',
                      call, np.full((4, 3), 2, dtype=np.int32))
    assert_raises_msg(TypeError, 'W must be a floating-point array; got '
                                 'dtype complex128',
                      call, np.ones((4, 3), dtype=complex))
    assert_raises_msg(TypeError, 'W must be a numpy array; got list',
                      call, [[1.0, 2.0]])


def test_reinit_rng_must_be_a_random_state():
    W = np.zeros((4, 3))
    assert_raises_msg(TypeError, 'rng must be a numpy.random.RandomState; '
                                 'got NoneType',
                      reinit, W, Gaussian(1.0), (0,), None)
    assert_raises_msg(TypeError, 'rng must be a numpy.random.RandomState; '
                                 'got int',
                      reinit, W, Gaussian(1.0), (0,), 0)
    assert not np.any(W)


def test_bad_target_leaves_w_unchanged():
    W = np.full((4, 3), 2.0)
    for func in (rescale, clip):
        assert_raises_msg(ValueError, 'target must be > 0; got 0.0',
                          func, W, 0, 0.0)
        assert np.all(W == 2.0)


def test_reinit_bad_mask_leaves_w_unchanged():
    W = np.full((4, 3), 2.0)
    assert_raises_msg(ValueError, 'mask must have the weight shape (4, 3); '
                                  'got (3, 4)',
                      reinit, W, Gaussian(1.0), (0,),
                      np.random.RandomState(0), mask=np.ones((3, 4)))
    assert np.all(W == 2.0)
    assert_raises_msg(ValueError, 'sparse_init (5) must not exceed the number '
                                  'of entries per vector (4)',
                      reinit, W, Sparse(5), (0,), np.random.RandomState(0))
    assert np.all(W == 2.0)
