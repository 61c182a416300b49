"""Tests of normsafe_init.norms: vector norms over every pylearn2 layout,
thresholds with the float32 projection tolerance, and summaries."""
from __future__ import absolute_import, division, print_function

import math
import warnings

import numpy as np
import pytest

from normsafe_init import norms as norms_module
from normsafe_init.norms import (DEFAULT_RTOL, PINNED_RTOL, NormSummary,
                                 count_above, count_pinned, summarize,
                                 vector_norms, vector_shape)
from helpers import LAYOUT_AXES, assert_raises_msg


def reference_norms(W, axes, mask=None):
    """float64 reference: exact (fsum) sum of squares of each vector."""
    W = np.asarray(W, dtype=np.float64)
    if mask is not None:
        W = W * mask
    kept = [a for a in range(W.ndim) if a not in axes]
    moved = np.transpose(W, kept + list(axes))
    out_shape = [W.shape[a] for a in kept]
    n = int(np.prod([W.shape[a] for a in axes]))
    rows = moved.reshape(-1, n)
    out = np.array([math.sqrt(math.fsum(r * r)) for r in rows])
    return out.reshape(out_shape)


# Realistic pylearn2 weight shapes for every layout in LAYOUT_AXES.
LAYOUT_SHAPES = {
    'col': (784, 240),                 # dense (in, out), max_col_norm
    'row': (784, 240),                 # dense (in, out), max_row_norm
    'bc01': (32, 16, 5, 5),            # ConvElemwise (out, in, rows, cols)
    'c01b': (16, 5, 5, 32),            # MaxoutConvC01B (in, rows, cols, out)
    'local_c01b': (4, 4, 3, 3, 3, 2, 4),   # MaxoutLocalC01B 7-D filters
}


def test_layout_table_is_covered():
    assert set(LAYOUT_SHAPES) == set(LAYOUT_AXES)
    assert LAYOUT_AXES == {'col': (0,), 'row': (1,), 'bc01': (1, 2, 3),
                           'c01b': (0, 1, 2), 'local_c01b': (2, 3, 4)}


@pytest.mark.parametrize('shape, axes, n, m', [
    ((46208, 1024), (0,), 46208, 1024),
    ((784, 240), (1,), 240, 784),
    ((96, 48, 5, 5), (1, 2, 3), 1200, 96),
    ((48, 5, 5, 96), (0, 1, 2), 1200, 96),
    ((4, 4, 3, 3, 3, 2, 4), (2, 3, 4), 27, 128),
    ((10, 1), (0,), 10, 1),
    ((1, 10), (0,), 1, 10),
    ((5, 7), (-1,), 7, 5),
    ((5, 7), (0, 1), 35, 1),
])
def test_vector_shape(shape, axes, n, m):
    assert vector_shape(shape, axes) == (n, m)


