"""The law of the squared norm ``S = sum_{i<=n} (X_i B_i)^2`` of ``n`` i.i.d.
bounded entries, by the saddlepoint approximation (with a safe margin).

Each entry is ``X B``: ``X`` has density ``~ exp(-lam u^2)`` on ``[-B, B]``
(``U(-1, 1)``: ``lam = 0, B = 1``; Keras's truncated normal, ``N(0, 1)`` cut at
+-2: ``lam = 1/2, B = 2``) and ``B ~ Bernoulli(p)`` (pylearn2's
``include_prob``). With ``Y = X^2``, ``b = B^2`` and ``a = theta - lam``, the
cumulant generating function of one squared entry is::

    K(theta) = log(1 - p + p M(theta)),
    M(theta) = E exp(theta Y) = int_0^B exp(a u^2) du / int_0^B exp(-lam u^2) du

(uniform: ``M = sqrt(pi) erfi(sqrt theta) / (2 sqrt theta)``; truncated
normal: ``M = erf(sqrt(2 (1 - 2 theta))) / (sqrt(1 - 2 theta) erf(sqrt 2))``);
``K`` and its first four derivatives are the moments of ``Y B`` tilted by
``exp(theta Y)``, computed by Gauss-Legendre panels that follow the tilted
mass (towards ``u = 0`` for ``a < 0``, towards ``u = B`` for ``a > 0``, where
``b - Y`` is used so that nothing cancels near the bound ``n b``).

Tails (Lugannani-Rice with Daniels's second-order term): with ``theta`` the
saddlepoint, ``n K'(theta) = x``, ``w = sign(theta) sqrt(2 (theta x - n K))``,
``u = theta sqrt(n K'')``, ``l3 = n K''' / (n K'')^1.5``, ``l4 = n K'''' /
(n K'')^2``::

    P(S > x) ~ 1 - Phi(w) + phi(w) [1/u - 1/w + (l4/8 - 5 l3^2/24)/u
                                     - l3/(2 u^2) - 1/u^3 + 1/w^3]

(relative error ``O(n^-2)`` in the tail; within ``0.3 sd`` of the mean, where
the bracket's terms cancel, ``w`` and the bracket are interpolated). Its quantiles were measured against the exact
inversion (``tests/law_oracle``) for ``n`` from 5 to 1e6: the error of the
norm quantile is below ``2.7e-4 (5 / nu)^3.3`` relative (``nu = n p``), of
either sign. The law returned is the approximation with every norm scaled up
by ``1 + margin(nu)``, ``margin = max(7e-4 (5 / nu)^3.3, 1e-7)``, so that its
upper quantiles are never below the exact ones (and ``P(S <= x)`` never
above) while a solved scale stays within 1e-4 of the exact one for
``n >= 16`` (1e-3 below). It is used when ``n p >= 16``, or ``p = 1`` and
``n >= 6``; otherwise ``S`` is the binomial mixture over the number ``j`` of
included entries of exact laws for ``j <= 5`` (closed forms and one or two
nested quadratures, below) and the saddlepoint law of ``j`` entries (with
its margin) for ``j > 5``: the approximation cannot be held to 1e-3 there.

Exact small laws: ``P(Y > y)`` is closed; two entries have the density
``f2(y) = exp(-lam y) dphi(y) / (2 N^2)``, ``dphi`` the angle of the circle
of radius ``sqrt y`` inside the square ``[0, B]^2`` (``pi / 2`` for ``y <= b``,
``asin(B / sqrt y) - acos(B / sqrt y)`` above); ``j = 2..5`` entries are
``int f2(y) P(S_{j-2} > x - y) dy`` by Gauss-Legendre on panels split where
the integrand is not smooth, each mapped by ``y = a + h (1 - cos(pi t)) / 2``
(square-root ends become smooth).

Example::

    >>> law = sum_law(UNIFORM_ENTRY, 784, 1.0)
    >>> round(math.sqrt(law.isf(0.01)), 4)
    16.7598
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

__all__ = ['SquaredEntry', 'SumLaw', 'sum_law', 'margin', 'UNIFORM_ENTRY',
           'TRUNCNORMAL_ENTRY']

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_GL24_X, _GL24_W = np.polynomial.legendre.leggauss(24)
#: panel edges in units of the length over which the tilted mass falls
_EDGES = np.array([0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0,
                   64.0, 128.0])
#: t in (0, 1) mapped by (1 - cos(pi t)) / 2, and its weights
_COS_T = 0.5 * (1.0 - np.cos(0.5 * math.pi * (_GL24_X + 1.0)))
_COS_W = 0.5 * _GL24_W * 0.5 * math.pi * np.sin(0.5 * math.pi * (_GL24_X + 1.0))
#: the saddlepoint law is used for ``n p >=`` this (or ``p = 1`` and n > 5)
DIRECT_NP = 16.0
#: largest number of entries whose law is computed exactly
EXACT_MAX = 5
_CENTER_BAND = 0.3
_KNOTS = (-0.3, -0.15, 0.15, 0.3)
_CACHE = {}


def margin(nu):
    """Relative amount by which the saddlepoint norm law is scaled up, for
    ``nu = n p`` entries on average (see the module docstring)."""
    return max(7e-4 * (5.0 / nu) ** 3.3, 1e-7)


def _panels(edges):
    lo, hi = edges[:-1], edges[1:]
    half = 0.5 * (hi - lo)
    x = (half[:, None] * (_GL_X[None, :] + 1.0) + lo[:, None]).ravel()
    return x, (half[:, None] * _GL_W[None, :]).ravel()


class SquaredEntry(object):
    """``Y = X^2`` for an entry with density ``~ exp(-lam u^2)`` on
    ``[-B, B]`` (unit scale). Attributes ``lam``, ``B``, ``b = B^2``,
    ``norm = int_0^B exp(-lam u^2) du``, ``mean = E Y``."""

    def __init__(self, lam, B):
        self.lam, self.B = float(lam), float(B)
        self.b = self.B * self.B
        if self.lam == 0.0:
            self.norm = self.B
        else:
            r = math.sqrt(self.lam)
            self.norm = math.sqrt(math.pi) / (2 * r) * math.erf(r * self.B)
        self.log_norm = math.log(self.norm)
        self.mean = self.tilted(0.0)[1]
        # the nodes at theta = 0, for small |theta| (see tilted)
        a = -self.lam
        length = self.B if a * self.b > -1.0 else 1.0 / math.sqrt(-a)
        u, w = _panels(np.unique(np.minimum(_EDGES[:8] * length, self.B)))
        self._z0 = u * u
        self._w0 = w * np.exp(a * self._z0) / np.dot(w, np.exp(a * self._z0))
        self.mean = float(np.dot(self._w0, self._z0))

    def __repr__(self):
        return 'SquaredEntry(lam=%g, B=%g)' % (self.lam, self.B)

    def cdf1(self, y):
        """``P(Y <= y)`` (array)."""
        v = np.sqrt(np.clip(np.asarray(y, dtype=float), 0.0, self.b))
        if self.lam == 0.0:
            return v / self.B
        r = math.sqrt(self.lam)
        return np.clip(math.sqrt(math.pi) / (2 * r) * special.erf(r * v)
                       / self.norm, 0.0, 1.0)

    def sf1(self, y):
        """``P(Y > y)`` (array), with relative accuracy near the bound."""
        y = np.clip(np.asarray(y, dtype=float), 0.0, self.b)
        length = (self.b - y) / (self.B + np.sqrt(y))
        if self.lam == 0.0:
            return length / self.B
        u = self.B - 0.5 * length[..., None] * (_GL_X + 1.0)
        above = 0.5 * length * np.sum(_GL_W * np.exp(-self.lam * u * u), -1)
        return np.clip(above / self.norm, 0.0, 1.0)

    def density2(self, y):
        """Density of ``Y_1 + Y_2`` at ``y`` in ``(0, 2b)`` (array)."""
        y = np.asarray(y, dtype=float)
        s = np.minimum(self.B / np.sqrt(np.maximum(y, 1e-300)), 1.0)
        angle = np.where(y <= self.b, 0.5 * math.pi,
                         np.arcsin(s) - np.arccos(s))
        return np.exp(-self.lam * y) * np.maximum(angle, 0.0) \
            / (2.0 * self.norm ** 2)

    def tilted(self, theta):
        """``(log M, mean, gap, c2, c3, c4, top)`` of ``Y`` tilted by
        ``exp(theta Y)``: ``log M(theta)``, the mean, ``gap = b - mean``,
        the central moments 2 to 4 and ``top = theta b - log M``."""
        B, b = self.B, self.b
        theta = float(theta)
        a = theta - self.lam
        if abs(theta) * b < 1.0 and hasattr(self, '_z0'):
            # near theta = 0: log M = theta m + log1p(E expm1(theta (Y - m)))
            # keeps its relative accuracy (n log M is compared with theta x)
            g = np.expm1(theta * (self._z0 - self.mean))
            spread = float(np.dot(self._w0, g))
            e = self._w0 * (1.0 + g) / (1.0 + spread)
            return self._moments(theta * self.mean + math.log1p(spread),
                                 self._z0, e, theta, False)
        if a * b < 1.0:                 # Y = u^2, mass towards u = 0
            length = B if a * b > -1.0 else 1.0 / math.sqrt(-a)
            u, w = _panels(np.unique(np.minimum(_EDGES[:8] * length, B)))
            z = u * u
            e = w * np.exp(a * z)
            shift = 0.0
        else:                           # V = b - u^2 = r (2B - r), r = B - u
            r, w = _panels(np.unique(np.minimum(
                _EDGES / (2.0 * a * B), B)))
            z = r * (2.0 * B - r)
            e = w * np.exp(-a * z)
            shift = a * b
        total = e.sum()
        return self._moments(math.log(total) + shift - self.log_norm, z,
                             e / total, theta, shift != 0.0)

    def _moments(self, log_m, z, e, theta, upper):
        mz = float(np.dot(e, z))
        d = z - mz
        d2 = d * d
        c2, c3, c4 = (float(np.dot(e, d2)), float(np.dot(e, d2 * d)),
                      float(np.dot(e, d2 * d2)))
        if upper:                       # z is b - Y
            return (log_m, self.b - mz, mz, c2, -c3, c4,
                    theta * self.b - log_m)
        return log_m, mz, self.b - mz, c2, c3, c4, theta * self.b - log_m


UNIFORM_ENTRY = SquaredEntry(0.0, 1.0)
TRUNCNORMAL_ENTRY = SquaredEntry(0.5, 2.0)


def _mix(p, t):
    """Tilted ``(K, mean, gap, k2, k3, k4, theta b - K)`` of ``Y B``,
    ``B ~ Bernoulli(p)``, from :meth:`SquaredEntry.tilted`'s ``t``."""
    log_m, mean, gap, c2, c3, c4, top = t
    if p == 1.0:
        return log_m, mean, gap, c2, c3, c4 - 3 * c2 * c2, top
    lp, lq = math.log(p) + log_m, math.log1p(-p)
    log_psi = max(lp, lq) + math.log1p(math.exp(-abs(lp - lq)))
    r, s = math.exp(lp - log_psi), math.exp(lq - log_psi)
    d, z = s * mean, r * mean           # d: mean of Y less the mean of Y B
    m2 = s * z * z + r * (c2 + d * d)
    m3 = -s * z ** 3 + r * (c3 + 3 * c2 * d + d ** 3)
    m4 = s * z ** 4 + r * (c4 + 4 * c3 * d + 6 * c2 * d * d + d ** 4)
    return (log_psi, z, s * (mean + gap) + r * gap, m2, m3, m4 - 3 * m2 * m2,
            top + log_m - log_psi)


