"""The law of the squared norm ``S = sum_{i<=n} (X_i B_i)^2`` of ``n`` i.i.d.
bounded entries, by the saddlepoint approximation (with a safe margin).

The entries, their cumulant generating function ``K`` and the exact law of
a few of them are in :mod:`normsafe_init.laws.entries`.

Tails (Lugannani-Rice with Daniels's second-order term): with ``theta`` the
saddlepoint, ``n K'(theta) = x``, ``w = sign(theta) sqrt(2 (theta x - n K))``,
``u = theta sqrt(n K'')``, ``l3 = n K''' / (n K'')^1.5``, ``l4 = n K'''' /
(n K'')^2``::

    P(S > x) ~ 1 - Phi(w) + phi(w) [1/u - 1/w + (l4/8 - 5 l3^2/24)/u
                                     - l3/(2 u^2) - 1/u^3 + 1/w^3]

(relative error ``O(n^-2)`` in the tail; within ``0.3 sd`` of the mean, where
the bracket's terms cancel, ``w`` and the bracket are interpolated). Its
quantiles were measured against the exact inversion (``tests/law_oracle``)
for ``n`` from 16 to 1e6: the error of the norm quantile is below
``2.7e-4 (5 / n p)^3.3`` relative, of either sign. The law returned is the
approximation with every norm scaled up by ``1 + margin(n p)`` (more below 0.8
of the mean: :func:`lower_margin`), so that its quantiles are never below the
exact ones while a solved scale stays within 1e-4 of the exact one.

It is used when ``n p >= 16``; otherwise ``S`` is the binomial mixture over
the number ``j`` of included entries of exact laws (:func:`.exact_tail` for
``j <= 5``, one :func:`.line_tail` for all ``j > 5``), its norms scaled up
by ``1 + 1e-8`` (the safe side of the quadratures' errors).

Example::

    >>> law = sum_law(UNIFORM_ENTRY, 784, 1.0)
    >>> round(math.sqrt(law.isf(0.01)), 4)
    16.7598
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

from .entries import (TRUNCNORMAL_ENTRY, UNIFORM_ENTRY, exact_tail,
                      line_tail, mix, norm_moments)

__all__ = ['SumLaw', 'sum_law', 'margin', 'lower_margin', 'DIRECT_NP',
           'EXACT_MAX',
           'UNIFORM_ENTRY', 'TRUNCNORMAL_ENTRY']

#: the saddlepoint law is used for ``n p >=`` this
DIRECT_NP = 16.0
#: largest number of entries whose law is computed exactly
EXACT_MAX = 5
_CENTER_BAND = 0.3
_KNOTS = (-0.3, -0.15, 0.15, 0.3)
_CACHE = {}


def margin(nu):
    """Relative amount by which the saddlepoint norm law is scaled up, for
    ``nu = n p`` entries on average."""
    return max(7e-4 * (5.0 / nu) ** 3.3, 1e-7)


def lower_margin(nu):
    """The same below the mean (the lower tail's relative error falls
    only like ``nu^-2.3``: 1e-3 in the norm at ``nu = 6``, 7e-5 at 16)."""
    return max(0.12 * nu ** -2.3, margin(nu))


class SumLaw(object):
    """The (safe) law of ``S`` for ``n`` entries with include prob ``p``:
    ``cdf`` / ``sf`` (scalar or array), ``ppf`` / ``isf`` (scalars, never
    too small), ``norm_moments()``. Attributes ``n``, ``p``, ``top = n b``,
    ``mean``, ``var``, ``atom = (1 - p)^n`` (``P(S = 0)``)."""

    def __init__(self, entry, n, p):
        self.entry, self.n, self.p = entry, int(n), float(p)
        t = mix(self.p, entry.tilted(0.0))
        self.mean, self.var = self.n * t[1], self.n * t[3]
        self.top = self.n * entry.b
        self.atom = (1.0 - self.p) ** self.n
        nu = self.n * self.p
        self.direct = nu >= DIRECT_NP
        self.scale2 = (1.0 + (margin(nu) if self.direct else 1e-8)) ** 2
        self.low_scale2 = (1.0 + (lower_margin(nu) if self.direct
                                  else 1e-8)) ** 2
        self._order = 2 if nu < 4096 else 1
        self._band = None
        self._moments = None
        self._terms = None

    # -- the saddlepoint approximation -------------------------------------
    def _cumulants(self, theta):
        return [self.n * v for v in mix(self.p, self.entry.tilted(theta))]

    def _saddle(self, x):
        """``theta`` with ``n K'(theta) = x``: Newton in ``log |theta|`` on
        the log of the gap to the bound (or of the mean, below it), once
        bracketed bisecting where a step leaves the bracket or is not half
        the one before (``K'`` of a mixture has an inflection)."""
        upper = x > self.mean
        goal = math.log(self.top - x if upper else x)

        def f(s):
            theta = math.exp(s) if upper else -math.exp(s)
            c = self._cumulants(theta)
            value = c[2] if upper else c[1]
            return math.log(value) - goal, -abs(theta) * c[3] / value
        s = math.log(abs(x - self.mean) / self.var)
        lo = hi = None
        last = float('inf')
        for _ in range(200):
            val, slope = f(s)
            if val > 0:
                lo = s
            else:
                hi = s
            step = -val / slope if slope < 0 else (1.0 if val > 0 else -1.0)
            if abs(step) < 1e-13 * max(1.0, abs(s)):
                break
            if lo is None or hi is None:
                step = max(min(step, 3.0), -3.0)
            elif not (min(lo, hi) < s + step < max(lo, hi)
                      and abs(step) < 0.5 * abs(last)):
                step = 0.5 * (lo + hi) - s
            s, last = s + step, step
        return math.exp(s) if upper else -math.exp(s)

    def _w_corr(self, x):
        """``(w, bracket)`` of the approximation at ``0 < x < top``."""
        theta = self._saddle(x)
        K, _, _, k2, k3, k4, top = self._cumulants(theta)
        half = top - theta * (self.top - x) if theta > 0 else theta * x - K
        w = math.copysign(math.sqrt(2 * max(half, 0.0)), theta)
        u = theta * math.sqrt(k2)
        corr = 1.0 / u - 1.0 / w
        if self._order == 2:
            l3, l4 = k3 / k2 ** 1.5, k4 / k2 ** 2
            corr += ((l4 / 8 - 5 * l3 * l3 / 24) / u - l3 / (2 * u * u)
                     - 1 / u ** 3 + 1 / w ** 3)
        return w, corr

    def _approx(self, x):
        """``(P(S > x), P(S <= x))`` by the approximation, ``0 < x < top``;
        within ``0.3 sd`` of the mean (where the terms of the bracket cancel
        and ``theta`` has few digits) ``w`` and the bracket are the cubics
        through their values at 0.15 and 0.3 sd either side. Clipped to
        ``[atom, 1]``."""
        sd = math.sqrt(self.var)
        z = (x - self.mean) / sd
        if abs(z) < _CENTER_BAND:
            if self._band is None:
                self._band = [self._w_corr(self.mean + k * sd) for k in _KNOTS]
            w = corr = 0.0
            for i, k in enumerate(_KNOTS):
                weight = 1.0
                for other in _KNOTS:
                    if other != k:
                        weight *= (z - other) / (k - other)
                w += weight * self._band[i][0]
                corr += weight * self._band[i][1]
        else:
            w, corr = self._w_corr(x)
        dens = math.exp(-0.5 * w * w) / math.sqrt(2 * math.pi)
        sf = float(special.ndtr(-w)) + dens * corr
        cdf = float(special.ndtr(w)) - dens * corr
        return (min(max(sf, 0.0), 1.0 - self.atom),
                min(max(cdf, self.atom), 1.0))

    # -- the law -------------------------------------------------------------
    def _mixture(self):
        """``(j, weight)``: arrays over the number ``j >= 1`` of included
        entries (weights below 1e-40 of the largest left out)."""
        if self._terms is None:
            j = np.arange(1, self.n + 1)
            logw = (special.gammaln(self.n + 1.0) - special.gammaln(j + 1.0)
                    - special.gammaln(self.n - j + 1.0) + j * math.log(self.p)
                    + (self.n - j) * math.log1p(-self.p)) \
                if self.p < 1.0 else np.where(j == self.n, 0.0, -np.inf)
            keep = logw > logw.max() - 92.0
            self._terms = j[keep], np.exp(logw[keep])
        return self._terms

    def _tails(self, x):
        """``(P(S > x), P(S <= x))`` of the safe law, scalar ``x``."""
        if x <= 0.0 or x >= self.top:
            below = 1.0 if x >= self.top else (self.atom if x == 0 else 0.0)
            return 1.0 - below, below
        x = x / self._scale2_at(x)
        if self.direct:
            return self._approx(x)
        sf, cdf = 0.0, self.atom
        js, weights = self._mixture()
        big = js > EXACT_MAX
        for j, weight in zip(js[~big], weights[~big]):
            sf += weight * float(exact_tail(self.entry, j, x, True))
            cdf += weight * float(exact_tail(self.entry, j, x, False))
        if big.any():                   # theta: the saddlepoint, if not near 0
            sd = math.sqrt(self.var)
            theta = self._saddle(x) if abs(x - self.mean) > sd else 0.0
            theta = math.copysign(max(abs(theta), 1.0 / sd),
                                  theta or x - self.mean)
            total = weights[big].sum()
            part = 0.0 if total < 1e-10 * (sf if theta > 0 else cdf) else \
                min(max(line_tail(self.entry, js[big], weights[big], x,
                                  theta), 0.0), total)
            sf += part if theta > 0 else total - part
            cdf += total - part if theta > 0 else part
        return min(sf, 1.0), min(cdf, 1.0)

    def _scale2_at(self, x):
        """The square of the factor the norm is scaled up by at ``x``:
        ``1 + margin`` from the mean up, ``1 + lower_margin`` below 0.8 of
        the mean, linear in between (``x`` over it still increases)."""
        f = min(max((self.mean - x) / (0.2 * self.mean), 0.0), 1.0)
        return self.scale2 + f * (self.low_scale2 - self.scale2)

    def cdf(self, x):
        """``P(S <= x)`` (scalar or array)."""
        return self._map(x, 1)

    def sf(self, x):
        """``P(S > x)`` (scalar or array)."""
        return self._map(x, 0)

    def _map(self, x, which):
        arr = np.asarray(x, dtype=float)
        out = np.array([self._tails(float(v))[which] for v in arr.ravel()])
        return out.reshape(arr.shape) if arr.ndim else float(out[0])

    def isf(self, q):
        """Smallest ``x`` with ``P(S > x) <= q`` (to 1e-12 relative)."""
        return self._quantile(q, True)

    def ppf(self, level):
        """Smallest ``x`` with ``P(S <= x) >= level``."""
        return self._quantile(level, False)

    def _quantile(self, level, upper):
        """Brent's method in ``log x`` on the log of the smaller tail, in a
        bracket walked out from the normal quantile; the root is then
        stepped up until the condition holds (the safe side)."""
        from scipy.optimize import brentq
        below = 1.0 - level if upper else level
        if below <= self.atom:
            return 0.0
        use_sf = below > 0.5
        goal = math.log((level if upper else 1.0 - level) if use_sf else below)
        memo = {}

        def phi(s):                     # increasing in s; >= 0: condition met
            if s not in memo:
                tail = self._tails(min(math.exp(s), self.top))[1 - use_sf]
                memo[s] = (1e300 if use_sf else -1e300) if tail <= 0.0 else (
                    goal - math.log(tail) if use_sf else math.log(tail) - goal)
            return memo[s]
        guess = self.mean + math.sqrt(self.var) * float(special.ndtri(below))
        lo = hi = math.log(min(max(guess, 1e-3 * self.mean), 0.999 * self.top))
        step = 0.5 * math.sqrt(self.var) / self.mean
        while phi(lo) >= 0:             # walk down, then up, doubling
            hi, lo, step = lo, lo - step, 2 * step
        while phi(hi) < 0:              # (phi(top) >= 0)
            lo, hi, step = hi, min(hi + step, math.log(self.top) + 1e-9), \
                2 * step
        s = brentq(phi, lo, hi, xtol=1e-12 if self.direct else 1e-10)
        step = 1e-12
        while phi(s) < 0:
            s, step = s + step, 2 * step
        return min(math.exp(s), self.top)

    # -- moments of the norm -------------------------------------------------
    def norm_moments(self):
        """``(E sqrt(S), SD sqrt(S))``, exact (the margin is left out;
        :func:`.norm_moments`)."""
        if self._moments is None:
            self._moments = norm_moments(self.entry, self.n, self.p)
        return self._moments


def sum_law(entry, n, p):
    """The (cached) :class:`SumLaw` of ``n`` entries, include prob ``p``."""
    key = (entry.lam, entry.B, int(n), float(p))
    law = _CACHE.get(key)
    if law is None:
        if len(_CACHE) >= 512:
            _CACHE.clear()
        law = _CACHE[key] = SumLaw(entry, n, p)
    return law
