"""Tests of InitFamily.draw: shapes, dtypes, seeds, masks, block-wise
drawing, each family's entry law (Keras semantics for the truncated normal),
and the analytic laws against seeded Monte Carlo (hypothesis)."""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from normsafe_init.laws import (Gaussian, Sparse, TruncNormal,
                                         Uniform, Zero)
from montecarlo import monte_carlo
from normsafe_init.norms import vector_norms, vector_shape
from helpers import LAYOUT_AXES, assert_raises_msg


# Realistic pylearn2 weight shapes for every layout in LAYOUT_AXES.
# Realistic pylearn2 weight shapes for every layout in LAYOUT_AXES.
LAYOUT_SHAPES = {
    'col': (50, 30),
    'row': (30, 50),
    'bc01': (12, 4, 3, 3),
    'c01b': (4, 3, 3, 12),
    'local_c01b': (3, 3, 2, 3, 3, 2, 3),
}


def family_id(family):
    return repr(family)


TN = stats.truncnorm(-2, 2)


# -- draw() -------------------------------------------------------------------

DRAW_FAMILIES = [Gaussian(0.3), Uniform(0.3), Uniform(0.3, include_prob=0.4),
                 TruncNormal(0.3), Sparse(5, 0.3), Zero()]


@pytest.mark.parametrize('family', DRAW_FAMILIES, ids=family_id)
@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_draw_shape_dtype_and_reproducible(family, layout, dtype):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    W = family.draw(shape, axes, np.random.RandomState(42), dtype=dtype)
    assert isinstance(W, np.ndarray)
    assert W.shape == shape
    assert W.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(W))
    again = family.draw(shape, axes, np.random.RandomState(42), dtype=dtype)
    assert again.tobytes() == W.tobytes()
    if not isinstance(family, Zero):
        other = family.draw(shape, axes, np.random.RandomState(43),
                            dtype=dtype)
        assert other.tobytes() != W.tobytes()
    if isinstance(family, (Uniform, TruncNormal)):
        assert np.max(np.abs(W)) <= family.bound(1) * (1 + 1e-7)
        norms = vector_norms(W, axes)
        n, _ = vector_shape(shape, axes)
        assert np.all(norms <= family.bound(n) * (1 + 1e-6))


@pytest.mark.parametrize('family', DRAW_FAMILIES[:5], ids=family_id)
def test_draw_independent_of_global_rng(family):
    shape, axes = (20, 10), (0,)
    np.random.seed(1)
    a = family.draw(shape, axes, np.random.RandomState(7))
    np.random.seed(2)
    b = family.draw(shape, axes, np.random.RandomState(7))
    assert a.tobytes() == b.tobytes()
    # and the global generator is not consumed
    np.random.seed(3)
    state = np.random.get_state()
    family.draw(shape, axes, np.random.RandomState(7))
    after = np.random.get_state()
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
@pytest.mark.parametrize('k', [1, 3, 17])
def test_sparse_draw_exactly_k_per_vector(layout, k):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    n, m = vector_shape(shape, axes)
    W = Sparse(k, 0.5).draw(shape, axes, np.random.RandomState(k))
    counts = np.count_nonzero(W, axis=axes)
    assert counts.shape == tuple(s for i, s in enumerate(shape)
                                 if i not in axes)
    assert np.all(counts == k)
    assert np.count_nonzero(W) == k * m


