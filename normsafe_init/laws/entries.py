"""One squared entry ``Y = X^2`` of an init, and the exact law of a few.

Each entry is ``X B``: ``X`` has density ``~ exp(-lam u^2)`` on ``[-B, B]``
(``U(-1, 1)``: ``lam = 0, B = 1``; Keras's truncated normal, ``N(0, 1)`` cut at
+-2: ``lam = 1/2, B = 2``) and ``B ~ Bernoulli(p)`` (pylearn2's
``include_prob``). With ``b = B^2``, ``s = B sqrt(lam - theta)``, the cumulant
generating function of one squared entry is::

    K(theta) = log(1 - p + p M(theta)),
    M(theta) = E exp(theta Y) = C erf(s) / s,   C = sqrt(pi) B / (2 N),
    N = int_0^B exp(-lam u^2) du

(:meth:`SquaredEntry.log_m`, at complex ``theta``). At real ``theta``, ``K``
and its first four derivatives are the moments of ``Y B`` tilted by
``exp(theta Y)`` (:meth:`SquaredEntry.tilted`, :func:`mix`), by Gauss-Legendre
panels that follow the tilted mass (for ``theta > lam`` on ``b - Y``, so that
nothing cancels near the bound).

Exact laws: ``P(Y > y)`` is closed; two entries have the density
``f2(y) = exp(-lam y) dphi(y) / (2 N^2)``, ``dphi`` the angle of the circle
of radius ``sqrt y`` inside the square ``[0, B]^2``; ``j = 2..5`` entries are
``int f2(y) P(S_{j-2} > x - y) dy`` by Gauss-Legendre on panels split where
the integrand is not smooth (:func:`exact_tail`); more entries by the
Gil-Pelaez line integral of ``M^j`` through the saddlepoint
(:func:`line_tail`). The moments of the norm ``sqrt(S)`` come from the real
Laplace transform (:func:`norm_moments`).

>>> round(UNIFORM_ENTRY.mean, 12), round(float(UNIFORM_ENTRY.sf1(0.25)), 12)
(0.333333333333, 0.5)
"""
from __future__ import absolute_import, division, print_function

import cmath
import math

import numpy as np
from scipy import special

__all__ = ['SquaredEntry', 'UNIFORM_ENTRY', 'TRUNCNORMAL_ENTRY', 'mix',
           'exact_tail', 'line_tail', 'norm_moments']

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_GL24_X, _GL24_W = np.polynomial.legendre.leggauss(24)
#: panel edges in units of the length over which the tilted mass falls
_EDGES = np.array([0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0,
                   64.0, 128.0])
#: t in (0, 1) mapped by (1 - cos(pi t)) / 2, and its weights
_COS_T = 0.5 * (1.0 - np.cos(0.5 * math.pi * (_GL24_X + 1.0)))
_COS_W = 0.25 * math.pi * _GL24_W * np.sin(0.5 * math.pi * (_GL24_X + 1.0))


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
        self.log_c = math.log(0.5 * math.sqrt(math.pi) * self.B) - self.log_norm
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

    def log_m(self, z):
        """``log M(z)`` at a complex scalar ``z`` (any branch), by
        ``erf(s) = exp(-s^2) (exp(s^2) - w(i s))`` where ``Re(-s^2) > 30``."""
        tau = self.b * (z - self.lam)   # -s^2
        s = cmath.sqrt(-tau)
        if tau.real > 30.0:
            log_erf = tau + cmath.log(cmath.exp(-tau) - special.wofz(1j * s))
        else:
            log_erf = cmath.log(special.erf(s))
        return self.log_c + log_erf - cmath.log(s)

    def tilted(self, theta):
        """``(log M, mean, gap, c2, c3, c4, top)`` of ``Y`` tilted by
        ``exp(theta Y)``: ``log M(theta)``, the mean, ``gap = b - mean``,
        the central moments 2 to 4 and ``top = theta b - log M``."""
        B, b = self.B, self.b
        theta = float(theta)
        a = theta - self.lam
        if abs(theta) * b < 1.0:
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


def mix(p, t):
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


def exact_tail(entry, j, x, upper):
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
        lo = np.maximum(0.0, flat - (j - 2) * b)
        hi = np.full(flat.shape, 2 * b)
    else:
        lo, hi = np.zeros(flat.shape), np.clip(flat, 0.0, 2 * b)
    hi = np.maximum(hi, lo)
    cuts = np.column_stack([lo, hi, np.full(flat.shape, b)]
                           + [flat - k * b for k in range(j - 1)])
    cuts = np.sort(np.clip(cuts, lo[:, None], hi[:, None]), axis=1)
    left, h = cuts[:, :-1], np.diff(cuts, axis=1)
    y = left[..., None] + h[..., None] * _COS_T
    rest = exact_tail(entry, j - 2, flat[:, None, None] - y, upper)
    value = np.sum(h[..., None] * _COS_W * entry.density2(y) * rest,
                   axis=(1, 2))
    value = np.where(flat <= 0, 1.0 * upper, value)
    value = np.where(flat >= j * b, 1.0 * (not upper), value)
    return np.clip(value, 0.0, 1.0).reshape(x.shape)


def line_tail(entry, js, weights, x, theta):
    """``sum_j weights_j P(S_j > x)`` for ``theta > 0`` (``P(S_j <= x)`` for
    ``theta < 0``), ``S_j`` the sum of ``js_j`` entries (``p = 1``), by the
    Gil-Pelaez integral along ``z = theta + i omega`` (``theta`` near the
    saddlepoint)::

        +- (1/pi) int_0^inf Re[sum_j weights_j M(z)^j exp(-z x) / z] d omega

    (``scipy.integrate.quad``, to 1e-9 relative; its integrand falls like
    ``omega^(-1 - j/2)``, so ``j >= 6``)."""
    from scipy import integrate         # only for these laws (import time)
    log_m, c2 = (float(v) for v in entry.tilted(theta)[0:4:3])
    with np.errstate(divide='ignore'):
        log_c = np.log(weights) + np.asarray(js) * log_m
    top = log_c.max()
    h = 1.0 / math.sqrt(js[np.argmax(log_c)] * c2)    # the width of the peak
    terms = [(float(c - top), int(j)) for c, j in zip(log_c, js)
             if c > top - 40.0]

    def f(u):
        z = complex(theta, u * h)
        d, e = entry.log_m(z) - log_m, 1j * u * h * x
        return (sum(cmath.exp(c + j * d - e) for c, j in terms) / z).real
    value = integrate.quad(f, 0.0, np.inf, epsabs=0.0, epsrel=1e-9,
                           limit=200, full_output=1)[0]
    return math.copysign(h / math.pi * math.exp(top - theta * x), theta) * value


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


def norm_moments(entry, n, p):
    """``(E sqrt(S), SD sqrt(S))`` of ``n`` entries, include prob ``p``:
    ``D = sqrt(mu) - E sqrt(S) = sqrt(mu / pi) int_0^inf (psi(-s^2/mu)^n
    - exp(-s^2)) s^-2 ds``, ``Var = mu - (E sqrt S)^2``, ``mu = E S``."""
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