def _exact(entry, j, x, upper):
    """``P(S_j > x)`` (``upper``) or ``P(S_j <= x)`` for an array ``x`` and
    ``j <= 5`` entries (``p = 1``): ``int f2(y) P(S_{j-2} > x - y) dy`` on
    panels between the points where the integrand is not smooth."""
    b = entry.b
    x = np.asarray(x, dtype=float)
    if j <= 1:
        out = (entry.sf1(x) if upper else entry.cdf1(x)) if j else \
            np.where(x < 0, 0.0, 1.0)
        return np.where(x < 0, 1.0, out) if upper and j else \
            (np.where(x < 0, 1.0, 0.0) if upper else np.where(x < 0, 0.0, out))
    flat = x.ravel()
    if upper:
        lo, hi = np.maximum(0.0, flat - (j - 2) * b), np.full(flat.shape, 2 * b)
    else:
        lo, hi = np.zeros(flat.shape), np.clip(flat, 0.0, 2 * b)
    hi = np.maximum(hi, lo)
    cuts = np.column_stack([lo, hi, np.full(flat.shape, b)]
                           + [flat - k * b for k in range(j - 1)])
    cuts = np.sort(np.clip(cuts, lo[:, None], hi[:, None]), axis=1)
    left, h = cuts[:, :-1], np.diff(cuts, axis=1)
    y = left[..., None] + h[..., None] * _COS_T
    rest = _exact(entry, j - 2, flat[:, None, None] - y, upper)
    value = np.sum(h[..., None] * _COS_W * entry.density2(y) * rest,
                   axis=(1, 2))
    value = np.where(flat <= 0, 1.0 * upper, value)
    value = np.where(flat >= j * b, 1.0 * (not upper), value)
    return np.clip(value, 0.0, 1.0).reshape(x.shape)


