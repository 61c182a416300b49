"""The law of the squared norm ``S = sum_{i<=n} X_i^2`` of ``n`` iid entries,
computed from the entry transform (:mod:`law_oracle.entry`).

Each entry is ``X = X' B'`` with ``X'`` from a :class:`SquaredEntry` law and
``B' ~ Bernoulli(p)`` (pylearn2's ``include_prob``), so::

    psi(z) = E exp(z X^2) = 1 - p + p M(z),   Lambda(z) = E exp(z S) = psi(z)^n,

``0 <= S <= n b`` and ``P(S = 0) = a = (1 - p)^n``.  Everything is computed
in logarithms (``n`` up to ~1e7).

Tails: Bromwich inversion along ``Re z = theta``
------------------------------------------------
With ``Lambda_c = Lambda - a`` (the atom removed) and any ``theta > 0``
(upper) or ``theta < 0`` (lower)::

    P(S > x)  = (1/pi) int_0^inf Re[Lambda_c(z) exp(-z x) / z] d omega
    P(S <= x) = a - (1/pi) int_0^inf Re[Lambda_c(z) exp(-z x) / z] d omega

``z = theta + i omega``.  ``theta`` is the saddlepoint of the integrand,
``K_c'(theta) - 1/theta = x`` (``K_c = log Lambda_c``), which exists on each
side for every ``0 < x < n b``; so each tail is computed directly, with its
own relative accuracy, however small.  ``[0, H]`` is integrated by
16-point Gauss-Legendre panels (``Lambda_c`` is entire).  When ``n p`` is
small the integrand decays only like ``omega^(-3/2)`` (entries near 0 give
the density of ``S`` power-law singularities), so beyond ``z_H = theta + iH``
``psi^n`` is expanded in the pieces of ``M = A + exp(b z) E``::

    psi^n = sum_k C(n, k) (1 - p + p A)^(n-k) (p E)^k exp(k b z)

and piece ``k`` is integrated along the ray from ``z_H`` at 45 degrees up
and to the left if ``k b > x``, to the right otherwise, where
``exp(z (k b - x))`` decays and ``|A|``, ``|E|`` fall (the pieces are
analytic for ``Im z > 0``); 12 Gauss-Legendre panels in ``u``,
``t = L u / (1 - u)``. The straight line stops where a bound of the rest is
below ``1e-13`` of the integral (then no piece is needed), or turns into
rays at the first chunk past 8 integrand widths and ``|theta - lam|`` where
the pieces are no larger than the integral so far (so nothing cancels) and
the bound no longer falls fast.

``n = 1`` is closed form: ``P(S <= x) = 1 - p + p P(X^2 <= x)``.

Quantiles
---------
Newton steps with the saddlepoint slope, then Brent's method, on the log of
the tail on the smaller side; the root is rounded up
by ``1e-9`` of the root's distance to the nearer end of ``[0, n b]`` (so that
``P(S > x) <= q`` holds with the computed law: the safe side for a norm
bound). The moments of the norm ``sqrt(S)`` are in :mod:`.moments`.

Measured accuracy (``tests/test_sumlaw.py``, and against the former exact
module): ~1e-10 relative on both tails down to 1e-12 and below, for ``n``
from 2 to 1e6 and ``p`` in (0, 1]; a tail costs ~0.5-5 ms, a quantile ~7
tails, and laws are cached per ``(entry, n, p)``.

Example::

    >>> from law_oracle.entry import UNIFORM_ENTRY
    >>> law = sum_law(UNIFORM_ENTRY, 2, 1.0)
    >>> round(law.cdf(0.5), 10) == round(math.pi * 0.5 / 4, 10)
    True
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

from .entry import (check_finite, log1p_complex, log1pexp,
                     log_expm1_complex, log_expm1_real, logaddexp_complex)
from .moments import norm_moments
from .roots import brentq

__all__ = ['SumLaw', 'sum_law']

_GL16_X, _GL16_W = np.polynomial.legendre.leggauss(16)
_GL24_X, _GL24_W = np.polynomial.legendre.leggauss(24)
_RAY_EDGES = np.array([0.0, 0.15, 0.3, 0.45, 0.6, 0.72, 0.82, 0.9, 0.95, 0.98,
                       0.993, 0.998, 1.0])
_RAY_U = np.concatenate([0.5 * (hi - lo) * (_GL24_X + 1.0) + lo for lo, hi in
                         zip(_RAY_EDGES[:-1], _RAY_EDGES[1:])])
_RAY_W = np.concatenate([0.5 * (hi - lo) * _GL24_W for lo, hi in
                         zip(_RAY_EDGES[:-1], _RAY_EDGES[1:])])
#: Relative accuracy asked of the inversion integrals.
_TOL = 1e-13
#: Quantiles are moved up by this fraction of the root's distance to the
#: nearer end of [0, n b].
QUANTILE_MARGIN = 1e-9
_PANELS_PER_CHUNK = 8
_SQRT_HALF = math.sqrt(0.5)
_UP_LEFT = complex(-_SQRT_HALF, _SQRT_HALF)
_UP_RIGHT = complex(_SQRT_HALF, _SQRT_HALF)
_MAX_PANELS = 20000
_CACHE = {}
_CACHE_SIZE = 512


def sum_law(entry, n, p):
    """The (cached) :class:`SumLaw` of ``n`` entries, include prob ``p``."""
    key = (entry.lam, entry.B, int(n), float(p))
    law = _CACHE.get(key)
    if law is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        law = _CACHE[key] = SumLaw(entry, n, p)
    return law


class SumLaw(object):
    """Law of ``S = sum_{i<=n} (X_i B_i)^2`` (unit scale).

    ``cdf``/``sf`` take scalars or arrays; ``ppf``/``isf`` scalars; all
    arguments are assumed validated (see the families in :mod:`normsafe_init.laws`).
    """

    def __init__(self, entry, n, p):
        self.entry = entry
        self.n = n = int(n)
        self.p = p = float(p)
        self.top = n * entry.b
        m = entry.moments
        self.mean = n * p * m[1]
        self.var = n * (p * m[2] - (p * m[1]) ** 2)
        self.log_atom = n * math.log1p(-p) if p < 1.0 else -np.inf
        self.log_r = math.log(p) - math.log1p(-p) if p < 1.0 else np.inf
        self._quantiles = {}
        self._tails = {}
        self._moments = None

    # -- real cumulants of Lambda_c = Lambda - a -----------------------------
    def _real(self, theta):
        log_m, m1, v = self.entry.cumulants(theta)
        n, p = self.n, self.p
        if p == 1.0:
            return n * log_m, n * m1, n * v
        q = self.log_r + log_m
        ell = log1pexp(q)
        share = math.exp(q - ell)
        k1 = n * share * m1
        k2 = n * (share * (v + m1 * m1) - (share * m1) ** 2)
        ne = n * ell
        rr = -1.0 / math.expm1(-ne)                  # Lambda / Lambda_c
        kc1 = k1 * rr
        return (self.log_atom + log_expm1_real(ne), kc1,
                max((k2 + k1 * k1) * rr - kc1 * kc1, 0.0))

    def _log_lc(self, z):
        """``log Lambda_c(z)`` (complex array)."""
        log_m = self.entry.log_m(z)
        if self.p == 1.0:
            return self.n * log_m
        ell = logaddexp_complex(0.0, self.log_r + log_m)
        return self.log_atom + log_expm1_complex(self.n * ell)

    def _saddle(self, x, upper):
        def g(theta):
            return self._real(theta)[1] - 1.0 / theta - x
        gap = (self.top - x) if upper else x
        start = max(1.0 / math.sqrt(max(self.var, 1e-300)), 1.0 / gap)
        a = start if upper else -start
        if g(a) < 0:        # root beyond a (upper) / towards 0 (lower)
            b = a
            while g(b) < 0:
                a, b = b, (b * 4.0 if upper else b / 4.0)
        else:
            b = a
            while g(a) >= 0:
                a, b = (a / 4.0 if upper else a * 4.0), a
        lo, hi = min(a, b), max(a, b)
        # any theta on the right side gives the exact tail: the saddlepoint
        # only conditions the integral, so 1e-4 is plenty
        return brentq(g, lo, hi, rtol=1e-4, xtol=1e-300)

    # -- tails ---------------------------------------------------------------
    def _log_bound(self, log_mag, z, x, c0):
        """log of ``[(1 - p + p m)^n - a] e^(-Re(z) x) / (|z| e^c0)`` for an
        entry bound ``|M(z)| <= m = exp(log_mag)``: it bounds the normalised
        integrand at ``z`` (and the sum of the pieces' moduli there, when
        ``m = |A| + |exp(b z) E|``)."""
        if self.p == 1.0:
            num = self.n * log_mag
        else:
            inner = self.n * log1pexp(self.log_r + log_mag)
            num = self.log_atom + log_expm1_real(max(inner, 1e-300))
        return num - z.real * x - math.log(abs(z)) - c0

    def _log_piece_mag(self, z):
        """``log(|A(z)| + |exp(b z) E(z)|)``, a bound of ``log |M(z)|``."""
        log_a, log_e = self.entry.log_pieces(z)
        return float(np.logaddexp(log_a.real, log_e.real + self.entry.b * z.real))

    def _tail(self, x, upper):
        """``(P(S > x) (upper) or P(S <= x), theta)`` (memoised: ``cdf``
        and ``sf`` at one point share it)."""
        key = (x, upper)
        value = self._tails.get(key)
        if value is None:
            if len(self._tails) >= 64:
                self._tails.clear()
            value = self._tails[key] = self._invert(x, upper)
        return value

    def _invert(self, x, upper):
        """``P(S > x)`` (``upper``) or ``P(S <= x)``, ``0 < x < n b``,
        ``n >= 2``.

        The straight line stops where a bound of the rest is below ``_TOL``
        of the integral: for ``omega b <= sqrt 6`` the entry bound
        ``|M(z)| <= M(theta) exp(-v omega^2 (1 - omega^2 b^2 / 12) / 2)``
        (``v`` the tilted variance of one ``X^2``; from
        ``cos u <= 1 - u^2/2 + u^4/24`` and ``|Y - Y'| <= b``), beyond it
        ``|M| <= |A| + |exp(b z) E|`` (decreasing, so the rest is at most
        ``2 omega`` times the bound: the integrand falls at least like
        ``omega^(-3/2)``).
        """
        theta = self._saddle(x, upper)
        kc, _, kc2 = self._real(theta)
        log_m_theta, _, v_entry = self.entry.cumulants(theta)
        c0 = kc - theta * x - math.log(abs(theta))
        width = abs(theta) / math.sqrt(1.0 + kc2 * theta * theta)
        spread = min(max(x, self.top - x),
                     10.0 * math.sqrt(kc2) + 10.0 / abs(theta))
        h = min(width, 4.0 / max(spread, 1e-300))
        b = self.entry.b
        omega_star = math.sqrt(6.0) / b
        z_star = theta + 1j * omega_star
        far = self._log_bound(self._log_piece_mag(z_star), z_star, x, c0) \
            + math.log(2.0 * omega_star)
        total = 0.0
        start = 0.0
        panels = 0
        pieces = None
        previous = None
        chunk = _PANELS_PER_CHUNK * h
        split_at = max(8.0 * width, abs(theta - self.entry.lam))
        while True:
            edges = start + h * np.arange(_PANELS_PER_CHUNK + 1)
            mids = 0.5 * (edges[:-1] + edges[1:])
            omega = (mids[:, None] + 0.5 * h * _GL16_X[None, :]).ravel()
            weights = np.tile(0.5 * h * _GL16_W, _PANELS_PER_CHUNK)
            z = theta + 1j * omega
            with np.errstate(under='ignore'):
                vals = np.exp(self._log_lc(z) - z * x - c0) / z
            check_finite(vals, x)
            total += float(np.dot(weights, vals.real))
            start = edges[-1]
            panels += _PANELS_PER_CHUNK
            scale = abs(total) if total else 1.0
            z_end = theta + 1j * start
            log_piece = self._log_bound(self._log_piece_mag(z_end), z_end, x, c0)
            if start < omega_star:
                w2 = start * start
                log_gauss = self._log_bound(
                    log_m_theta - 0.5 * v_entry * w2 * (1.0 - w2 * b * b / 12.0),
                    z_end, x, c0)
                rest = float(np.logaddexp(
                    min(log_piece, log_gauss) + math.log(omega_star - start),
                    far))
            else:
                rest = log_piece + math.log(2.0 * start)
            # the rest of the straight line against what is asked of it
            excess = rest - math.log(_TOL * scale)
            if excess < 0:
                break
            rate = None if previous is None else (previous - rest) / chunk
            previous = rest
            if rate is not None and rate > 0 and excess < 4.0 * rate * chunk:
                continue                      # decaying fast: keep going
            if (start >= split_at and log_piece + math.log(start)
                    <= math.log(scale)) or panels >= _MAX_PANELS:
                pieces = self._rays(z_end, x, c0, _TOL * scale)
                break
        if pieces is not None:
            total += pieces
        value = math.exp(c0) * math.copysign(1.0, theta) * total / math.pi
        if not upper:
            value += math.exp(self.log_atom)
        return min(max(value, 0.0), 1.0), theta

    def _rays(self, z_h, x, c0, tol):
        """Contribution of ``omega > Im z_h`` from the pieces, each along its
        ray from ``z_h`` at 45 degrees (see the module docstring); pieces
        whose size at ``z_h`` times the ray's length scale is below ``tol``
        (``exp(-6)`` margin) are left out."""
        n, p, b = self.n, self.p, self.entry.b
        log_a, log_e = self.entry.log_pieces(z_h)
        lx = log_a.real if p == 1.0 else (math.log1p(-p) + math.log(abs(
            1.0 + math.exp(self.log_r) * np.exp(log_a))))
        ly = log_e.real + math.log(p) + b * z_h.real
        if n <= 4000:
            ks = np.arange(n + 1)
        else:
            share = float(special.expit(ly - lx))
            mode = int(n * share)
            half = int(60 + 12 * math.sqrt(mode + 1.0))
            ks = np.arange(max(0, mode - half), min(n, mode + half) + 1)
        log_binom = (special.gammaln(n + 1.0) - special.gammaln(ks + 1.0)
                     - special.gammaln(n - ks + 1.0))
        nu = ks * b - x
        length = 1.0 / (np.abs(nu) * _SQRT_HALF + 1.0 / abs(z_h))
        size = (log_binom + (n - ks) * lx + ks * ly - z_h.real * x
                - math.log(abs(z_h)) - c0 + np.log(length))
        keep = size > math.log(tol) - 6.0
        total = 0.0
        for k, nu_k, length_k, lb in zip(ks[keep], nu[keep], length[keep],
                                         log_binom[keep]):
            d = _UP_LEFT if nu_k > 0 else _UP_RIGHT
            t = length_k * _RAY_U / (1.0 - _RAY_U)
            dz = d * length_k / (1.0 - _RAY_U) ** 2
            z = z_h + d * t
            la, le = self.entry.log_pieces(z)
            if p == 1.0:
                log_x = la
            else:
                log_x = math.log1p(-p) + log1p_complex(math.exp(self.log_r)
                                                       * np.exp(la))
            if k == 0 and p < 1.0:
                log_piece = self.log_atom + log_expm1_complex(
                    n * log1p_complex(math.exp(self.log_r) * np.exp(la)))
            else:
                log_piece = lb + (n - k) * log_x
                if k:
                    log_piece = log_piece + k * (le + math.log(p) + b * z)
            with np.errstate(under='ignore'):
                vals = np.exp(log_piece - z * x - c0) / z * dz
            check_finite(vals, x)
            total += float(np.dot(_RAY_W, vals).imag)
        return total

    def cdf(self, x):
        """``P(S <= x)`` (scalar or array)."""
        return self._map(x, False)

    def sf(self, x):
        """``P(S > x)`` (scalar or array)."""
        return self._map(x, True)

    def _map(self, x, upper):
        arr = np.asarray(x, dtype=float)
        out = np.array([self._one(float(v), upper) for v in arr.ravel()])
        return out.reshape(arr.shape) if arr.ndim else float(out[0])

    def _one(self, x, upper):
        return self._one_slope(x, upper)[0]

    def _one_slope(self, x, upper):
        """``(P(S > x) or P(S <= x), theta)``: ``-theta`` approximates the
        derivative of the log of the tail in ``x`` (None when unknown)."""
        if x <= 0.0 or x >= self.top:
            if x >= self.top:
                below = 1.0
            elif x < 0.0:
                below = 0.0
            else:
                below = math.exp(self.log_atom)
            return ((1.0 - below) if upper else below), None
        if self.n == 1:
            if upper:
                return self.p * float(self.entry.sf1(x)), None
            return 1.0 - self.p + self.p * float(self.entry.cdf1(x)), None
        if x < 1e-6 * self.entry.b:
            # P(0 < S <= x) <= (1 - p + p F)^n - (1 - p)^n, F = P(X^2 <= x)
            # (all entries at most x): below 1e-17 of the answer, or of
            # exp(-700), it is dropped
            f1 = float(self.entry.cdf1(x))
            if self.p == 1.0:
                if f1 == 0.0 or self.n * math.log(f1) < -700.0:
                    return (1.0 if upper else 0.0), None
            elif self.n * self.p * f1 < 1e-17 * (1.0 - self.p):
                atom = math.exp(self.log_atom)
                return ((1.0 - atom) if upper else atom), None
        # far on the other side of the mean the asked tail is ~1: its
        # complement is the small, well-conditioned one
        gap = (x - self.mean) / math.sqrt(self.var)
        if (gap < -2.0) if upper else (gap > 2.0):
            return 1.0 - self._tail(x, not upper)[0], None
        return self._tail(x, upper)

    # -- quantiles -----------------------------------------------------------
    def isf(self, q):
        """Smallest ``x`` with ``P(S > x) <= q`` (rounded up)."""
        return self._quantile(q, True)

    def ppf(self, level):
        """Smallest ``x`` with ``P(S <= x) >= level`` (rounded up)."""
        return self._quantile(level, False)

    def _quantile(self, level, upper):
        key = (level, upper)
        value = self._quantiles.get(key)
        if value is None:
            if len(self._quantiles) >= 256:
                self._quantiles.clear()
            value = self._quantiles[key] = self._solve_quantile(level, upper)
        return value

    def _solve_quantile(self, level, upper):
        """Newton steps with the saddlepoint slope (``d/dx log P(S > x) ~
        -theta``) aimed 10 %, then 2x, 4x, ... past the root until the sign
        changes; then Brent on the bracket."""
        atom = math.exp(self.log_atom)
        below = 1.0 - level if upper else level      # P(S <= x) asked
        if below <= atom:
            return 0.0
        use_sf = below > 0.5
        target = math.log(1.0 - below if use_sf else below)
        if upper and use_sf:
            target = math.log(level)

        def phi_slope(x):                             # increasing in x
            value, theta = self._one_slope(x, use_sf)
            slope = None if theta is None else abs(theta)
            if value <= 0.0:
                return (1e300 if use_sf else -1e300), slope
            return (target - math.log(value) if use_sf
                    else math.log(value) - target), slope

        def phi(x):
            return phi_slope(x)[0]
        sd, top = math.sqrt(self.var), self.top
        guess = self.mean + sd * special.ndtri(below)
        x = min(max(guess, 1e-3 * min(top, self.mean)), top * (1 - 1e-3))
        lo = hi = None
        step, past = 0.5 * sd, 1.1
        for _ in range(200):
            f, slope = phi_slope(x)
            if f < 0:
                lo = (x, f) if lo is None or x > lo[0] else lo
            else:
                hi = (x, f) if hi is None or x < hi[0] else hi
            if lo is not None and hi is not None:
                break
            if slope:               # aim past the root, further each time
                move, past = -past * f / slope, 2.0 * past
            else:
                move, step = (step if f < 0 else -step), 2.0 * step
            if x + move >= top:
                x = 0.5 * (x + top) if top - x > 1e-300 * top else top
            elif x + move <= 0.0:
                x = x / 16.0
            else:
                x += move
            if x >= top:
                hi = (top, phi(top))
                break
        (lo, f_lo), (hi, f_hi) = lo, hi
        if lo >= 0.5 * top:
            # near the bound: solve for the distance to it, so that the
            # root keeps its relative accuracy there
            root = top - brentq(lambda y: -phi(top - y), top - hi, top - lo,
                                xtol=1e-300, rtol=1e-10, maxiter=200,
                                fa=-f_hi, fb=-f_lo)
        else:
            root = brentq(phi, lo, hi, xtol=1e-300, rtol=1e-10, maxiter=200,
                          fa=f_lo, fb=f_hi)
        return self._round_up(root, phi)

    def _round_up(self, root, phi):
        """``root`` moved up by :data:`QUANTILE_MARGIN` of its distance to the
        nearer end of ``[0, n b]`` (two ulps at least), then further if
        ``phi`` is still < 0."""
        top = self.top
        step = max(QUANTILE_MARGIN * min(root, top - root), 4e-16 * root)
        x = root + step
        while x < top and phi(x) < 0:
            step *= 10.0
            x = root + step
        return min(x, top)

    # -- moments of the norm sqrt(S) -------------------------------------
    def norm_moments(self):
        """``(E sqrt(S), SD sqrt(S))`` (cached; :mod:`.moments`)."""
        if self._moments is None:
            self._moments = norm_moments(self.entry, self.n, self.p)
        return self._moments