@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_sparse_draw_with_mask(layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    rng = np.random.RandomState(11)
    mask = rng.uniform(size=shape) < 0.6
    k = 2
    live = np.sum(mask, axis=axes)
    assert np.all(live >= k)
    for dtype_mask in (mask, mask.astype(np.float32)):
        W = Sparse(k, 1.0).draw(shape, axes, np.random.RandomState(1),
                                mask=dtype_mask)
        assert np.all(np.count_nonzero(W, axis=axes) == k)
        assert not np.any(W[~mask])      # non-zeros only on live entries


def test_sparse_draw_mask_too_sparse():
    shape, axes = (6, 4), (0,)
    mask = np.ones(shape, dtype=bool)
    mask[:, 1] = False
    mask[1:, 3] = False
    assert_raises_msg(ValueError, 'mask leaves fewer than sparse_init=2 live '
                                  'entries in 2 vector(s)',
                      Sparse(2).draw, shape, axes, np.random.RandomState(0),
                      mask=mask)


def test_sparse_draw_k_equals_live():
    """k equal to the live count: every live entry is non-zero."""
    shape, axes = (6, 4), (0,)
    mask = np.zeros(shape)
    mask[:3] = 1
    W = Sparse(3).draw(shape, axes, np.random.RandomState(0), mask=mask)
    assert np.all(W[:3] != 0) and not np.any(W[3:])


def test_sparse_draw_values_and_positions():
    k, n, m, s = 4, 20, 5000, 0.25
    W = Sparse(k, s).draw((n, m), (0,), np.random.RandomState(3))
    values = W[W != 0]
    assert values.size == k * m
    # N(0, s^2) values: SD within 5 standard errors
    se = s / math.sqrt(2 * values.size)
    assert abs(values.std() - s) < 5 * se
    assert abs(values.mean()) < 5 * s / math.sqrt(values.size)
    # positions uniform over the n entries: each row picked ~ k m / n times
    per_row = np.count_nonzero(W, axis=1)
    expected = k * m / n
    sd = math.sqrt(m * (k / n) * (1 - k / n))
    assert np.all(np.abs(per_row - expected) < 5 * sd)


@pytest.mark.parametrize('family', [Gaussian(0.5), Uniform(0.5),
                                    Uniform(0.5, include_prob=0.3)],
                         ids=family_id)
@pytest.mark.parametrize('layout', ['col', 'bc01', 'local_c01b'])
def test_dense_draw_with_mask(family, layout):
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    mask = np.random.RandomState(5).uniform(size=shape) < 0.5
    W = family.draw(shape, axes, np.random.RandomState(6), mask=mask)
    assert not np.any(W[~mask])
    unmasked = family.draw(shape, axes, np.random.RandomState(6))
    np.testing.assert_array_equal(W, unmasked * mask)


def test_draw_entry_laws():
    shape = (200, 500)
    rng = np.random.RandomState(8)
    N = shape[0] * shape[1]
    g = Gaussian(0.3).draw(shape, (0,), rng)
    assert abs(g.std() - 0.3) < 5 * 0.3 / math.sqrt(2 * N)
    u = Uniform(0.3).draw(shape, (0,), rng)
    assert np.max(np.abs(u)) <= 0.3
    # E w^2 = r^2 / 3, SD of w^2 = 2 r^2 / sqrt(45)
    assert abs(np.mean(u ** 2) - 0.03) < 5 * (2 * 0.09 / math.sqrt(45)) \
        / math.sqrt(N)


def test_truncnormal_draw_keras_semantics():
    """N(0, s^2) with every value beyond 2 s redrawn: the entries follow
    the truncated normal (within 5 standard errors of its CDF at a few
    points, SD 0.8796 s) and none exceeds 2 s."""
    s, shape = 0.05, (400, 500)
    W = TruncNormal(s).draw(shape, (0,), np.random.RandomState(21))
    N = W.size
    assert np.max(np.abs(W)) <= 2 * s
    assert abs(W.std() - TruncNormal.SD_FACTOR * s) < \
        5 * TruncNormal.SD_FACTOR * s * math.sqrt(0.7 / N)
    for x in (-1.5, -0.5, 0.0, 0.7, 1.9):
        p = TN.cdf(x)
        assert abs(np.mean(W <= x * s) - p) < 5 * math.sqrt(p * (1 - p) / N)


def test_truncnormal_draw_redraws_from_the_given_generator():
    """The redraws come from the same RandomState: one generator, one
    stream; the first accepted values are the plain normals within 2."""
    rng = np.random.RandomState(3)
    W = TruncNormal(1.0).draw((2000, 1), (0,), rng).ravel()
    first = np.random.RandomState(3).standard_normal(2000)
    kept = np.abs(first) <= 2.0
    np.testing.assert_array_equal(W[kept], first[kept])
    assert np.all(np.abs(W[~kept]) <= 2.0)
    # the generator moved on past the redraws
    assert rng.standard_normal() != np.random.RandomState(3).standard_normal(
        2001)[-1]


@pytest.mark.parametrize('family', [Gaussian(0.2), Uniform(0.2),
                                    TruncNormal(0.2)], ids=family_id)
def test_draw_block_wise(monkeypatch, family):
    """Element-wise families draw at most DRAW_BLOCK entries at a time
    (whole rows), so memory stays bounded; the result is reproducible."""
    from normsafe_init.laws import family as family_module
    monkeypatch.setattr(family_module, 'DRAW_BLOCK', 60)
    shape = (50, 7, 3)
    sizes = []
    original = family._draw_unit

    def recording(block_shape, axes, rng, mask):
        sizes.append(int(np.prod(block_shape)))
        return original(block_shape, axes, rng, mask)
    monkeypatch.setattr(family, '_draw_unit', recording)
    W = family.draw(shape, (1, 2), np.random.RandomState(0))
    assert max(sizes) <= 60 and sum(sizes) == W.size and len(sizes) > 1
    again = family.draw(shape, (1, 2), np.random.RandomState(0))
    assert again.tobytes() == W.tobytes()
    bound = family.bound(21)
    assert np.all(vector_norms(W, (1, 2)) <= bound * (1 + 1e-12))


@pytest.mark.parametrize('p', [0.1, 0.5, 0.9])
def test_uniform_draw_include_prob_fraction(p):
    shape = (300, 200)
    N = shape[0] * shape[1]
    W = Uniform(1.0, include_prob=p).draw(shape, (0,),
                                          np.random.RandomState(9))
    zero_fraction = np.mean(W == 0)
    assert abs(zero_fraction - (1 - p)) < 5 * math.sqrt(p * (1 - p) / N)
    assert np.max(np.abs(W)) <= 1.0
    # with include_prob = 1 no entry is exactly 0
    full = Uniform(1.0).draw(shape, (0,), np.random.RandomState(9))
    assert np.count_nonzero(full) == N


@pytest.mark.parametrize('family', DRAW_FAMILIES, ids=family_id)
@pytest.mark.parametrize('layout', sorted(LAYOUT_AXES))
def test_draw_negative_and_int_axes(family, layout):
    """draw() accepts the axes forms vector_norms accepts (negative, int,
    any order) and gives the same array for the same seed."""
    shape = LAYOUT_SHAPES[layout]
    axes = LAYOUT_AXES[layout]
    expected = family.draw(shape, axes, np.random.RandomState(3))
    negative = tuple(a - len(shape) for a in axes)
    for other in (negative, tuple(reversed(axes)), list(axes)):
        got = family.draw(shape, other, np.random.RandomState(3))
        assert got.tobytes() == expected.tobytes()
    if len(axes) == 1:
        for other in (axes[0], axes[0] - len(shape)):
            got = family.draw(shape, other, np.random.RandomState(3))
            assert got.tobytes() == expected.tobytes()


def test_draw_errors():
    g = Gaussian(1.0)
    rng = np.random.RandomState(0)
    assert_raises_msg(ValueError, 'mask must have the weight shape (4, 3); '
                                  'got (3, 4)',
                      g.draw, (4, 3), (0,), rng, mask=np.ones((3, 4)))
    assert_raises_msg(ValueError, 'axes (2,) is out of range for a 2-D weight '
                                  '(allowed: -2 to 1)',
                      g.draw, (4, 3), (2,), rng)


# -- analytic law vs Monte Carlo (hypothesis) ---------------------------------

@st.composite
def family_cases(draw):
    kind = draw(st.sampled_from(['gaussian', 'sparse', 'uniform',
                                 'truncnormal']))
    n = draw(st.integers(min_value=1, max_value=40))
    m = draw(st.integers(min_value=1, max_value=12))
    scale = draw(st.floats(min_value=0.01, max_value=20.0))
    if kind == 'gaussian':
        family = Gaussian(scale)
    elif kind == 'sparse':
        family = Sparse(draw(st.integers(min_value=1, max_value=n)), scale)
    elif kind == 'truncnormal':
        family = TruncNormal(scale)
    else:
        family = Uniform(scale, include_prob=draw(
            st.sampled_from([1.0, 1.0, 0.8, 0.5, 0.25])))
    seed = draw(st.integers(min_value=0, max_value=2 ** 31 - 1))
    return family, n, m, seed


REPS = 300


def _prop_close(analytic, estimate, se, count):
    """|analytic - estimate| within 5 reported SEs (plus half a count)."""
    return abs(analytic - estimate) <= 5 * se + 0.5 / count


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family_cases())
def test_analytic_law_matches_monte_carlo(case):
    family, n, m, seed = case
    # thresholds inside the bulk of the law, so that the SEs are informative
    t_all = family.max_ppf(0.5, n, m)
    mc = monte_carlo(family, n, m, target=t_all, reps=REPS, seed=seed)
    assert mc.mean_se > 0 or family.std(n) == 0
    assert abs(family.mean(n) - mc.mean) <= 5 * mc.mean_se + 1e-12 * (
        family.scale)
    assert _prop_close(family.prob_all_below(t_all, n, m), mc.prob_all_below,
                       mc.prob_all_below_se, REPS)
    assert _prop_close(float(family.sf(t_all, n)), mc.sf, mc.sf_se,
                       REPS * m)
    assert _prop_close(family.expected_above(t_all, n, m), mc.expected_above,
                       mc.expected_above_se, REPS)
    for p in (0.2, 0.8):
        t = family.ppf(p, n)
        mc_t = monte_carlo(family, n, m, target=t, reps=REPS, seed=seed + 1)
        assert _prop_close(float(family.sf(t, n)), mc_t.sf, mc_t.sf_se,
                           REPS * m)


