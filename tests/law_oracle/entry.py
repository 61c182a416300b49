"""The law of one squared entry ``Y = X^2`` and its transform.

Every element-wise family with a bounded symmetric entry law used here has an
entry density proportional to ``exp(-lam u^2)`` on ``[-B, B]``:

=========================  =======  =====  ===============================
entry ``X`` (unit scale)   ``lam``  ``B``  pylearn2 / framework init
=========================  =======  =====  ===============================
``U(-1, 1)``               0        1      ``irange``, RandomUniform, ...
``N(0, 1)`` cut at +-2     1/2      2      Keras ``TruncatedNormal``
=========================  =======  =====  ===============================

With ``b = B^2`` (so ``0 <= Y <= b``), ``N = int_0^B exp(-lam u^2) du`` and
``s = B sqrt(lam - z)`` (principal root, ``Re s >= 0``), the moment
generating function is entire::

    M(z) = E exp(z Y) = (1/N) int_0^B exp((z - lam) u^2) du = C erf(s) / s,
    C = sqrt(pi) B / (2 N)

(uniform: ``M(z) = sqrt(pi) erf(sqrt(-z)) / (2 sqrt(-z))``; truncated
normal: ``M(z) = erf(sqrt(2 (1 - 2z))) / (sqrt(1 - 2z) erf(sqrt 2))``).
Writing ``erf(s) = 1 - exp(-s^2) w(i s)`` (``w`` the Faddeeva function) splits
it into two pieces, analytic in the open upper half plane::

    M(z) = A(z) + exp(b z) E(z),   A = C / s,
    E = -C exp(-b lam) w(i s) / s,   |A| ~ |z|^(-1/2),  |E| ~ |z|^(-1)

``A`` is the transform of the entry law without its bound (``|X| <= B``) and
``exp(b z) E`` the correction from the bound; :mod:`law_oracle.sumlaw`
integrates each power of the pieces along its own contour.

Example::

    >>> entry = SquaredEntry(0.0, 1.0)          # U(-1, 1)
    >>> round(entry.mean, 12), round(float(entry.sf1(0.25)), 12)
    (0.333333333333, 0.5)
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

__all__ = ['SquaredEntry', 'UNIFORM_ENTRY', 'TRUNCNORMAL_ENTRY',
           'log1p_complex', 'expm1_complex', 'logaddexp_complex',
           'log_expm1_complex', 'log1pexp', 'log_expm1_real', 'check_finite']

_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)
_GL16_X, _GL16_W = np.polynomial.legendre.leggauss(16)
#: (2 / sqrt pi) / (k! (2k + 1)), k < 17 (tau^17 / 17! < 1e-20 for |tau| < 1/2)
_SERIES = [2.0 / math.sqrt(math.pi) / (math.factorial(k) * (2 * k + 1))
           for k in range(17)]
_K_SERIES = np.arange(40)
_LOG_FACT = np.array([math.lgamma(k + 1.0) for k in _K_SERIES])


def log1p_complex(w):
    """``log(1 + w)`` for complex arrays, accurate for small ``|w|``: the
    series ``w - w^2/2 + w^3/3`` below ``1e-5``, else Kahan's
    ``log(u) w / (u - 1)`` with ``u = 1 + w``."""
    w = np.asarray(w, dtype=complex)
    tiny = np.abs(w) < 1e-5
    u = 1.0 + np.where(tiny, 1.0, w)
    with np.errstate(divide='ignore', invalid='ignore'):
        out = np.log(u) * (np.where(tiny, 1.0, w) / (u - 1.0))
    return np.where(tiny, w * (1.0 - w * (0.5 - w / 3.0)), out)


def expm1_complex(w):
    """``exp(w) - 1`` for complex arrays, accurate for small ``|w|``."""
    w = np.asarray(w, dtype=complex)
    small = np.abs(w) < 0.5
    out = np.exp(w) - 1.0
    if np.any(small):
        ws = w[small]
        # Taylor series, 20 terms: |w|^21 / 21! < 1e-25 for |w| < 0.5
        term = ws.copy()
        acc = ws.copy()
        for k in range(2, 21):
            term = term * ws / k
            acc = acc + term
        out[small] = acc
    return out


def logaddexp_complex(u, v):
    """``log(exp(u) + exp(v))`` for complex arrays without overflow."""
    u, v = np.broadcast_arrays(np.asarray(u, dtype=complex),
                               np.asarray(v, dtype=complex))
    big = np.where(u.real >= v.real, u, v)
    small = np.where(u.real >= v.real, v, u)
    with np.errstate(under='ignore'):
        return big + log1p_complex(np.exp(small - big))


def log_expm1_complex(w):
    """``log(exp(w) - 1)`` for complex ``w``."""
    w = np.asarray(w, dtype=complex)
    big = w.real > 30.0
    with np.errstate(divide='ignore', invalid='ignore', over='ignore',
                     under='ignore'):
        out = np.log(expm1_complex(np.where(big, 0.0, w)))
        if np.any(big):
            out[big] = w[big] + log1p_complex(-np.exp(-w[big]))
    return out


def check_finite(values, x):
    if not np.all(np.isfinite(values)):
        raise ArithmeticError('the inversion integral of the law of S is not '
                              'finite at x = %r (a bug: please report it)' % x)


def log1pexp(v):
    """``log(1 + exp(v))`` for real ``v``."""
    return v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))


def log_expm1_real(v):
    """``log(exp(v) - 1)`` for real ``v > 0``."""
    return v + math.log(-math.expm1(-v)) if v > 1.0 else math.log(math.expm1(v))


class SquaredEntry(object):
    """``Y = X^2`` for an entry ``X`` with density ``~ exp(-lam u^2)`` on
    ``[-B, B]`` (unit scale; see the module docstring).

    Attributes: ``lam``, ``B``, ``b = B^2`` (bound of ``Y``), ``mean``
    (``E Y``), ``moments`` (``E Y^k`` for ``k = 0..39``).
    """

    def __init__(self, lam, B):
        self.lam = float(lam)
        self.B = float(B)
        self.b = self.B * self.B
        u = 0.5 * self.B * (_GL_X + 1.0)
        weight = 0.5 * self.B * _GL_W * np.exp(-self.lam * u * u)
        self.norm = float(weight.sum())                 # N
        self.log_c = 0.5 * math.log(math.pi) + math.log(self.B / (2 * self.norm))
        self.moments = np.array([float(np.dot(weight, u ** (2 * k)))
                                 for k in _K_SERIES]) / self.norm
        self.mean = float(self.moments[1])

    def __repr__(self):
        return 'SquaredEntry(lam=%g, B=%g)' % (self.lam, self.B)

    # -- one entry: closed forms ------------------------------------------
    def cdf1(self, y):
        """``P(Y <= y)`` for ``0 <= y <= b`` (array)."""
        y = np.clip(np.asarray(y, dtype=float), 0.0, self.b)
        v = np.sqrt(y)
        if self.lam == 0.0:
            return v / self.B
        r = math.sqrt(self.lam)
        below = math.sqrt(math.pi) / (2 * r) * special.erf(r * v)
        return np.clip(below / self.norm, 0.0, 1.0)

    def sf1(self, y):
        """``P(Y > y)`` for ``0 <= y <= b`` (array), with relative accuracy
        near the bound: ``int_v^B exp(-lam u^2) du`` over the length
        ``B - v = (b - y) / (B + sqrt y)`` by 16-point Gauss-Legendre
        (uniform: ``(1 - y) / (1 + sqrt y)``)."""
        y = np.clip(np.asarray(y, dtype=float), 0.0, self.b)
        length = (self.b - y) / (self.B + np.sqrt(y))
        if self.lam == 0.0:
            return length / self.B
        u = self.B - 0.5 * length[..., None] * (_GL16_X + 1.0)
        above = 0.5 * length * np.sum(_GL16_W * np.exp(-self.lam * u * u),
                                      axis=-1)
        return np.clip(above / self.norm, 0.0, 1.0)

    # -- real transform ----------------------------------------------------
    def cumulants(self, theta):
        """``(log M, m1, v)`` at real ``theta``: ``log E exp(theta Y)`` and
        the mean and variance of ``Y`` tilted by ``exp(theta Y)``.

        With ``t = (theta - lam) b`` and ``I_j = int_0^B u^(2j) e^(t u^2/b) du``,
        integration by parts gives ``I_1 = (B e^t - I_0) / (2 mu)`` and
        ``I_2 = (B^3 e^t - 3 I_1) / (2 mu)`` (``mu = t / b``); the power
        series is used for ``|t| <= 2`` and, for ``t >= 40``, the asymptotic
        series of Dawson's function, so that ``b - m1`` and ``v`` keep their
        relative accuracy near the bound.
        """
        b = self.b
        t = (float(theta) - self.lam) * b
        if abs(t) <= 2.0:
            c = np.exp(_K_SERIES * math.log(abs(t)) - _LOG_FACT) if t else \
                (_K_SERIES == 0).astype(float)
            if t < 0:
                c = c * (-1.0) ** _K_SERIES
            i0 = np.sum(c / (2 * _K_SERIES + 1))
            i1 = np.sum(c / (2 * _K_SERIES + 3)) / i0
            i2 = np.sum(c / (2 * _K_SERIES + 5)) / i0
            log_m = math.log(self.B * i0 / self.norm)
            return log_m, b * i1, b * b * max(i2 - i1 * i1, 0.0)
        if t >= 40.0:
            k = np.arange(1, 60)
            terms = np.cumprod((2 * k - 1) / (2.0 * t))
            s1 = float(terms.sum())                    # S - 1
            s2 = s1 - terms[0]                         # S - 1 - 1/(2t)
            big_s = 1.0 + s1
            log_m = (math.log(self.B / self.norm) + t + math.log(big_s)
                     - math.log(2 * t))
            ev = s1 / big_s + 1.0 / (2 * t)            # E(b - Y) / b
            ev2 = s2 / big_s + s1 / (t * big_s) + 3.0 / (4 * t * t)
            return log_m, b * (1.0 - ev), b * b * max(ev2 - ev * ev, 0.0)
        if t > 0:
            r = math.sqrt(t)
            dawson = float(special.dawsn(r))
            log_i0 = t + math.log(dawson / r)
            ratio = r / dawson                          # B e^t / I_0
        else:
            r = math.sqrt(-t)
            log_i0 = math.log(math.sqrt(math.pi) * math.erf(r) / (2 * r))
            ratio = math.exp(t - log_i0)
        m1 = (ratio - 1.0) / (2.0 * t)                  # in units of b
        m2 = (ratio - 3.0 * m1) / (2.0 * t)
        log_m = math.log(self.B / self.norm) + log_i0
        return log_m, b * m1, b * b * max(m2 - m1 * m1, 0.0)

    # -- complex transform ----------------------------------------------
    def _s(self, z):
        return np.sqrt(self.b * (self.lam - np.asarray(z, dtype=complex)))

    def log_m(self, z):
        """``log M(z)`` for a complex array ``z`` (any branch of the log;
        ``-inf`` at the zeros of ``M``): ``log C + log(erf(s) / s)`` (by its
        power series for ``|tau| < 1/2``), and
        ``log C - log s + tau + log(exp(-tau) - w(i s))`` where
        ``Re tau = Re(-s^2) > 30`` (there ``erf(s)`` grows like
        ``exp(tau)``)."""
        z = np.asarray(z, dtype=complex)
        tau = self.b * (z - self.lam)                  # = -s^2
        s = np.sqrt(-tau)
        with np.errstate(divide='ignore', invalid='ignore', over='ignore',
                         under='ignore'):
            small = np.abs(tau) < 0.5
            ratio = special.erf(s) / np.where(small, 1.0, s)
            if np.any(small):
                # erf(s) / s = (2 / sqrt pi) sum_k tau^k / (k! (2k + 1))
                ts = tau[small]
                acc = np.full(ts.shape, _SERIES[-1], dtype=complex)
                for c in _SERIES[-2::-1]:
                    acc = acc * ts + c
                ratio[small] = acc
            out = self.log_c + np.log(ratio)
            right = tau.real > 30.0
            if np.any(right):
                tr, sr = tau[right], s[right]
                out[right] = (self.log_c - np.log(sr) + tr
                              + np.log(np.exp(-tr) - special.wofz(1j * sr)))
        return out

    def log_pieces(self, z):
        """``(log A(z), log E(z))`` for ``Im z > 0`` (complex arrays)."""
        s = self._s(z)
        log_s = np.log(s)
        log_a = self.log_c - log_s
        log_e = (self.log_c - self.b * self.lam + np.log(special.wofz(1j * s))
                 + 1j * math.pi - log_s)
        return log_a, log_e


UNIFORM_ENTRY = SquaredEntry(0.0, 1.0)
TRUNCNORMAL_ENTRY = SquaredEntry(0.5, 2.0)