class SumLaw(object):
    """The (safe) law of ``S`` for ``n`` entries with include prob ``p``:
    ``cdf`` / ``sf`` (scalar or array), ``ppf`` / ``isf`` (scalars, never
    too small), ``norm_moments()``. Attributes ``n``, ``p``, ``top = n b``,
    ``mean``, ``var``, ``atom = (1 - p)^n`` (``P(S = 0)``)."""

    def __init__(self, entry, n, p):
        self.entry, self.n, self.p = entry, int(n), float(p)
        t = _mix(self.p, entry.tilted(0.0))
        self.mean, self.var = self.n * t[1], self.n * t[3]
        self.top = self.n * entry.b
        self.atom = (1.0 - self.p) ** self.n
        nu = self.n * self.p
        self.direct = nu >= DIRECT_NP or (self.p == 1.0 and self.n > EXACT_MAX)
        self.scale2 = (1.0 + (margin(nu) if self.direct else 1e-9)) ** 2
        self._order = 2 if nu < 4096 else 1
        self._band = None
        self._moments = None
        self._terms = None

    # -- the saddlepoint approximation -------------------------------------
    def _cumulants(self, theta):
        return [self.n * v for v in _mix(self.p, self.entry.tilted(theta))]

    def _saddle(self, x):
        """``theta`` with ``n K'(theta) = x``: Newton in ``log |theta|`` on
        the log of the gap to the bound (or of the mean, below it)."""
        upper = x > self.mean
        goal = math.log(self.top - x if upper else x)

        def f(s):
            theta = math.exp(s) if upper else -math.exp(s)
            c = self._cumulants(theta)
            value = c[2] if upper else c[1]
            return math.log(value) - goal, -abs(theta) * c[3] / value
        s = math.log(abs(x - self.mean) / self.var)
        lo = hi = None
        for _ in range(100):
            val, slope = f(s)
            if val > 0:
                lo = s
            else:
                hi = s
            step = -val / slope if slope < 0 else (1.0 if val > 0 else -1.0)
            if lo is None or hi is None:
                new = s + max(min(step, 3.0), -3.0)
            else:
                new = s + step
                if not min(lo, hi) < new < max(lo, hi):
                    new = 0.5 * (lo + hi)
            if abs(new - s) < 1e-13 * max(1.0, abs(s)):
                s = new
                break
            s = new
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
        """``[(weight, law or j), ...]`` over the number of included entries
        (weights below 1e-40 of the largest left out)."""
        if self._terms is None:
            j = np.arange(1, self.n + 1)
            logw = (special.gammaln(self.n + 1.0) - special.gammaln(j + 1.0)
                    - special.gammaln(self.n - j + 1.0) + j * math.log(self.p)
                    + (self.n - j) * math.log1p(-self.p)) \
                if self.p < 1.0 else np.where(j == self.n, 0.0, -np.inf)
            keep = logw > logw.max() - 92.0
            self._terms = [(math.exp(lw), k if k <= EXACT_MAX
                            else sum_law(self.entry, k, 1.0))
                           for k, lw in zip(j[keep], logw[keep])]
        return self._terms

    def _tails(self, x):
        """``(P(S > x), P(S <= x))`` of the safe law, scalar ``x``."""
        if x <= 0.0 or x >= self.top:
            below = 1.0 if x >= self.top else (self.atom if x == 0 else 0.0)
            return 1.0 - below, below
        x = x / self.scale2
        if self.direct:
            return self._approx(x)
        sf, cdf = 0.0, self.atom
        for weight, term in self._mixture():
            if isinstance(term, SumLaw):
                s, c = term._tails(x)
            else:
                s = float(_exact(self.entry, term, x, True))
                c = float(_exact(self.entry, term, x, False))
            sf += weight * s
            cdf += weight * c
        return min(sf, 1.0), min(cdf, 1.0)

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
        """Regula falsi (Illinois) on the log of the smaller tail; the end
        of the bracket returned is on the side where the condition holds."""
        below = 1.0 - level if upper else level
        if below <= self.atom:
            return 0.0
        use_sf = below > 0.5
        goal = math.log(1.0 - below if use_sf else below)
        if upper and use_sf:
            goal = math.log(level)
        top = self.top

        def phi(x):                     # increasing in x; >= 0: condition met
            tail = self._tails(x)[0 if use_sf else 1]
            if tail <= 0.0:
                return 1e300 if use_sf else -1e300
            return goal - math.log(tail) if use_sf else math.log(tail) - goal
        sd = math.sqrt(self.var)
        guess = self.mean + sd * float(special.ndtri(below))
        lo = hi = min(max(guess, 1e-3 * self.mean), top * (1 - 1e-3))
        f_lo = f_hi = phi(lo)
        step = 0.5 * sd
        while f_lo >= 0 and lo > 1e-300:        # walk down, doubling
            hi, f_hi = lo, f_lo
            lo = lo - step if lo - step > 0 else 0.25 * lo
            f_lo, step = phi(lo), 2 * step
        while f_hi < 0:                         # walk up, doubling
            lo, f_lo = hi, f_hi
            hi = hi + step if hi + step < top else 0.5 * (hi + top)
            if top - hi <= 1e-12 * top:
                hi, f_hi = top, 1e300
                break
            f_hi, step = phi(hi), 2 * step
        if f_lo >= 0:
            return lo
        side = 0
        for _ in range(200):                    # Illinois
            if hi - lo <= 1e-12 * hi:
                break
            f_a, f_b = max(f_lo, -1e3), min(f_hi, 1e3)
            mid = lo + (hi - lo) * (-f_a) / (f_b - f_a)
            if not lo < mid < hi:
                mid = 0.5 * (lo + hi)
            f_mid = phi(mid)
            if f_mid >= 0:
                hi, f_hi = mid, f_mid
                if side == 1:
                    f_lo *= 0.5
                side = 1
            else:
                lo, f_lo = mid, f_mid
                if side == -1:
                    f_hi *= 0.5
                side = -1
        return hi

    # -- moments of the norm -------------------------------------------------
    def norm_moments(self):
        """``(E sqrt(S), SD sqrt(S))``, exact (the margin is left out):
        ``D = sqrt(mu) - E sqrt(S) = sqrt(mu / pi) int_0^inf (psi(-s^2/mu)^n
        - exp(-s^2)) s^-2 ds``, ``Var = mu - (E sqrt S)^2``."""
        if self._moments is None:
            self._moments = _norm_moments(self.entry, self.n, self.p)
        return self._moments


