"""Tests of normsafe_init.laws.saddlepoint (the law of the squared norm of
``n`` bounded entries) and of the scales solved with it, against the exact
oracle (``tests/law_oracle``, whose credentials are test_law_oracle.py):

* solved scales within 1e-4 relative of the oracle's where the saddlepoint
  law is used (``n p >= 16``), 1e-7 where the law is exact (``n p < 16``),
  and never larger (the safe side);
* the line integral of the exact law against the oracle;
* quantiles never below the oracle's, ``P(S > x)`` never below it;
* the moments of the norm.

The sweeps are reduced unless ``NORMSAFE_FULL_SWEEPS=1`` (tests/conftest.py).
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
import pytest

from helpers import sweep
from law_oracle import entry as oracle_entry
from law_oracle.sumlaw import sum_law as oracle_law
from normsafe_init.laws import TruncNormal, Uniform
from normsafe_init.laws.entries import line_tail
from normsafe_init.laws.saddlepoint import (DIRECT_NP, EXACT_MAX,
                                            TRUNCNORMAL_ENTRY, UNIFORM_ENTRY,
                                            margin, sum_law)
from normsafe_init.solver import solve

ENTRIES = {'uniform': (UNIFORM_ENTRY, oracle_entry.UNIFORM_ENTRY),
           'truncnormal': (TRUNCNORMAL_ENTRY, oracle_entry.TRUNCNORMAL_ENTRY)}
#: (kind, include_prob): the families of bounded entries
CASES = [('uniform', 1.0), ('uniform', 0.5), ('uniform', 0.1),
         ('truncnormal', 1.0)]
NS = [1, 2, 3, 5, 9, 16, 25, 64, 784, 4096, 100000]
#: (m, confidence) of a solve
LAYERS = [(1, 0.5), (1, 0.99), (16, 0.9), (1000, 0.99), (10 ** 5, 0.999999)]
#: the oracle rounds its quantiles up by 1e-9 (5e-10 in the norm)
ORACLE_ROUNDING = 1e-9


def tolerance(n, p):
    """What a solved scale may lose against the oracle's: the saddlepoint
    law's error (n p >= 16), or the exact law's rounding up by 1e-8."""
    return 1e-4 if n * p >= DIRECT_NP else 1e-7


def family(kind, p):
    return Uniform(1.0, include_prob=p) if kind == 'uniform' \
        else TruncNormal(1.0)


def oracle_scale(kind, p, n, m, confidence):
    """``t / Q`` with ``Q`` the oracle's quantile of the largest of ``m``
    unit-scale norms (``t = 1``)."""
    q = -math.expm1(math.log(confidence) / m)
    return 1.0 / math.sqrt(oracle_law(ENTRIES[kind][1], n, p).isf(q))


@pytest.mark.parametrize('kind, p', CASES)
@pytest.mark.parametrize('n', sweep(NS, [1, 3, 9, 25, 784]))
def test_solved_scales_against_the_oracle(kind, p, n):
    for m, confidence in sweep(LAYERS, [(1, 0.9), (1000, 0.99)]):
        if (1 - p) ** (n * m) >= confidence:
            continue                    # no finite scale (test_solver.py)
        got = solve(family(kind, p), n, m, limit=1.0, fraction=1.0,
                    confidence=confidence).value
        err = got / oracle_scale(kind, p, n, m, confidence) - 1.0
        assert err <= ORACLE_ROUNDING, (m, confidence, err)   # safe side
        assert err >= -tolerance(n, p), (m, confidence, err)


LEVELS = [0.5, 0.3, 0.1, 0.03, 1e-2, 3e-3, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8,
          1e-10, 1e-12, 1e-14]


@pytest.mark.parametrize('kind, p', CASES)
@pytest.mark.parametrize('n', sweep([2, 4, 6, 7, 9, 12, 16, 20, 33, 64, 200],
                                    [6, 16]))
def test_quantiles_never_below_the_oracle(kind, p, n):
    """The quantile the solver divides by, densely in the level, where the
    approximation's error changes sign (near the kinks at multiples of the
    entries' bound)."""
    law, exact = sum_law(ENTRIES[kind][0], n, p), oracle_law(
        ENTRIES[kind][1], n, p)
    for q in sweep(list(np.logspace(-14, math.log10(0.6), 60)), LEVELS):
        if 1 - q <= law.atom:
            continue
        ratio = math.sqrt(law.isf(q) / exact.isf(q))
        assert ratio >= 1.0 - ORACLE_ROUNDING, q
        assert ratio - 1.0 <= 2 * tolerance(n, p), q


