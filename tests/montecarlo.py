"""Seeded Monte Carlo estimates of what an init does to a layer's norms.

The estimator draws ``reps`` whole layers (``m`` vectors of ``n`` entries)
with the *same* draw code that ``reinit`` uses (:meth:`InitFamily.draw`),
in blocks of at most ``block_entries`` numbers, so memory stays bounded
whatever ``reps * m * n`` is. Every estimate comes with its standard error:

* mean norm: ``sd / sqrt(N)`` over the ``N = reps * m`` vectors;
* per-vector exceedance ``P(||w|| > t)``: binomial, ``sqrt(p(1-p)/N)``;
* ``P(all m <= t)``: binomial over the ``reps`` layers,
  ``sqrt(P(1-P)/reps)``;
* expected number of vectors above ``t``: ``m`` times the per-vector SE.

It is a cross-check of the analytic path (:mod:`laws`), not a
substitute: estimating a per-vector tail of 1e-5 to 10 % needs ~1e7 vectors.
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np

from normsafe_init._validation import check_int, check_real
from normsafe_init.norms import vector_norms

__all__ = ['MonteCarloResult', 'monte_carlo']


class MonteCarloResult(object):
    """Estimates (``*_se``: standard errors) from :func:`monte_carlo`.

    Attributes: ``n``, ``m``, ``reps``, ``seed``, ``vectors`` (= reps * m),
    ``mean``, ``mean_se``, ``std``, ``target``, ``sf``, ``sf_se``
    (per-vector P(norm > target)), ``prob_all_below``,
    ``prob_all_below_se``, ``expected_above``, ``expected_above_se``,
    ``max_norms`` (the largest norm of each replicated layer, sorted).
    """

    def max_quantile(self, p):
        """Empirical quantile ``p`` of the layer maximum."""
        return float(np.quantile(self.max_norms, p)
                     if hasattr(np, 'quantile')
                     else np.percentile(self.max_norms, 100.0 * p))

    def as_dict(self):
        keys = ('n', 'm', 'reps', 'seed', 'vectors', 'mean', 'mean_se', 'std',
                'target', 'sf', 'sf_se', 'prob_all_below',
                'prob_all_below_se', 'expected_above', 'expected_above_se')
        return dict((key, getattr(self, key)) for key in keys)


def monte_carlo(family, n, m=1, target=None, reps=1000, seed=0,
                block_entries=1 << 20):
    """Estimate the norm statistics of ``family`` by sampling.

    Parameters
    ----------
    family : InitFamily
        The init at its actual scale.
    n, m : int
        Entries per vector and vectors per layer.
    target : float or None
        Threshold for the exceedance estimates.
    reps : int
        Number of whole layers drawn.
    seed : int
        Seed of the dedicated ``numpy.random.RandomState``.
    block_entries : int
        Most numbers drawn at once (bounds memory: ~8 bytes each, twice).

    Returns
    -------
    MonteCarloResult
    """
    n = check_int(n, 'n')
    m = check_int(m, 'm')
    reps = check_int(reps, 'reps')
    seed = check_int(seed, 'seed', minimum=0)
    block_entries = check_int(block_entries, 'block_entries')
    if target is not None:
        target = check_real(target, 'target')
    rng = np.random.RandomState(seed)
    total = reps * m
    per_block = max(1, block_entries // n)
    maxima = np.zeros(reps)
    count_sum = 0.0
    sum_norms = 0.0
    sum_sq = 0.0
    above = 0
    layer_above = np.zeros(reps, dtype=bool)
    for start in range(0, total, per_block):
        stop = min(total, start + per_block)
        # Columns of an (n, count) dense weight: axis 0 is the vector.
        W = family.draw((n, stop - start), (0,), rng)
        norms = vector_norms(W, (0,), workers=1)
        layer = np.arange(start, stop) // m
        np.maximum.at(maxima, layer, norms)
        sum_norms += float(norms.sum())
        sum_sq += float(np.square(norms).sum())
        count_sum += norms.size
        if target is not None:
            hit = norms > target
            above += int(hit.sum())
            layer_above[layer[hit]] = True
    result = MonteCarloResult()
    result.n, result.m, result.reps, result.seed = n, m, reps, seed
    result.vectors = total
    result.mean = sum_norms / count_sum
    variance = max(0.0, sum_sq / count_sum - result.mean ** 2)
    result.std = math.sqrt(variance * count_sum / max(1.0, count_sum - 1))
    result.mean_se = result.std / math.sqrt(count_sum)
    result.max_norms = np.sort(maxima)
    result.target = target
    if target is None:
        result.sf = result.sf_se = None
        result.prob_all_below = result.prob_all_below_se = None
        result.expected_above = result.expected_above_se = None
    else:
        result.sf = above / total
        result.sf_se = math.sqrt(result.sf * (1 - result.sf) / total)
        result.prob_all_below = 1.0 - layer_above.mean()
        result.prob_all_below_se = math.sqrt(
            result.prob_all_below * (1 - result.prob_all_below) / reps)
        result.expected_above = m * result.sf
        result.expected_above_se = m * result.sf_se
    return result