def _shifted_log_psi(entry, p, lam):
    """``log E exp(-lam X^2 B) + lam p E X^2`` for an array of ``lam >= 0``,
    without cancellation: by the nodes of :meth:`SquaredEntry.tilted` for
    ``lam b < 1``, else by ``M(-lam) = C erf(z) / z``,
    ``z = B sqrt(lam + lam_e)``."""
    lam = np.asarray(lam, dtype=float)
    m1 = entry.mean
    small = lam * entry.b < 1.0
    g = np.expm1(-lam[small, None] * (entry._z0 - m1))
    log_m = np.empty(lam.shape)
    log_m[small] = np.log1p(np.dot(g, entry._w0)) - lam[small] * m1
    z = entry.B * np.sqrt(lam[~small] + entry.lam)
    log_m[~small] = (math.log(entry.B) - entry.log_norm
                     + np.log(special.erf(z) / z * (0.5 * math.sqrt(math.pi))))
    if p == 1.0:
        out = log_m + lam * m1
        out[small] = np.log1p(np.dot(g, entry._w0))
        return out
    return np.log1p(p * np.expm1(log_m)) + lam * p * m1


def _norm_moments(entry, n, p):
    mu = n * p * entry.mean
    total = 0.0
    edges = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = 0.5 * (hi - lo) * (_GL24_X + 1.0) + lo
        nc = n * _shifted_log_psi(entry, p, s * s / mu)
        with np.errstate(under='ignore', over='ignore'):
            val = np.where(s * s < 600.0, np.exp(-s * s) * np.expm1(
                np.minimum(nc, 600.0)), np.exp(nc - s * s) - np.exp(-s * s))
        total += 0.5 * (hi - lo) * float(np.dot(_GL24_W, val / (s * s)))
    u = 0.5 * (_GL24_X + 1.0)           # s = 64 / u: psi^n alone is left
    s = 64.0 / u
    log_psi = _shifted_log_psi(entry, p, s * s / mu) - s * s / n
    with np.errstate(under='ignore'):
        tail = np.exp(n * log_psi) * 64.0 / (s * s * u * u)
    total += 0.5 * float(np.dot(_GL24_W, tail))
    d = math.sqrt(mu / math.pi) * total
    mean = math.sqrt(mu) - d
    return mean, math.sqrt(max(2.0 * math.sqrt(mu) * d - d * d, 0.0))


def sum_law(entry, n, p):
    """The (cached) :class:`SumLaw` of ``n`` entries, include prob ``p``."""
    key = (entry.lam, entry.B, int(n), float(p))
    law = _CACHE.get(key)
    if law is None:
        if len(_CACHE) >= 512:
            _CACHE.clear()
        law = _CACHE[key] = SumLaw(entry, n, p)
    return law