@pytest.mark.parametrize('kind, p', CASES)
@pytest.mark.parametrize('n', [3, 9, 40])
def test_tails_on_the_safe_side(kind, p, n):
    """``P(S > x)`` is at least the oracle's and ``P(S <= x)`` at most, in
    both tails; the lower tail (which falls like ``x^(n/2)``, so that its
    larger margin counts ``n / 2`` times) within 3e-2. The two add up to
    1."""
    law, exact = sum_law(ENTRIES[kind][0], n, p), oracle_law(
        ENTRIES[kind][1], n, p)
    xs = np.linspace(0.02, 0.98, 25) * law.top
    sf, cdf = law.sf(xs), law.cdf(xs)
    sf0, cdf0 = exact.sf(xs), exact.cdf(xs)
    upper = sf0 <= 0.5
    assert upper.sum() >= 10
    assert np.all(sf >= sf0 * (1 - 1e-8))
    assert np.all(cdf <= cdf0 * (1 + 1e-8))
    np.testing.assert_allclose(cdf[~upper], cdf0[~upper], rtol=3e-2)
    np.testing.assert_allclose(sf + cdf, 1.0, rtol=0, atol=1e-6)
    assert np.all(np.diff(sf) <= 0) and np.all(np.diff(cdf) >= 0)


@pytest.mark.parametrize('kind, p', CASES)
@pytest.mark.parametrize('n', [1, 2, 5, 9, 64, 4096])
def test_norm_moments_against_the_oracle(kind, p, n):
    law, exact = sum_law(ENTRIES[kind][0], n, p), oracle_law(
        ENTRIES[kind][1], n, p)
    mean, sd = law.norm_moments()      # exact: no margin
    mean0, sd0 = exact.norm_moments()
    assert mean == pytest.approx(mean0, rel=1e-10)
    assert sd == pytest.approx(sd0, rel=1e-7)
    scale = math.sqrt(law.scale2)
    assert 1.0 < scale <= 1.0 + max(margin(n * p), 1e-8) + 1e-15


@pytest.mark.parametrize('kind', sorted(ENTRIES))
@pytest.mark.parametrize('j', sweep([6, 7, 9, 15, 40], [6, 15]))
def test_line_tail_against_the_oracle(kind, j):
    """``entries.line_tail`` (the exact law of ``j > 5`` entries, and of the
    binomial mixtures above): both tails of ``S_j`` from the median to
    1e-14, through the saddlepoint (or ``+-1 / sd``, or ``+-2 / sd`` near
    the median), within 1e-8 of the oracle."""
    entry, exact = ENTRIES[kind][0], oracle_law(ENTRIES[kind][1], j, 1.0)
    sd = math.sqrt(exact.var)
    for q in sweep([0.5, 0.3, 0.1, 1e-3, 1e-6, 1e-10, 1e-14],
                   [0.5, 0.3, 1e-3, 1e-14]):
        for upper in (True, False):
            x = exact.isf(q) if upper else exact.ppf(q)
            ref = exact.sf(x) if upper else exact.cdf(x)
            saddle = sum_law(entry, j, 1.0)._saddle(x) if q < 0.5 else 0
            sign = 1.0 if upper else -1.0
            for theta in [sign * max(abs(saddle), 1 / sd)] + [
                    2 * sign / sd] * (q == 0.5):
                got = line_tail(entry, [j], [1.0], x, theta)
                assert abs(got / ref - 1) < 1e-8, (q, upper, theta)


def test_exact_for_a_few_entries():
    """Up to EXACT_MAX included entries the law is exact (closed forms and
    quadrature): the uniform's n = 2 arcsine law and ball, to 1e-12."""
    law = sum_law(UNIFORM_ENTRY, 2, 1.0)
    assert not law.direct and EXACT_MAX == 5
    for x in (0.3, 0.9):       # less the 1e-8 rounding of the norm
        assert law.cdf(x) == pytest.approx(math.pi * x / 4, rel=3e-8)
        assert law.cdf(x) <= math.pi * x / 4
    x = 1.44
    a = math.sqrt(x - 1.0)
    r = math.sqrt(x)
    cdf = a + x / 2 * (math.asin(1 / r) - math.asin(a / r))
    assert law.cdf(x) == pytest.approx(cdf, rel=1e-7)
    assert law.cdf(x) <= cdf      # the 1e-8 rounding is on the safe side
    five = sum_law(UNIFORM_ENTRY, 5, 1.0)
    ball = (math.pi * 0.5 / 4) ** 2.5 / math.gamma(3.5)
    assert five.cdf(0.5) == pytest.approx(ball, rel=1e-7)
    assert five.cdf(0.5) <= ball


def test_which_law_and_margin():
    assert sum_law(UNIFORM_ENTRY, 16, 1.0).direct
    assert not sum_law(UNIFORM_ENTRY, 15, 1.0).direct
    assert not sum_law(UNIFORM_ENTRY, 31, 0.5).direct       # n p < 16
    assert sum_law(UNIFORM_ENTRY, 32, 0.5).direct
    assert margin(5) == pytest.approx(7e-4)
    assert margin(16) < 2.1e-5 and margin(10 ** 6) == 1e-7
    law = sum_law(TRUNCNORMAL_ENTRY, 784, 1.0)
    assert law.scale2 == (1 + margin(784)) ** 2
    assert sum_law(TRUNCNORMAL_ENTRY, 784, 1.0) is law