@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(family_cases())
def test_max_quantile_matches_monte_carlo(case):
    """The analytic quantile q of the layer maximum sits where the empirical
    CDF of the simulated maxima says it should: F(q-) <= p <= F(q) (both
    sides matter when the law has an atom at 0, include_prob < 1)."""
    family, n, m, seed = case
    mc = monte_carlo(family, n, m, reps=REPS, seed=seed)
    for p in (0.25, 0.75):
        q = family.max_ppf(p, n, m)
        tol = 5 * math.sqrt(p * (1 - p) / REPS) + 1.0 / REPS
        assert np.mean(mc.max_norms <= q) >= p - tol
        assert np.mean(mc.max_norms < q) <= p + tol


@pytest.mark.parametrize('shape, axes', [((400, 30), (0,)), ((30, 400), (1,)),
                                         ((6, 5, 4, 8), (0, 1, 2))])
def test_sparse_draw_writes_into_out_with_bounded_memory(shape, axes):
    """Sparse draws into ``out`` directly (issue: a whole float64 draw
    peaked at 3x a float32 weight): exactly k non-zeros of the scale's
    sd per vector, reproducible, and the float64 scratch stays one block."""
    tracemalloc = pytest.importorskip('tracemalloc')   # Python 3 only
    family = Sparse(7, sparse_stdev=0.3)
    out = np.empty(shape, dtype='float32')
    tracemalloc.start()
    family.draw(shape, axes, np.random.RandomState(4), out=out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < out.nbytes * 1.1 + (1 << 20) * 8 * 2
    assert np.all(np.count_nonzero(np.moveaxis(
        out, [a for a in range(len(shape)) if a not in axes], 0).reshape(
            -1, int(np.prod([shape[a] for a in axes]))), axis=1) == 7)
    again = family.draw(shape, axes, np.random.RandomState(4),
                        dtype='float32')
    assert again.tobytes() == out.tobytes()