def test_vector_shape_bad_axes():
    assert_raises_msg(ValueError,
                      'axes (2,) is out of range for a 2-D weight '
                      '(allowed: -2 to 1)', vector_shape, (3, 4), (2,))


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_vector_norms_layouts_match_reference(layout, dtype):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    rng = np.random.RandomState(1)
    W = (rng.randn(*shape) * 0.05).astype(dtype)
    before = W.tobytes()
    got = vector_norms(W, axes)
    assert got.dtype == np.float64
    expected_shape = tuple(s for i, s in enumerate(shape) if i not in axes)
    assert got.shape == expected_shape
    np.testing.assert_allclose(got, reference_norms(W, axes), rtol=1e-13,
                               atol=0)
    assert W.tobytes() == before
    assert W.dtype == np.dtype(dtype)


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_vector_norms_mask(layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    rng = np.random.RandomState(2)
    W = rng.randn(*shape).astype(np.float32)
    mask = (rng.uniform(size=shape) < 0.3).astype(np.float32)
    W_before, mask_before = W.tobytes(), mask.tobytes()
    got = vector_norms(W, axes, mask=mask)
    np.testing.assert_allclose(got, reference_norms(W, axes, mask),
                               rtol=1e-13, atol=0)
    # a boolean mask gives the same norms
    np.testing.assert_array_equal(
        vector_norms(W, axes, mask=mask.astype(bool)), got)
    assert W.tobytes() == W_before and mask.tobytes() == mask_before


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_negative_axes_equal_positive(layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    W = np.random.RandomState(3).randn(*shape)
    negative = tuple(a - len(shape) for a in axes)
    np.testing.assert_array_equal(vector_norms(W, negative),
                                  vector_norms(W, axes))
    # order of the axes does not matter either
    np.testing.assert_array_equal(vector_norms(W, tuple(reversed(axes))),
                                  vector_norms(W, axes))


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('block_bytes, workers', [
    (1, 1), (64, 3), (1000, 2), (8 * 1024, 4), (1 << 21, 1), (1 << 30, 7),
])
def test_blocks_and_workers_identical_for_exact_sums(layout, block_bytes,
                                                     workers):
    """Dyadic entries make every partial sum exact, so any block size and
    any number of workers must give bit-identical norms."""
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    rng = np.random.RandomState(4)
    W = (rng.randint(-64, 65, size=shape) / 64.0).astype(np.float32)
    mask = rng.uniform(size=shape) < 0.7
    expected = vector_norms(W, axes, mask=mask, block_bytes=1 << 30,
                            workers=1)
    got = vector_norms(W, axes, mask=mask, block_bytes=block_bytes,
                       workers=workers)
    assert got.tobytes() == expected.tobytes()
    np.testing.assert_allclose(got, reference_norms(W, axes, mask),
                               rtol=1e-15)


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_blocks_and_workers_agree_for_random_data(layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    W = np.random.RandomState(5).randn(*shape).astype(np.float32)
    expected = vector_norms(W, axes, workers=1)
    for block_bytes, workers in [(8, 1), (256, 2), (4096, 3), (1 << 16, 5)]:
        got = vector_norms(W, axes, block_bytes=block_bytes, workers=workers)
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize('shape, axes', [
    ((100000, 3), (0,)),               # long columns, walk axis reduced
    ((3, 100000), (1,)),               # long rows
    ((2, 100, 10, 100), (1, 2, 3)),    # bc01 kernels of 1e5 entries
    ((100, 10, 100, 2), (0, 1, 2)),    # c01b kernels of 1e5 entries
])
def test_float32_accuracy_1e5_entries(shape, axes):
    """float32 weights, 1e5 entries per vector: <= 1e-12 relative vs an
    exact float64 reference, whatever the block size and workers."""
    rng = np.random.RandomState(6)
    W = (rng.randn(*shape) * 0.05 + 0.01).astype(np.float32)
    reference = reference_norms(W, axes)
    for block_bytes, workers in [(1 << 21, None), (1 << 12, 3), (1 << 24, 1)]:
        got = vector_norms(W, axes, block_bytes=block_bytes, workers=workers)
        assert np.max(np.abs(got / reference - 1)) <= 1e-12


def test_float32_accuracy_beats_float32_sum():
    """A float32 sum would lose ~1e-4; the float64 accumulation must not."""
    rng = np.random.RandomState(7)
    W = np.full((100000, 2), 0.1, dtype=np.float32)
    W += (rng.randn(100000, 2) * 1e-3).astype(np.float32)
    got = vector_norms(W, 0)
    np.testing.assert_allclose(got, reference_norms(W, (0,)), rtol=1e-12)


def test_integer_weights_allowed():
    W = np.array([[3, 0], [4, 1]], dtype=np.int32)
    np.testing.assert_array_equal(vector_norms(W, 0), [5.0, 1.0])
    np.testing.assert_array_equal(vector_norms(W.astype(np.uint8), 1),
                                  [3.0, math.sqrt(17)])


def test_array_like_input():
    np.testing.assert_array_equal(vector_norms([[3.0, 0.0], [4.0, 2.0]], 0),
                                  [5.0, 2.0])


# -- edge cases ---------------------------------------------------------------

@pytest.mark.parametrize('shape, axes', [
    ((1, 5), (0,)),            # n = 1
    ((2, 5), (0,)),            # n = 2
    ((3, 5), (0,)),            # n = 3
    ((7, 1), (0,)),            # m = 1
    ((1, 1), (0,)),            # n = m = 1
    ((1, 1, 1, 1), (1, 2, 3)),
    ((5,), (0,)),              # a 1-D weight: one vector
])
def test_small_n_and_m(shape, axes):
    rng = np.random.RandomState(8)
    W = rng.randn(*shape)
    got = vector_norms(W, axes)
    np.testing.assert_allclose(got, reference_norms(W, axes), rtol=1e-15)
    if shape[axes[0]] == 1 and len(axes) == 1:
        np.testing.assert_array_equal(got, np.abs(W).reshape(got.shape))


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_all_zero_tensor(layout):
    shape = LAYOUT_SHAPES[layout]
    W = np.zeros(shape, dtype=np.float32)
    with np.errstate(all='raise'):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            got = vector_norms(W, LAYOUT_AXES[layout])
            assert count_above(got, 1.0) == 0
            assert count_pinned(got, 1.0) == 0
    assert np.all(got == 0)


def test_empty_tensor():
    got = vector_norms(np.zeros((0, 4)), 0)
    np.testing.assert_array_equal(got, np.zeros(4))
    assert vector_norms(np.zeros((4, 0)), 0).shape == (0,)


def test_signed_zero_and_tiny_values():
    W = np.array([[-0.0, 1e-30], [0.0, -1e-30]], dtype=np.float32)
    got = vector_norms(W, 0)
    assert got[0] == 0.0
    assert got[1] == pytest.approx(math.sqrt(2) * float(np.float32(1e-30)),
                                   rel=1e-12)


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize('bad, where, message', [
    (float('nan'), (0, 1), 'h1_W contains NaN or Inf values (in 1 of 3 '
                           'vectors); nothing was changed'),
    (float('inf'), (2, 0), 'h1_W contains NaN or Inf values (in 1 of 3 '
                           'vectors); nothing was changed'),
    (-float('inf'), (3, 2), 'h1_W contains NaN or Inf values (in 1 of 3 '
                            'vectors); nothing was changed'),
])
@pytest.mark.parametrize('workers', [1, 2])
def test_non_finite_weights_name_the_tensor(bad, where, message, workers):
    W = np.ones((4, 3), dtype=np.float32)
    W[where] = bad
    before = W.tobytes()
    assert_raises_msg(ValueError, message, vector_norms, W, 0, name='h1_W',
                      workers=workers)
    assert W.tobytes() == before


def test_non_finite_counts_vectors():
    W = np.ones((2, 8, 3, 3))
    W[0, 1, 0, 0] = np.nan
    W[0, 5, 2, 1] = np.inf      # same kernel: still one vector
    W[1, 0, 0, 0] = np.nan
    assert_raises_msg(ValueError, 'conv_W contains NaN or Inf values (in 2 of '
                                  '2 vectors); nothing was changed',
                      vector_norms, W, (1, 2, 3), name='conv_W')
    assert_raises_msg(ValueError, 'W contains NaN or Inf values (in 3 of 8 '
                                  'vectors); nothing was changed',
                      vector_norms, W, (0, 2, 3))


def test_non_finite_under_mask_is_still_an_error():
    """NaN * 0 is NaN: a masked NaN entry is reported, not hidden."""
    W = np.ones((3, 2))
    W[0, 0] = np.nan
    mask = np.ones((3, 2))
    mask[0, 0] = 0
    assert_raises_msg(ValueError, 'W contains NaN or Inf values (in 1 of 2 '
                                  'vectors); nothing was changed',
                      vector_norms, W, 0, mask=mask)


def test_bad_axes_messages():
    W = np.ones((4, 3))
    assert_raises_msg(ValueError, 'axes (2,) is out of range for a 2-D '
                                  'weight (allowed: -2 to 1)',
                      vector_norms, W, 2)
    assert_raises_msg(ValueError, 'axes (1, 2, 3) is out of range for a 2-D '
                                  'weight (allowed: -2 to 1)',
                      vector_norms, W, LAYOUT_AXES['bc01'])
    assert_raises_msg(ValueError, 'axes must not repeat an axis; got (0, -2)',
                      vector_norms, W, (0, -2))
    assert_raises_msg(ValueError, 'axes must name at least one axis; got ()',
                      vector_norms, W, ())
    assert_raises_msg(TypeError, 'axes must contain ints; got (0.0,)',
                      vector_norms, W, (0.0,))


def test_mask_shape_mismatch():
    W = np.ones((4, 3))
    assert_raises_msg(ValueError, 'mask of h0_W must have the shape of h0_W, '
                                  '(4, 3); got (3, 4)',
                      vector_norms, W, 0, mask=np.ones((3, 4)), name='h0_W')
    assert_raises_msg(ValueError, 'mask of W must have the shape of W, '
                                  '(4, 3); got (3,)',
                      vector_norms, W, 0, mask=np.ones(3))


def test_bad_dtype_and_scalar():
    assert_raises_msg(TypeError, 'W must be a real numeric array; got dtype '
                                 'complex128',
                      vector_norms, np.ones((2, 2), dtype=complex), 0)
    assert_raises_msg(TypeError, 'b must be a real numeric array; got dtype '
                                 'bool',
                      vector_norms, np.ones((2, 2), dtype=bool), 0, name='b')
    assert_raises_msg(ValueError, 'W must have at least one axis; got a '
                                  'scalar', vector_norms, np.float64(2.0), 0)


def test_bad_block_bytes_and_workers():
    W = np.ones((4, 3))
    assert_raises_msg(ValueError, 'block_bytes must be > 0; got 0.0',
                      vector_norms, W, 0, block_bytes=0)
    assert_raises_msg(ValueError, 'workers must be an integer >= 1; got 0',
                      vector_norms, W, 0, workers=0)


@pytest.mark.parametrize('workers', [1, 2, 4])
@pytest.mark.parametrize('shape', [(4, 3), (1, 3), (40, 30)])
def test_errors_inside_the_blocks_are_raised(workers, shape):
    """An error raised while a block is processed (here: a mask numpy cannot
    multiply a float64 block by) must propagate, whatever the number of
    workers, never be swallowed into zero norms."""
    W = np.ones(shape)
    with pytest.raises(TypeError):
        vector_norms(W, 0, mask=np.full(shape, 1j), workers=workers)


# -- thresholds ---------------------------------------------------------------

LIMIT = 1.9365


@pytest.mark.parametrize('norm, above', [
    (0.0, False),
    (0.5 * LIMIT, False),
    (LIMIT * (1 - 1e-7), False),
    (LIMIT, False),
    # pylearn2 projects onto the limit in float32: +-1e-7 is "at the limit"
    (LIMIT * (1 + 1e-7), False),
    (float(np.float32(LIMIT)), False),
    (LIMIT * (1 + 9e-7), False),
    (LIMIT * (1 + 1.1e-6), True),
    (LIMIT * (1 + 1e-5), True),
    (2 * LIMIT, True),
    (float('inf'), True),
])
def test_count_above_single(norm, above):
    assert count_above([norm], LIMIT) == int(above)
    assert count_above(np.array([norm]), LIMIT) == int(above)


def test_count_above_float32_projection():
    """Norms of float32 vectors projected onto the limit do not count."""
    rng = np.random.RandomState(9)
    W = rng.randn(784, 200).astype(np.float32)
    got = vector_norms(W, 0)
    W *= (LIMIT / np.maximum(got, 1e-7)).astype(np.float32)
    projected = vector_norms(W, 0)
    assert np.max(np.abs(projected / LIMIT - 1)) < 1e-6
    assert np.any(projected > LIMIT)         # some are a hair above ...
    assert count_above(projected, LIMIT) == 0  # ... but none counts
    assert count_pinned(projected, LIMIT) == 200


def test_count_above_table_and_rtol():
    norms = np.array([0.0, 1.0, 1.0 + 1e-7, 1.0 + 1e-5, 1.5, 3.0])
    assert count_above(norms, 1.0) == 3
    assert count_above(norms, 1.0, rtol=0.0) == 4
    assert count_above(norms, 1.0, rtol=1e-4) == 2
    assert count_above(norms, 2.0) == 1
    assert count_above(norms, 3.0) == 0
    assert count_above([], 1.0) == 0
    assert count_above(norms.reshape(2, 3), 1.0) == 3
    assert isinstance(count_above(norms, 1.0), int)
    assert DEFAULT_RTOL == 1e-6


@pytest.mark.parametrize('norm, pinned', [
    (0.0, False),
    (0.9, False),
    (1.0 - 2e-4, False),
    (1.0 - 5e-5, True),
    (1.0 - 1e-7, True),
    (1.0, True),
    (1.0 + 1e-7, True),
    (1.0 + 5e-5, True),
    (1.0 + 2e-4, False),
    (1.1, False),
])
def test_count_pinned_single(norm, pinned):
    assert count_pinned([norm], 1.0) == int(pinned)
    assert count_pinned([norm * 2.5], 2.5) == int(pinned)


def test_count_pinned_table():
    norms = np.array([0.0, 0.5, 1.0, 1.0 - 1e-6, 1.0 + 1e-6, 1.0 + 1e-3])
    assert count_pinned(norms, 1.0) == 3
    assert count_pinned(norms, 1.0, rtol=1e-2) == 4
    assert count_pinned(norms, 1.0, rtol=0.0) == 1
    assert count_pinned([], 1.0) == 0
    assert count_pinned(np.zeros(5), 1.0) == 0
    assert isinstance(count_pinned(norms, 1.0), int)
    assert PINNED_RTOL == 1e-4


# -- summaries ----------------------------------------------------------------

def test_summary_values():
    norms = np.array([0.5, 1.0, 1.0 + 1e-7, 2.0, 3.0])
    s = summarize(norms, target=0.9, limit=1.0)
    assert isinstance(s, NormSummary)
    assert s.count == 5
    assert s.min == 0.5 and s.max == 3.0
    assert s.mean == pytest.approx(norms.mean(), rel=1e-15)
    assert s.std == pytest.approx(norms.std(), rel=1e-15)
    assert s.target == 0.9 and s.limit == 1.0
    assert s.above_target == 4
    assert s.above_limit == 2
    d = s.as_dict()
    assert sorted(d) == sorted(['count', 'min', 'mean', 'max', 'std',
                                'target', 'limit', 'above_target',
                                'above_limit'])
    assert d['above_limit'] == 2 and d['count'] == 5
    assert repr(s) == ('NormSummary(count=5, min=0.5, mean=%.6g, max=3, '
                       'above_target=4, above_limit=2)' % norms.mean())


def test_summary_without_thresholds_and_empty():
    s = summarize(np.zeros((2, 3)))
    assert s.count == 6 and s.max == 0.0 and s.mean == 0.0
    assert s.target is None and s.limit is None
    assert s.above_target is None and s.above_limit is None
    e = NormSummary([], target=1.0, limit=2.0)
    assert e.count == 0
    assert math.isnan(e.min) and math.isnan(e.mean) and math.isnan(e.max)
    assert e.above_target == 0 and e.above_limit == 0


def test_summary_rtol():
    norms = [1.0 + 1e-5]
    assert summarize(norms, limit=1.0).above_limit == 1
    assert summarize(norms, limit=1.0, rtol=1e-4).above_limit == 0


def test_module_all():
    for name in norms_module.__all__:
        assert hasattr(norms_module, name)
