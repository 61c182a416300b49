"""Exact law of the squared norm of a pylearn2 ``irange`` vector.

pylearn2 draws each entry of a weight vector as ``U(-r, r)``, optionally
multiplied by an independent ``Bernoulli(p)`` mask (``include_prob = p``).
At unit scale (``r = 1``; the caller scales, ``||w|| = r * sqrt(S)``) a vector
of ``n`` such entries has squared norm::

    S = sum_{i=1..n} X_i,   X_i = U_i^2 B_i,   U_i ~ U(0, 1),   B_i ~ Bernoulli(p)

so ``0 <= S <= n``, ``E S = n p / 3``, ``Var S = n (p/5 - p^2/9)``.  With
``J ~ Binomial(n, p)`` non-zero entries ``S`` is the mixture::

    P(S <= x) = sum_j Binom(j; n, p) F_j(x),   F_j = CDF of U_1^2 + ... + U_j^2

with an atom ``P(S = 0) = (1 - p)^n``.

Public functions (``x``, ``q`` scalars or arrays; ``n``, ``include_prob`` scalars)
--------------------------------------------------------------------------------
* :func:`sq_norm_cdf` ``P(S <= x)`` and :func:`sq_norm_sf` ``P(S > x)``, each
  computed directly on its own tail (never as ``1 - small``).
* :func:`sq_norm_ppf` / :func:`sq_norm_isf`: the smallest ``x`` with
  ``P(S <= x) >= level`` / ``P(S > x) <= q``.
* :func:`norm_mean` ``E sqrt(S)`` and :func:`norm_std` ``SD sqrt(S)``.
* :func:`saddlepoint_sf`: Lugannani-Rice, an independent cross-check.

Method per regime, ``p = 1`` (all exact up to rounding and explicitly bounded
truncation)
-------------------------------------------------------------------------------
* ``n = 1``: ``F_1(x) = sqrt(x)``, ``1 - F_1(x) = (1 - x) / (1 + sqrt(x))``.
* ``n = 2``: ``F_2(x) = pi x / 4`` (``x <= 1``); for ``1 < x < 2``, with
  ``a = sqrt(x - 1)`` and ``w = (2 - x) / x``: ``F_2 = a + (x/2) asin(w)``
  and, free of cancellation, ``1 - F_2 = (2-x)^2 / (2 (1+a)^2) - (x/2)(asin(w) - w)``.
* ``0 < x <= 1``, any ``n``: the orthant of the ball inside the unit cube,
  ``F_n(x) = (pi x / 4)^(n/2) / Gamma(n/2 + 1)``.
* ``n - 3/4 <= x < n``, ``n >= 3``: with ``V = 1 - U^2`` (density
  ``(1/2)(1 - v)^(-1/2) = sum_k a_k v^k``, ``a_k = C(2k,k) / (2 4^k)``) and
  ``y = n - x``::

      P(S > x) = P(sum V_i < y) = sum_K c_K y^(n+K) / (n+K)!,
      c_K = [t^K] (sum_k a_k k! t^k)^n

  by Miller's recurrence for powers of a series, rescaled so that no term
  overflows (terms fall like ``y^K`` for small ``n``, ``(y/2)^K`` for large
  ``n``; at most 200 terms).
* ``3 <= n <= 12``, ``1 < x < n - 3/4``: ``F_n(x) = int_0^1 F_{n-1}(x - u^2) du``
  (and the same for ``1 - F_n``), built once per ``n`` from ``F_2``.  The
  density of ``S`` is singular only at the integers, with power-law
  behaviour, so on each piece ``[m, m+1]`` ``F_n(m + t)`` is analytic in
  ``sqrt(t)`` and ``sqrt(1 - t)``, i.e. in ``tau`` with ``t = sin^2(pi tau/2)``;
  it is stored as a degree-56 Chebyshev series in ``tau``.  The ``u``
  integral is split where ``x - u^2`` crosses an integer and done by
  56-point Gauss-Legendre after the same substitution.  ``F`` and ``1 - F``
  are tabulated separately, so both tails keep relative accuracy.
* ``n >= 13``, ``1 < x < n - 3/4``: an exact tilted Fourier series.  For a
  period ``L`` with ``[0, n]`` inside ``[-1/2, L - 1/2)``, any real
  ``theta``, ``omega_k = 2 pi k / L``, ``Lambda(z) = E e^{zS}`` and
  ``M(z) = int_0^1 exp(z u^2) du`` (so ``Lambda = M^n``), Parseval's identity
  on one period gives::

      P(S > x) = (e^{-theta x} / L) [ Lambda(theta) (1 - e^{-theta (L-1/2-x)}) / theta
          + 2 Re sum_{k>=1} Lambda(theta + i omega_k)
                 (e^{-i omega_k x} - e^{-theta (L-1/2-x)} e^{i omega_k / 2})
                 / (theta + i omega_k) ]

  and the mirror formula for ``P(S <= x)`` with ``theta <= 0``.  ``theta`` is
  the saddlepoint, ``K'(theta) = x``, so every term is of the size of the
  answer and tails down to ~1e-300 keep full relative accuracy.
  ``M(theta + i omega)`` comes from the Faddeeva function ``w`` (``wofz``):
  ``M(z) = sqrt(pi) / (2 s) (1 - e^z w(i s))``, ``s = sqrt(-z)``.

  - *Period.*  ``L = n + 1`` is exact.  A shorter ``L`` (a few tens of
    standard deviations) folds the measure; the folded mass is bounded by
    Chernoff, ``P(S >= y) <= exp(K(eta) - eta y)``, summed over the images
    in closed form, and the shortest ``L`` (doubling the margin) whose bound
    is below 1e-17 of the answer is used.  This keeps ``K`` at a few dozen
    to a few hundred terms for every ``n`` up to 1e6 and beyond.
  - *Truncation.*  The series stops at the first ``K`` for which a rigorous
    bound on the rest is below 1e-15 of the answer.  One entry obeys
    ``|M(theta + i omega)| / M(theta) <= g(omega)``, the minimum of
    ``exp(-V w^2 (1 - w^2/12) / 2)`` (``w = min(omega, sqrt 6)``, ``V`` the
    tilted variance of ``U^2``; from ``cos t <= 1 - t^2/2 + t^4/24`` and
    ``|X - X'| <= 1``), ``sqrt(pi) / (2 sqrt r) (1 + e^theta min(1, 1/(sqrt(pi) Re s)))``
    (``r = |theta + i omega|``; from ``|w| <= 1`` and
    ``|w(z)| <= 1 / (sqrt(pi) Im z)`` in the upper half plane) and, for
    ``theta >= 0``, ``(d e^{theta d^2} + (e^{theta d^2}/d + theta M(theta)) / r) / M(theta)``
    for ``d`` in ``{1/4, 1/2, 3/4}`` (integration by parts twice).  ``g`` is
    non-increasing, so the remainder is at most
    ``4 (L / 2 pi) int_{omega_K}^inf g(omega)^n / omega d omega``, evaluated
    by upper Riemann sums on a geometric grid plus the closed-form
    ``omega^(-n/2)`` tail.
  - If ``log E e^{theta (S - x)}`` (the Chernoff bound of the tail) is below
    -760, the tail is returned as 0 (it is below the double range).
  - Beyond 2e6 terms (never reached in our tests) the cut sum plus its
    certified remainder bound is returned on the conservative side (larger
    ``P(S > x)``, smaller ``P(S <= x)``) with a ``RuntimeWarning``.

``include_prob = p < 1``
------------------------
* ``n <= 12``: the binomial mixture over all ``j``, each ``F_j`` as above.
* ``0 < x <= 1``: ``P(S <= x) = sum_j Binom(j; n, p) (pi x/4)^(j/2) / Gamma(j/2+1)``.
* ``x >= n - 1``: only ``j = n`` reaches above ``n - 1``, so
  ``P(S > x) = p^n (1 - F_n(x))``.
* otherwise the tilted series with ``Lambda = psi^n - (1 - p)^n``,
  ``psi(z) = 1 - p + p M(z)`` (the atom at 0 is added analytically), when its
  truncation bound certifies the answer within 3e4 terms -- that is when the
  components with few non-zero entries (whose transforms decay slowly) carry
  negligible weight.  Otherwise the exact mixture: ``j <= 12`` from the
  small-``n`` laws and ``j >= 13`` (every ``j`` with ``Binom(j) > e^-800``)
  as one tilted series with ``Lambda(z) = sum_j Binom(j) M(z)^j``.

Quantiles and moments
---------------------
* Quantiles: Brent's method on ``log P(S > x) - log q`` (``log P(S <= x)``
  on the lower half) from a Lugannani-Rice start, relative tolerance 1e-14 in
  ``x``; the point returned satisfies the defining inequality (the
  conservative side of the final bracket).
* ``E sqrt(S)`` and ``Var sqrt(S)`` from the Laplace transform
  ``E e^{-lam S} = psi(-lam)^n`` by one-dimensional quadrature, arranged so
  that neither suffers cancellation (see :func:`_norm_moments`).

Accuracy and speed (measured; see ``tests/test_uniform_exact.py``)
------------------------------------------------------------------
CDF and SF agree with independent references (closed-form quadrature, the
continuous Bromwich integral, the ``V`` power series) to ~1e-11 relative or
better in both tails down to 1e-15 and below; tables and series (two
independent exact methods) agree to ~1e-12 for ``8 <= n <= 12``;
``norm_mean`` / ``norm_std`` to ~1e-13 (exact constants for ``n = 1, 2, 3``).
A CDF/SF call takes ~0.2-10 ms (up to ~60 ms near ``x = 1`` for
``n = 13``); a quantile ~1-20 ms for ``p = 1`` and any ``n`` up to 1e6
(at most ~60 ms for very small ``n p``).  The first call for some
``3 <= n <= 12`` builds the tables (~0.1 s in total).
"""
from __future__ import absolute_import, division, print_function

import math
import numbers
import warnings

import numpy as np
from numpy.polynomial import chebyshev as _cheb
from scipy import integrate, optimize, special

__all__ = ['sq_norm_cdf', 'sq_norm_sf', 'sq_norm_ppf', 'sq_norm_isf',
           'norm_mean', 'norm_std', 'saddlepoint_sf']

_LOG_SQRT_PI_2 = 0.5 * math.log(math.pi) - math.log(2.0)
_SQRT_PI = math.sqrt(math.pi)
# Tail probabilities whose Chernoff bound is below exp(-760) are returned as 0.
_LOG_TINY = -760.0
# The V-series is used for n - x <= _V_SERIES_Y.
_V_SERIES_Y = 0.75
# Largest n handled by the tabulated small-n laws.
_N_TABLE = 12
# Chebyshev degree (per unit piece) and Gauss-Legendre order of the tables.
_CHEB_DEG = 56
_GAUSS_ORDER = 56
# Relative truncation target of the tilted series.
_SERIES_RTOL = 1e-15
# Certified term count above which the psi-series gives way to the mixture.
_K_PSI_MAX = 30000
# Hard cap on the number of series terms (conservative answer beyond it).
_K_HARD_CAP = 2000000
# Binomial weights below exp(_LOG_WEIGHT_FLOOR) are dropped from mixtures.
_LOG_WEIGHT_FLOOR = -800.0


# ---------------------------------------------------------------------------
# Parameter validation
# ---------------------------------------------------------------------------

def _is_real(value):
    return (isinstance(value, (numbers.Real, np.floating, np.integer))
            and not isinstance(value, (bool, np.bool_)))


def _check_n(n):
    """``n`` as a Python int >= 1."""
    if not _is_real(n):
        raise TypeError('n must be an integer >= 1; got %r' % (n,))
    as_float = float(n)
    if (math.isnan(as_float) or math.isinf(as_float)
            or as_float != math.floor(as_float) or as_float < 1):
        raise ValueError('n must be an integer >= 1; got %r' % (n,))
    return int(as_float)


def _check_include_prob(p):
    """``include_prob`` as a float in (0, 1]."""
    if not _is_real(p):
        raise TypeError('include_prob must be a real number in (0, 1]; got %r'
                        % (p,))
    p = float(p)
    if not 0.0 < p <= 1.0:          # also rejects NaN
        raise ValueError('include_prob must be in (0, 1]; got %r' % (p,))
    return p


def _check_x(x):
    arr = np.asarray(x, dtype=float)
    if np.isnan(arr).any():
        raise ValueError('x must not be NaN')
    return arr


def _check_level(q, name):
    arr = np.asarray(q, dtype=float)
    with np.errstate(invalid='ignore'):
        bad = ~((arr > 0.0) & (arr < 1.0))     # NaN is bad too
    if bad.any():
        value = arr[bad].ravel()[0] if arr.ndim else float(arr)
        raise ValueError('%s must be in (0, 1); got %r' % (name, float(value)))
    return arr


def _as_output(arr, like):
    """A Python float for scalar input, else an array of the input's shape."""
    if np.ndim(like) == 0:
        return float(np.ravel(arr)[0])
    return np.asarray(arr, dtype=float).reshape(np.shape(like))


# ---------------------------------------------------------------------------
# One squared entry: M(z) = E exp(z U^2) = int_0^1 exp(z u^2) du
# ---------------------------------------------------------------------------

def _mfuncs(theta):
    """``(log M, m1, v)`` at real ``theta``.

    ``m1 = M'/M`` and ``v = M''/M - m1^2`` are the mean and variance of
    ``U^2`` tilted by ``exp(theta U^2)``.  With ``R = e^theta / M``
    (``R = sqrt(theta) / D(sqrt(theta))``, ``D`` = Dawson's function, for
    ``theta > 0``; ``R = 2 sqrt(-theta) e^theta / (sqrt(pi) erf(sqrt(-theta)))``
    for ``theta < 0``), integration by parts gives
    ``m1 = (R - 1) / (2 theta)`` and ``M''/M = (R - 3 m1) / (2 theta)``.
    For ``|theta| <= 2`` the power series ``M^(j) = sum_k theta^k / (k! (2k+2j+1))``
    is used instead.
    """
    theta = float(theta)
    if abs(theta) <= 2.0:
        k = np.arange(40)
        c = np.cumprod(np.concatenate(([1.0], theta / k[1:])))
        m0 = np.sum(c / (2 * k + 1))
        m1 = np.sum(c / (2 * k + 3)) / m0
        m2 = np.sum(c / (2 * k + 5)) / m0
        return math.log(m0), m1, m2 - m1 * m1
    if theta > 0:
        sq = math.sqrt(theta)
        dawson = float(special.dawsn(sq))
        log_m = theta + math.log(dawson / sq)
        ratio = sq / dawson
    else:
        sq = math.sqrt(-theta)
        log_m = _LOG_SQRT_PI_2 + math.log(float(special.erf(sq)) / sq)
        ratio = math.exp(theta - log_m)
    m1 = (ratio - 1.0) / (2.0 * theta)
    m2 = (ratio - 3.0 * m1) / (2.0 * theta)
    return log_m, m1, max(m2 - m1 * m1, 0.0)


def _log_m_complex(theta, omega):
    """``log M(theta + i omega)`` for real ``theta`` and an array ``omega >= 0``.

    With ``z = theta - i omega`` and ``s = sqrt(-z)`` (first quadrant),
    ``M(z) = sqrt(pi)/(2 s) (1 - e^z w(i s))`` (``w`` = Faddeeva function,
    ``|e^z| <= 1`` for ``theta <= 0``) or, for ``theta > 0``,
    ``M(z) = e^z sqrt(pi)/(2 s) (e^{-z} - w(i s))``; ``M(conj z) = conj M(z)``.
    The Taylor series is used for ``|z| < 1``.
    """
    omega = np.asarray(omega, dtype=float)
    z = theta - 1j * omega
    out = np.empty(omega.shape, dtype=complex)
    small = np.abs(z) < 1.0
    if small.any():
        zs = z[small]
        acc = np.zeros_like(zs)
        term = np.ones_like(zs)
        for k in range(24):
            acc = acc + term / (2 * k + 1)
            term = term * zs / (k + 1)
        out[small] = np.log(acc)
    big = ~small
    if big.any():
        zb = z[big]
        s = np.sqrt(-zb)
        w = special.wofz(1j * s)
        if theta <= 0:
            out[big] = _LOG_SQRT_PI_2 - np.log(s) + np.log(1.0 - np.exp(zb) * w)
        else:
            out[big] = (zb + _LOG_SQRT_PI_2 - np.log(s)
                        + np.log(np.exp(-zb) - w))
    return np.conj(out)


def _log_entry_bound(theta, log_m_theta, var_theta, omega):
    """Log of a non-increasing bound on ``|M(theta + i omega)| / M(theta)``.

    The minimum of three bounds (see the module docstring): the tilted
    characteristic-function bound
    ``exp(-V w^2 (1 - w^2/12) / 2)``, ``w = min(omega, sqrt 6)``; the Faddeeva
    bound ``sqrt(pi)/(2 sqrt r) (1 + e^theta min(1, 1/(sqrt(pi) Re s)))``;
    and, for ``theta >= 0``, the integration-by-parts bound
    ``d e^{theta d^2} + (e^{theta d^2}/d + theta M(theta)) / r``.
    """
    omega = np.asarray(omega, dtype=float)
    w = np.minimum(omega, math.sqrt(6.0))
    # (v loses ~log10(theta^2) digits to cancellation; not used beyond 1e4)
    safe_var = 0.99 * var_theta if abs(theta) < 1e4 else 0.0
    gauss = -0.5 * safe_var * w * w * (1.0 - w * w / 12.0)
    r = np.hypot(theta, omega)
    re_s = np.sqrt(np.maximum(r - theta, 0.0) / 2.0)
    with np.errstate(divide='ignore'):
        log_min = np.minimum(0.0, -np.log(_SQRT_PI * re_s))
    big = (_LOG_SQRT_PI_2 - 0.5 * np.log(r)
           + np.logaddexp(0.0, theta + log_min)) - log_m_theta
    bound = np.minimum(np.minimum(gauss, big), 0.0)
    if theta >= 0:
        for d in (0.25, 0.5, 0.75):
            first = math.log(d) + theta * d * d
            second = np.logaddexp(theta * d * d - math.log(d),
                                  math.log(theta) + log_m_theta
                                  if theta > 0 else -np.inf) - np.log(r)
            parts = np.logaddexp(first, second) - log_m_theta
            bound = np.minimum(bound, parts)
    return bound


def _log_entry_bound_power(theta, log_m_theta):
    """``log c`` with ``|M(theta + i omega)| / M(theta) <= c omega^(-1/2)``
    for every ``omega > 0`` (the Faddeeva bound with ``r >= omega``)."""
    return _LOG_SQRT_PI_2 + np.logaddexp(0.0, theta) - log_m_theta


# ---------------------------------------------------------------------------
# Complex helpers
# ---------------------------------------------------------------------------

def _log1p_complex(z):
    """``log(1 + z)`` for complex ``z``, accurate for small ``|z|``."""
    re = np.real(z)
    im = np.imag(z)
    return 0.5 * np.log1p(2.0 * re + re * re + im * im) + 1j * np.arctan2(im, 1.0 + re)


def _expm1_complex(z):
    """``exp(z) - 1`` for complex ``z``, accurate for small ``|z|``."""
    re = np.real(z)
    im = np.imag(z)
    half = np.sin(0.5 * im)
    return (np.expm1(re) * np.cos(im) - 2.0 * half * half) + 1j * np.exp(re) * np.sin(im)


def _log_expm1(v):
    """``log(expm1(v))`` for real ``v > 0`` without overflow."""
    v = np.atleast_1d(np.asarray(v, dtype=float))
    out = np.empty(v.shape)
    big = v > 30.0
    out[big] = v[big] + np.log1p(-np.exp(-v[big]))
    with np.errstate(divide='ignore'):
        out[~big] = np.log(np.expm1(v[~big]))
    return out


# ---------------------------------------------------------------------------
# Closed forms: n = 1, n = 2, the ball (x <= 1), the V-series (x >= n - 1/2)
# ---------------------------------------------------------------------------

def _asin_minus_x(w):
    """``asin(w) - w`` without cancellation (series for ``w < 1/2``)."""
    w = np.asarray(w, dtype=float)
    out = np.arcsin(w) - w
    small = w < 0.5
    if small.any():
        ws = w[small]
        w2 = ws * ws
        term = ws * w2           # w^(2k+1) * C(2k,k)/4^k, k = 1
        coef = 0.5
        acc = np.zeros_like(ws)
        for k in range(1, 40):
            acc = acc + coef * term / (2 * k + 1)
            term = term * w2
            coef = coef * (2 * k + 1) / (2 * k + 2)
        out[small] = acc
    return out


def _law2(m, t, s):
    """``(F_2, 1 - F_2)`` at ``x = m + t`` (``s = 1 - t``, ``m`` an int)."""
    if m < 0:
        return np.zeros_like(t), np.ones_like(t)
    if m >= 2:
        return np.ones_like(t), np.zeros_like(t)
    if m == 0:
        cdf = np.pi * t / 4.0
        return cdf, 1.0 - cdf
    x = 1.0 + t
    a = np.sqrt(t)
    w = s / x
    cdf = a + 0.5 * x * np.arcsin(w)
    onep = 1.0 + a
    sf = s * s / (2.0 * onep * onep) - 0.5 * x * _asin_minus_x(w)
    return cdf, np.maximum(sf, 0.0)


def _log_ball(x, n):
    """``log F_n(x)`` for ``0 < x <= 1``: ``(pi x/4)^(n/2) / Gamma(n/2 + 1)``."""
    return 0.5 * n * np.log(np.pi * np.asarray(x, dtype=float) / 4.0) - \
        special.gammaln(0.5 * n + 1.0)


_ALPHA_CACHE = {}


def _alphas(kmax):
    """``2 a_k = C(2k, k) / 4^k`` for ``k = 0..kmax``."""
    if kmax not in _ALPHA_CACHE:
        a = np.ones(kmax + 1)
        for k in range(1, kmax + 1):
            a[k] = a[k - 1] * (2 * k - 1) / (2 * k)
        _ALPHA_CACHE[kmax] = a
    return _ALPHA_CACHE[kmax]


def _log_vseries(y, n, kmax=200):
    """``log P(S > n - y)`` for ``0 < y <= 3/4`` (``p = 1``, ``n >= 2``).

    ``P(sum V_i < y) = (y/2)^n / n! * sum_K D_K`` with ``D_0 = 1`` and
    Miller's recurrence for the power of a series, rescaled so that
    ``D_K ~ (y/2)^K``::

        D_K = (1/K) sum_{k=1..K} ((n+1) k - K) alpha_k y^k f_{K,k} D_{K-k},
        f_{K,k} = prod_{i=1..k} i / (n + K - k + i),  alpha_k = C(2k,k)/4^k.
    """
    alpha = _alphas(kmax) * y ** np.arange(kmax + 1)
    dees = np.zeros(kmax + 1)
    dees[0] = 1.0
    for big_k in range(1, kmax + 1):
        k = np.arange(1, big_k + 1)
        f = np.cumprod(k / (n + big_k - k + 1.0))
        dees[big_k] = np.dot(((n + 1) * k - big_k) * alpha[1:big_k + 1] * f,
                             dees[big_k - k]) / big_k
        if dees[big_k] < 1e-18 * dees[:big_k].sum() and big_k > 8:
            break
    return (n * (math.log(y) - math.log(2.0)) - special.gammaln(n + 1.0)
            + math.log(dees.sum()))


# ---------------------------------------------------------------------------
# Tabulated small-n laws (3 <= n <= 12)
# ---------------------------------------------------------------------------

class _Tables(object):
    """Chebyshev tables of ``F_k`` and ``1 - F_k`` on the pieces ``[m, m+1]``.

    ``F_k(m + t)``, ``t = sin^2(pi tau / 2)``, is analytic in ``tau`` on
    ``[0, 1]``; it is stored as Chebyshev coefficients in ``2 tau - 1``.
    Each table is built from the previous one by
    ``F_k(x) = int_0^1 F_{k-1}(x - u^2) du``, split at ``u = sqrt(t)``
    (where ``x - u^2 = m``) and integrated with Gauss-Legendre nodes after
    ``u = u_lo + (u_hi - u_lo) sin^2(pi sigma / 2)``.  The offsets ``t`` and
    ``1 - t`` of every argument are formed without cancellation.
    """

    def __init__(self):
        deg = _CHEB_DEG
        j = np.arange(deg + 1)
        angles = np.pi * (j + 0.5) / (deg + 1)
        tau = 0.5 * (1.0 + np.cos(angles))
        self.t_nodes = np.sin(0.5 * np.pi * tau) ** 2
        self.s_nodes = np.cos(0.5 * np.pi * tau) ** 2
        self.transform = (2.0 / (deg + 1)) * np.cos(np.outer(j, angles))
        self.transform[0] /= 2.0
        gx, gw = np.polynomial.legendre.leggauss(_GAUSS_ORDER)
        gx = 0.5 * (gx + 1.0)
        self.sin2 = np.sin(0.5 * np.pi * gx) ** 2
        self.cos2 = np.cos(0.5 * np.pi * gx) ** 2
        self.jac = 0.5 * np.pi * np.sin(np.pi * gx) * 0.5 * gw
        self.coefs = {}

    def evaluate(self, k, m, t, s):
        """``(F_k, 1 - F_k)`` at ``x = m + t`` (``s = 1 - t``), ``k >= 2``."""
        if k == 2:
            return _law2(m, t, s)
        if m < 0:
            return np.zeros_like(t), np.ones_like(t)
        if m >= k:
            return np.ones_like(t), np.zeros_like(t)
        if m == 0:
            with np.errstate(divide='ignore'):
                ball = np.exp(_log_ball(t, k))
            return ball, 1.0 - ball
        if k not in self.coefs:
            self._build(k)
        tau = np.arctan2(np.sqrt(t), np.sqrt(s)) * (2.0 / np.pi)
        c_cdf, c_sf = self.coefs[k][m]
        arg = 2.0 * tau - 1.0
        return _cheb.chebval(arg, c_cdf), np.maximum(_cheb.chebval(arg, c_sf), 0.0)

    def _build(self, k):
        if k - 1 > 2 and (k - 1) not in self.coefs:
            self._build(k - 1)
        tn, sn = self.t_nodes, self.s_nodes
        a = np.sqrt(tn)[:, None]
        pieces = {}
        for m in range(1, k):
            # u in [0, a]: x - u^2 in piece m, t_z = (a-u)(a+u), s_z = s + u^2.
            u = a * self.sin2
            t_z = (a * self.cos2) * (a + u)
            s_z = sn[:, None] + u * u
            c_a, s_a = self.evaluate(k - 1, m, t_z.ravel(), s_z.ravel())
            w_a = a * self.jac
            # u in [a, 1]: piece m-1, t_z = t + (1-u)(1+u), s_z = (u-a)(u+a).
            length = 1.0 - a
            um = length * self.sin2
            u = a + um
            t_z = tn[:, None] + (length * self.cos2) * (1.0 + u)
            s_z = um * (u + a)
            c_b, s_b = self.evaluate(k - 1, m - 1, t_z.ravel(), s_z.ravel())
            w_b = length * self.jac
            shape = t_z.shape
            cdf = (c_a.reshape(shape) * w_a).sum(1) + (c_b.reshape(shape) * w_b).sum(1)
            sf = (s_a.reshape(shape) * w_a).sum(1) + (s_b.reshape(shape) * w_b).sum(1)
            pieces[m] = (self.transform.dot(cdf), self.transform.dot(sf))
        self.coefs[k] = pieces


_TABLES = _Tables()


# ---------------------------------------------------------------------------
# Tilted Fourier series (exact inversion on one period)
# ---------------------------------------------------------------------------

class _PureLaw(object):
    """``Lambda(z) = M(z)^n`` (all ``n`` entries non-zero)."""

    def __init__(self, n):
        self.n = n
        self.support = float(n)
        self.mean = n / 3.0
        self.weight = 1.0
        self.j_min = n

    def cumulants(self, theta):
        log_m, m1, v = _mfuncs(theta)
        return self.n * log_m, self.n * m1, self.n * v, log_m, v

    def log_lambda(self, theta, omega):
        return self.n * _log_m_complex(theta, omega)

    def log_bound(self, lg, log_m_theta):
        return self.n * lg

    def log_bound_power(self, log_c, omega_max, log_m_theta):
        return self.n * (log_c - 0.5 * math.log(omega_max))


class _PsiLaw(object):
    """Continuous part of ``psi(z)^n``, ``psi = 1 - p + p M``:
    ``Lambda(z) = psi(z)^n - (1 - p)^n``."""

    def __init__(self, n, p):
        self.n = n
        self.p = p
        self.log_q = math.log1p(-p)
        self.log_p = math.log(p)
        self.support = float(n)
        self.mean = n * p / 3.0
        self.weight = -math.expm1(n * self.log_q)
        self.j_min = 1

    def _log_psi(self, log_m):
        return np.logaddexp(self.log_q, self.log_p + log_m)

    def cumulants(self, theta):
        n = self.n
        log_m, m1, v = _mfuncs(theta)
        log_psi = float(self._log_psi(log_m))
        share = math.exp(self.log_p + log_m - log_psi)      # p M / psi
        k1 = n * share * m1
        k2 = n * (share * (v + m1 * m1) - (share * m1) ** 2)
        # remove the atom: Lambda = psi^n (1 - rho^n), rho^n = ((1-p)/psi)^n
        log_rho_n = n * (self.log_q - log_psi)
        rho_n = math.exp(log_rho_n)
        g = 1.0 / (-math.expm1(log_rho_n))
        log_lam = n * log_psi + math.log(-math.expm1(log_rho_n))
        k1c = k1 * g
        k2c = k2 * g - k1 * k1 * g * g * rho_n
        return log_lam, k1c, max(k2c, 1e-300), log_m, v

    def _log_psi_rel(self, log_m):
        """``log(psi / (1 - p)) = log1p(p M / (1 - p))`` for complex ``log M``."""
        log_r = self.log_p - self.log_q + log_m
        big = np.real(log_r) > 30.0
        safe = np.where(big, 0.0, log_r)
        small_form = _log1p_complex(np.exp(safe))
        big_form = log_r + _log1p_complex(np.exp(-np.where(big, log_r, 0.0)))
        return np.where(big, big_form, small_form)

    def log_lambda(self, theta, omega):
        # psi^n - (1-p)^n = (1-p)^n expm1(n log(psi / (1-p)))
        v = self.n * self._log_psi_rel(_log_m_complex(theta, omega))
        big = np.real(v) > 30.0
        v_small = np.where(big, 0.0, v)
        v_big = np.where(big, v, 30.0)
        with np.errstate(divide='ignore'):
            small_form = np.log(_expm1_complex(v_small))
        big_form = v_big + _log1p_complex(-np.exp(-v_big))
        return self.n * self.log_q + np.where(big, big_form, small_form)

    def _log_poly(self, lg, log_m_theta):
        # log[(1 - p + p M(theta) g)^n - (1-p)^n] - n log(1-p)
        log_r = self.log_p - self.log_q + log_m_theta + np.asarray(lg, dtype=float)
        return _log_expm1(self.n * np.logaddexp(0.0, log_r))

    def log_bound(self, lg, log_m_theta):
        return self._log_poly(lg, log_m_theta) - self._log_poly(0.0, log_m_theta)

    def log_bound_power(self, log_c, omega_max, log_m_theta):
        return float(self.log_bound(log_c - 0.5 * math.log(omega_max),
                                    log_m_theta)[0])


class _MixLaw(object):
    """``Lambda(z) = sum_j w_j M(z)^j`` over a window ``j0..j1`` of counts."""

    def __init__(self, j0, log_w, support):
        self.j0 = j0
        self.log_w = np.asarray(log_w, dtype=float)
        self.jj = np.arange(j0, j0 + len(self.log_w), dtype=float)
        self.support = float(support)
        self.weight = float(np.exp(special.logsumexp(self.log_w)))
        wts = np.exp(self.log_w - special.logsumexp(self.log_w))
        self.mean = float(np.dot(wts, self.jj)) / 3.0
        self.j_min = j0
        self._theta = None

    def cumulants(self, theta):
        log_m, m1, v = _mfuncs(theta)
        logs = self.log_w + self.jj * log_m
        top = logs.max()
        wts = np.exp(logs - top)
        total = wts.sum()
        wts /= total
        ej = float(np.dot(wts, self.jj))
        varj = float(np.dot(wts, (self.jj - ej) ** 2))
        return top + math.log(total), ej * m1, ej * v + m1 * m1 * varj, log_m, v

    def log_lambda(self, theta, omega):
        log_m_theta = _mfuncs(theta)[0]
        logs = self.log_w + self.jj * log_m_theta
        top = logs.max()
        coef = np.exp(logs - top)
        mu = np.exp(_log_m_complex(theta, omega) - log_m_theta)
        acc = np.full(mu.shape, coef[-1], dtype=complex)
        for c in coef[-2::-1]:
            acc = acc * mu + c
        with np.errstate(divide='ignore'):
            return top + np.log(acc) + self.j0 * np.log(mu)

    def log_bound(self, lg, log_m_theta):
        # sum_j c_j g^j / sum_j c_j by Horner (positive terms, g <= 1)
        logs = self.log_w + self.jj * log_m_theta
        top = logs.max()
        coef = np.exp(logs - top)
        g = np.exp(np.atleast_1d(np.asarray(lg, dtype=float)))
        acc = np.full(g.shape, coef[-1])
        for c in coef[-2::-1]:
            acc = acc * g + c
        with np.errstate(divide='ignore'):
            return np.log(acc) + self.j0 * np.log(g) - math.log(coef.sum())

    def log_bound_power(self, log_c, omega_max, log_m_theta):
        return float(self.log_bound(log_c - 0.5 * math.log(omega_max),
                                    log_m_theta)[0])


def _saddle(kprime, x):
    """``theta`` with ``K'(theta) = x`` (``K'`` increasing)."""
    def fun(theta):
        return kprime(theta) - x
    f0 = fun(0.0)
    if f0 == 0.0:
        return 0.0
    step = 1.0
    if f0 < 0:
        lo, hi = 0.0, step
        while fun(hi) < 0:
            lo, hi = hi, hi * 4.0
            if hi > 1e9:
                return hi
    else:
        lo, hi = -step, 0.0
        while fun(lo) > 0:
            lo, hi = lo * 4.0, lo
            if lo < -1e9:
                return lo
    # theta need not be exact: the series is exact for every theta
    return optimize.brentq(fun, lo, hi, xtol=1e-12, rtol=1e-7)


def _log_aliasing(law, x, upper, theta, length, etas, log_k_etas, log_chernoff):
    """Log of a bound on the aliasing error of a period ``length < n + 1``,
    relative to the Chernoff factor ``exp(log_chernoff)``.

    Folding the measure onto one period ``[-1/2, L - 1/2)`` adds, for
    ``P(S > x)`` (``theta >= 0``), ``sum_{m>=1} e^{theta m L} P(S > x + mL)``
    and drops ``P(S >= L - 1/2)``; for ``P(S <= x)`` (``theta <= 0``) it adds
    at most ``sum_{m>=1} e^{theta m L} P(S >= mL - 1/2)``.  Each probability
    is bounded by Chernoff, ``P(S >= y) <= exp(K(eta) - eta y)`` with
    ``eta > max(theta, 0)``, and the geometric sum is done in closed form.
    """
    if length - 0.5 > law.support:
        return -np.inf
    delta = etas - theta
    with np.errstate(over='ignore'):
        geo = -np.log(np.expm1(delta * length))
    if upper:
        terms = np.logaddexp(log_k_etas - etas * (length - 0.5),
                             log_k_etas - etas * x + geo)
    else:
        terms = log_k_etas + etas * 0.5 + geo
    return float(np.min(terms)) - log_chernoff


def _tail_plan(law, x, upper):
    """Choose ``theta``, the period ``L`` and the number of terms ``K`` for
    the tail at ``x`` (``upper``: ``P(S > x)`` with ``theta >= 0``; else
    ``P(S <= x)`` with ``theta <= 0``), both restricted to the law's
    (sub-)measure."""
    theta = _saddle(lambda th: law.cumulants(th)[1], x)
    theta = max(theta, 0.0) if upper else min(theta, 0.0)
    log_lam, _, k2, log_m, var = law.cumulants(theta)
    log_chernoff = log_lam - theta * x
    plan = {'law': law, 'x': x, 'upper': upper, 'theta': theta,
            'log_lam': log_lam, 'log_chernoff': log_chernoff, 'terms': 0,
            'length': law.support + 1.0, 'zero': log_chernoff < _LOG_TINY}
    if plan['zero']:
        return plan
    sd = math.sqrt(max(k2, 1e-300))
    scale = abs(theta) * math.sqrt(2.0 * math.pi) * sd
    rel_answer = min(0.5, 1.0 / scale if scale > 0 else 0.5)   # A / L
    # the shortest period (doubling the margin) whose aliasing is negligible
    full = law.support + 1.0
    length = min(full, x + 1.0 + 16.0 * sd)
    if length < full:
        base = max(theta, 0.0)
        etas = base + np.exp(np.linspace(-6.0, 6.0, 13)) / sd
        log_k_etas = np.array([law.cumulants(eta)[0] for eta in etas])
        limit = math.log(0.01 * _SERIES_RTOL * rel_answer)
        while length < full:
            if _log_aliasing(law, x, upper, theta, length, etas, log_k_etas,
                             log_chernoff) <= limit:
                break
            length = min(full, x + 1.0 + 2.0 * (length - x - 1.0))
    plan['length'] = length
    plan['a_est'] = length * rel_answer
    plan['terms'] = _terms_needed(plan, _SERIES_RTOL * plan['a_est'])
    return plan


def _entry_bound_grid(plan, omega_lo, points, span):
    """Geometric grid from ``omega_lo`` over ``span`` (in log) with the law's
    normalized term bound ``B`` on it and the power-law remainder beyond."""
    law, theta = plan['law'], plan['theta']
    log_m, _, var = _mfuncs(theta)
    grid = np.exp(np.linspace(math.log(omega_lo), math.log(omega_lo) + span,
                              points))
    lg = _log_entry_bound(theta, log_m, var, grid)
    log_b = np.asarray(law.log_bound(lg, log_m), dtype=float)
    log_c = float(_log_entry_bound_power(theta, log_m))
    tail = 2.0 / law.j_min * math.exp(min(law.log_bound_power(log_c, grid[-1], log_m),
                                          700.0))
    return grid, np.exp(log_b) * (span / (points - 1.0)), tail


def _truncation_bound(plan, omega_start):
    """Bound on the normalized remainder ``|2 Re sum_{omega_k > omega_start}|``:
    ``4 (L / 2 pi) int B(omega) / omega d omega`` (``B`` non-increasing, the
    integral by upper Riemann sums on a geometric grid)."""
    delta = 2.0 * math.pi / plan['length']
    _, pieces, tail = _entry_bound_grid(plan, omega_start, 1501, 75.0)
    return 4.0 / delta * (pieces.sum() + tail)


def _terms_needed(plan, target):
    """Smallest ``K`` whose certified remainder is below ``target``."""
    delta = 2.0 * math.pi / plan['length']
    grid, pieces, tail = _entry_bound_grid(plan, delta, 1501, 75.0)
    remainder = (np.cumsum(pieces[::-1])[::-1] + tail) * (4.0 / delta)
    ok = np.nonzero(remainder <= target)[0]
    if len(ok) == 0:
        return _K_HARD_CAP + 1
    return max(int(math.ceil(grid[ok[0]] / delta)), 4)


def _tail_execute(plan, max_terms=_K_HARD_CAP):
    """Sum the planned series; returns the tail probability.

    Beyond ``max_terms`` the sum is cut there and its certified remainder
    bound is applied on the conservative side (larger ``P(S > x)``, smaller
    ``P(S <= x)``), with a ``RuntimeWarning``.
    """
    if plan['zero']:
        return 0.0
    law, x, theta, length = plan['law'], plan['x'], plan['theta'], plan['length']
    half = 0.5
    terms = min(plan['terms'], max_terms)
    if plan['upper']:
        gap = length - half - x
        edge = math.exp(-theta * gap)
        total = gap if theta == 0 else -math.expm1(-theta * gap) / theta
    else:
        gap = x + half
        edge = math.exp(theta * gap)
        total = gap if theta == 0 else math.expm1(theta * gap) / theta
    chunk = 65536
    for start in range(1, terms + 1, chunk):
        k = np.arange(start, min(start + chunk, terms + 1), dtype=float)
        omega = (2.0 * math.pi / length) * k
        ell = law.log_lambda(theta, omega) - plan['log_lam']
        # exp(-i omega x) = exp(-2 pi i frac(k x / L))
        e_x = np.exp(-2j * math.pi * np.mod(k * (x / length), 1.0))
        e_a = np.exp(1j * omega * half)
        num = (e_x - edge * e_a) if plan['upper'] else (edge * e_a - e_x)
        total += 2.0 * np.sum(np.real(np.exp(ell) * num / (theta + 1j * omega)))
    if plan['terms'] > max_terms:
        bound = _truncation_bound(plan, 2.0 * math.pi / length * terms)
        warnings.warn('normsafe_init._uniform: the series for x=%r was cut at '
                      '%d terms; returning the conservative end of a certified '
                      'interval of relative width %.2g'
                      % (x, terms, bound / max(abs(total), 1e-300)), RuntimeWarning)
        total = total + bound if plan['upper'] else total - bound
    return max(total, 0.0) * math.exp(plan['log_chernoff'] - math.log(length))


def _series_tail(law, x, upper, plan=None):
    """Tail of ``law`` at ``x`` with a certified truncation (see module doc);
    re-planned once if the answer came out much smaller than estimated."""
    if plan is None:
        plan = _tail_plan(law, x, upper)
    tail = _tail_execute(plan)
    if not plan['zero'] and tail > 0:
        actual = tail * plan['length'] / math.exp(plan['log_chernoff'])
        if actual < 0.5 * plan['a_est']:
            plan['terms'] = _terms_needed(plan, _SERIES_RTOL * actual)
            tail = _tail_execute(plan)
    return tail


def _law_cdf_sf_series(law, x):
    """``(P(S <= x), P(S > x))`` restricted to the law's measure, via the
    tilted series on the smaller side."""
    upper = x >= law.mean
    tail = _series_tail(law, x, upper)
    other = law.weight - tail
    if upper:
        return other, tail
    return tail, other


# ---------------------------------------------------------------------------
# The law of S for p = 1 and fixed n (vectorised over x)
# ---------------------------------------------------------------------------

def _pure_cdf_sf(x, n):
    """``(F_n(x), 1 - F_n(x))`` for an array ``x`` (all entries non-zero)."""
    x = np.asarray(x, dtype=float)
    cdf = np.zeros(x.shape)
    sf = np.ones(x.shape)
    top = x >= n
    cdf[top] = 1.0
    sf[top] = 0.0
    inside = (x > 0) & ~top
    if not inside.any():
        return cdf, sf
    if n == 1:
        xi = x[inside]
        root = np.sqrt(xi)
        cdf[inside] = root
        sf[inside] = (1.0 - xi) / (1.0 + root)
        return cdf, sf
    if n == 2:
        xi = x[inside]
        m = np.floor(xi).astype(int)
        for piece in (0, 1):
            sel = m == piece
            if sel.any():
                t = xi[sel] - piece
                s = (piece + 1.0) - xi[sel]
                c, f = _law2(piece, t, s)
                idx = np.nonzero(inside)
                sub = tuple(i[sel] for i in idx)
                cdf[sub] = c
                sf[sub] = f
        return cdf, sf
    low = inside & (x <= 1.0)
    if low.any():
        ball = np.exp(_log_ball(x[low], n))
        cdf[low] = ball
        sf[low] = 1.0 - ball
    high = inside & (x >= n - _V_SERIES_Y)
    if high.any():
        ys = n - x[high]
        vals = np.array([math.exp(_log_vseries(y, n)) for y in ys])
        sf[high] = vals
        cdf[high] = 1.0 - vals
    mid = inside & ~low & ~high
    if mid.any():
        idx = np.nonzero(mid)
        xm = x[mid]
        if n <= _N_TABLE:
            m = np.floor(xm).astype(int)
            for piece in np.unique(m):
                sel = m == piece
                t = xm[sel] - piece
                s = (piece + 1.0) - xm[sel]
                c, f = _TABLES.evaluate(n, int(piece), t, s)
                sub = tuple(i[sel] for i in idx)
                cdf[sub] = c
                sf[sub] = f
        else:
            law = _PureLaw(n)
            flat = list(zip(*idx))
            for pos, xv in zip(flat, xm):
                c, f = _law_cdf_sf_series(law, float(xv))
                cdf[pos] = c
                sf[pos] = f
    return cdf, sf


# ---------------------------------------------------------------------------
# include_prob < 1: binomial mixtures
# ---------------------------------------------------------------------------

def _log_binom_pmf(n, p, j_hi):
    """``log Binom(j; n, p)`` for ``j = 0..j_hi``, with
    ``log C(n, j) = j log n + sum_{i<j} log1p(-i/n) - log j!`` (no
    cancellation between huge ``gammaln`` values when ``n`` is large)."""
    j = np.arange(j_hi + 1, dtype=float)
    steps = np.log1p(-np.arange(j_hi, dtype=float) / n)
    cum = np.concatenate(([0.0], np.cumsum(steps)))
    return (j * math.log(n) + cum - special.gammaln(j + 1.0)
            + j * math.log(p) + (n - j) * math.log1p(-p))


def _mixture_small_j(x, n, p, j_max):
    """``sum_{j=0..j_max} Binom(j) (F_j(x), 1 - F_j(x))`` (``j_max <= 12``)."""
    lb = _log_binom_pmf(n, p, j_max)
    cdf = np.zeros(x.shape) + math.exp(lb[0]) * (x >= 0)
    sf = np.zeros(x.shape) + math.exp(lb[0]) * (x < 0)
    for j in range(1, j_max + 1):
        w = math.exp(lb[j])
        if w == 0.0:
            continue
        c, f = _pure_cdf_sf(x, j)
        cdf += w * c
        sf += w * f
    return cdf, sf


def _ball_mixture(x, n, p):
    """``(P(S <= x), P(S > x))`` for ``0 < x <= 1`` and ``p < 1``."""
    lam = n * p
    j_cap = int(min(n, 3.0 * (lam + 1.0) ** (2.0 / 3.0) + 60))
    while True:
        lb = _log_binom_pmf(n, p, j_cap)
        j = np.arange(j_cap + 1, dtype=float)
        logs = lb + 0.5 * j * math.log(math.pi * x / 4.0) - special.gammaln(0.5 * j + 1.0)
        if j_cap >= n or logs[-1] < logs.max() - 60.0:
            break
        j_cap = min(n, 2 * j_cap)
    cdf = math.exp(special.logsumexp(logs)) if logs.max() > -745 else 0.0
    if cdf <= 0.5:
        return cdf, 1.0 - cdf
    # few non-zero entries: add up the upper tails directly
    w = np.exp(lb)
    sf = w[1] * (1.0 - x) / (1.0 + math.sqrt(x)) if j_cap >= 1 else 0.0
    if j_cap >= 2:
        sf += np.sum(w[2:] * -np.expm1(logs[2:] - lb[2:]))
    return cdf, sf


def _mixture_cdf_sf(xv, n, p):
    """``(P(S <= x), P(S > x))`` for one ``x`` in ``(1, n - 1)``, ``p < 1``,
    ``n > 12``: psi-series if certified, else small-j tables + window series."""
    law = _PsiLaw(n, p)
    upper = xv >= law.mean
    plan = _tail_plan(law, xv, upper)
    atom = math.exp(n * law.log_q)
    if plan['zero'] or plan['terms'] <= _K_PSI_MAX:
        tail = _series_tail(law, xv, upper, plan)
        if upper:
            return 1.0 - tail, tail
        cdf = atom + tail
        return cdf, 1.0 - cdf
    # mixture: j <= 12 exactly, j >= 13 (weights above e^-800) as one series
    cdf_low, sf_low = _mixture_small_j(np.array([xv]), n, p, _N_TABLE)
    cdf, sf = float(cdf_low[0]), float(sf_low[0])
    lam = n * p
    j_hi = min(n, int(lam + 45.0 * math.sqrt(lam) + 900))
    lb = _log_binom_pmf(n, p, j_hi)
    while j_hi < n and lb[-1] >= _LOG_WEIGHT_FLOOR:
        j_hi = min(n, 2 * j_hi)
        lb = _log_binom_pmf(n, p, j_hi)
    lb = lb[_N_TABLE + 1:]
    keep = np.nonzero(lb >= _LOG_WEIGHT_FLOOR)[0]
    if len(keep) == 0:
        return cdf, sf
    lb = lb[keep[0]:keep[-1] + 1]
    high_mass = math.exp(special.logsumexp(lb))
    if high_mass <= 1e-17 * min(cdf, sf):
        return cdf, sf          # the j >= 13 part cannot change either value
    mix = _MixLaw(_N_TABLE + 1 + int(keep[0]), lb, n)
    c_hi, s_hi = _law_cdf_sf_series(mix, xv)
    return cdf + c_hi, sf + s_hi


def _cdf_sf(x, n, p):
    """``(P(S <= x), P(S > x))`` for an array ``x`` (validated inputs),
    exact 0 / 1 outside ``[0, n)`` and clipped to ``[0, 1]`` (sums of
    mixture terms can round one ulp past 1)."""
    x = np.asarray(x, dtype=float)
    cdf, sf = _cdf_sf_raw(x, n, p)
    below, above = x < 0, x >= n
    cdf[below], sf[below] = 0.0, 1.0
    cdf[above], sf[above] = 1.0, 0.0
    return np.clip(cdf, 0.0, 1.0), np.clip(sf, 0.0, 1.0)


def _cdf_sf_raw(x, n, p):
    if p == 1.0:
        return _pure_cdf_sf(x, n)
    if n <= _N_TABLE:
        return _mixture_small_j(x, n, p, n)
    cdf = np.zeros(x.shape)
    sf = np.ones(x.shape)
    atom = math.exp(n * math.log1p(-p))
    zero = x == 0
    cdf[zero] = atom
    sf[zero] = -math.expm1(n * math.log1p(-p))
    top = x >= n - 1.0
    if top.any():
        c, f = _pure_cdf_sf(x[top], n)
        scale = math.exp(n * math.log(p))
        sf[top] = scale * f
        cdf[top] = 1.0 - scale * f
    rest = (x > 0) & ~top
    for pos in zip(*np.nonzero(rest)):
        xv = float(x[pos])
        if xv <= 1.0:
            cdf[pos], sf[pos] = _ball_mixture(xv, n, p)
        else:
            cdf[pos], sf[pos] = _mixture_cdf_sf(xv, n, p)
    return cdf, sf


# ---------------------------------------------------------------------------
# Public distribution functions
# ---------------------------------------------------------------------------

def sq_norm_cdf(x, n, include_prob=1.0):
    """``P(S <= x)`` for ``S = sum_{i=1..n} U_i^2 B_i`` (unit ``irange``).

    ``U_i ~ U(0, 1)``, ``B_i ~ Bernoulli(include_prob)``; so
    ``P(||w|| <= t) = sq_norm_cdf(t**2 / r**2, n, p)`` for ``irange = r``.
    ``P(S <= 0) = (1 - p)^n`` (the atom at 0), ``P(S <= x) = 1`` for
    ``x >= n``.  Computed directly on the lower tail (measured relative
    accuracy ~1e-11 or better, in both tails, down to 1e-15 and below;
    values below ~1e-300 underflow to 0); see the module docstring for the
    method in each regime.

    :param x: scalar or array (not NaN).
    :param n: int >= 1, the number of entries.
    :param include_prob: float in ``(0, 1]``.
    :returns: a float for scalar ``x``, else an array of ``x``'s shape.
    """
    n = _check_n(n)
    p = _check_include_prob(include_prob)
    arr = _check_x(x)
    cdf, _ = _cdf_sf(np.atleast_1d(arr), n, p)
    return _as_output(cdf, arr)


def sq_norm_sf(x, n, include_prob=1.0):
    """``P(S > x) = 1 - sq_norm_cdf(x, n, include_prob)``, computed directly
    on the upper tail (same accuracy as :func:`sq_norm_cdf`).

    ``P(S > x) = 1`` for ``x < 0``, ``1 - (1 - p)^n`` at ``x = 0`` and 0 for
    ``x >= n``.  Same arguments as :func:`sq_norm_cdf`.
    """
    n = _check_n(n)
    p = _check_include_prob(include_prob)
    arr = _check_x(x)
    _, sf = _cdf_sf(np.atleast_1d(arr), n, p)
    return _as_output(sf, arr)


def _initial_guess(level, upper, n, p):
    """Start of the quantile bracket: the Lugannani-Rice quantile (the
    Cornish-Fisher one if that fails), and a step for the bracket search."""
    mean = n * p / 3.0
    var = n * (p / 5.0 - p * p / 9.0)
    sd = math.sqrt(var)
    z = -special.ndtri(level) if upper else special.ndtri(level)
    kappa3 = n * p * (1.0 / 7.0 - p / 5.0 + 2.0 * p * p / 27.0)
    gamma = kappa3 / var ** 1.5
    guess = min(max(mean + sd * (z + gamma / 6.0 * (z * z - 1.0)), 1e-3 * n),
                n * (1.0 - 1e-3))
    small_side = (level <= 0.5) == upper     # the sf is the small tail
    target = math.log(level if level <= 0.5 else 1.0 - level)

    def lr_gap(xv):
        sf, cdf = _lugannani_rice(xv, n, p)
        val = sf if small_side else cdf
        if not val > 0:
            return -50.0 if small_side else 50.0
        gap = math.log(val) - target
        return -gap if small_side else gap
    try:
        lo, hi = 1e-6 * n, n * (1.0 - 1e-6)
        if lr_gap(lo) < 0 < lr_gap(hi):
            guess = optimize.brentq(lr_gap, lo, hi, xtol=1e-6 * n, rtol=1e-6)
    except (ValueError, ZeroDivisionError, OverflowError, RuntimeError):
        pass
    return guess, max(0.02 * guess, 1e-3 * sd)


def _solve_quantile(level, upper, n, p):
    """Smallest ``x`` with ``P(S > x) <= level`` (``upper``) or
    ``P(S <= x) >= level`` (otherwise), ``level`` in ``(0, 1)``.

    Solves ``phi(x) = 0`` for the increasing function
    ``phi = log P(S <= x) - log(level_cdf)`` on the lower half of the law
    and ``phi = log(level_sf) - log P(S > x)`` on the upper half, bracketed
    by ``phi(0) <= 0 <= phi(n)`` and started from a Cornish-Fisher guess.
    """
    log_atom = n * math.log1p(-p) if p < 1 else -np.inf
    if upper:
        if -math.expm1(log_atom) <= level:          # P(S > 0) <= q
            return 0.0
        use_cdf = level > 0.5
        target = math.log1p(-level) if use_cdf else math.log(level)
    else:
        if log_atom >= math.log(level):            # P(S <= 0) >= level
            return 0.0
        use_cdf = level <= 0.5
        target = math.log(level) if use_cdf else math.log1p(-level)
    huge = 1e300

    def phi(xv):
        if xv <= 0.0:
            return -huge
        if xv >= n:
            return huge
        cdf, sf = _cdf_sf(np.array([xv]), n, p)
        if use_cdf:
            return math.log(cdf[0]) - target if cdf[0] > 0 else -huge
        return target - math.log(sf[0]) if sf[0] > 0 else huge

    x0, sd = _initial_guess(level, upper, n, p)
    f0 = phi(x0)
    if f0 == 0.0:
        return x0
    step = 0.25 * sd
    if f0 < 0:
        lo, hi = x0, min(x0 + step, float(n))
        while phi(hi) < 0:
            lo, hi, step = hi, min(hi + 2.0 * step, float(n)), 2.0 * step
    else:
        lo, hi = max(x0 - step, 0.0), x0
        while phi(lo) > 0:
            lo, hi, step = max(lo - 2.0 * step, 0.0), lo, 2.0 * step
    root = optimize.brentq(phi, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=400)
    # return a point that satisfies the defining inequality (phi >= 0), i.e.
    # the conservative side of the 1e-14 bracket (larger isf / ppf)
    step = 4.0 * np.finfo(float).eps * max(abs(root), 1e-300)
    while root < hi and phi(root) < 0:
        root = min(root + step, hi)
        step *= 4.0
    return root


def sq_norm_isf(q, n, include_prob=1.0):
    """Smallest ``x`` with ``P(S > x) <= q`` (the upper ``q`` quantile of S).

    The norm quantile is ``irange * sqrt(sq_norm_isf(q, n, p))``.  For
    ``p < 1`` and ``q >= 1 - (1-p)^n`` the answer is 0 (the atom).  Solved
    by Brent's method on ``log P(S > x) - log q`` (on ``log P(S <= x)`` when
    ``q > 1/2``) to ~1e-14 relative in ``x``; the ``x`` returned satisfies
    ``P(S > x) <= q`` as computed (the conservative side, a few ulps at
    most).  For ``q`` below ~1e-300 the answer is limited by the double
    range (``P(S > x)`` underflows to 0).

    :param q: scalar or array in ``(0, 1)``.
    """
    return _quantiles(q, 'q', True, n, include_prob)


def sq_norm_ppf(p_level, n, include_prob=1.0):
    """Smallest ``x`` with ``P(S <= x) >= p_level`` (the lower quantile).

    0 when ``p_level <= (1 - p)^n``.  Same method and accuracy as
    :func:`sq_norm_isf`.

    :param p_level: scalar or array in ``(0, 1)``.
    """
    return _quantiles(p_level, 'p_level', False, n, include_prob)


def _quantiles(levels, name, upper, n, include_prob):
    """Validate, then solve one quantile per level (upper tail if
    ``upper``), keeping the input's shape."""
    n = _check_n(n)
    p = _check_include_prob(include_prob)
    arr = _check_level(levels, name)
    out = np.array([_solve_quantile(float(v), upper, n, p)
                    for v in np.atleast_1d(arr).ravel()])
    return _as_output(out, arr)


# ---------------------------------------------------------------------------
# Moments of the norm sqrt(S)
# ---------------------------------------------------------------------------

def _log_psi_shift(lam, p):
    """``c(lam) = log psi(-lam) + lam p / 3`` with full relative accuracy.

    ``psi(-lam) = 1 - p + p M(-lam)``, ``M(-lam) = sqrt(pi) erf(sqrt lam)/(2 sqrt lam)``.
    For ``lam <= 1/2``: ``y = p (M - 1)``, ``delta = M - 1 + lam/3`` by its
    alternating series, and ``c = p delta + (log1p(y) - y)`` by series.
    """
    if lam <= 0.5:
        k = np.arange(2, 30)
        terms = (-lam) ** k / (special.gamma(k + 1.0) * (2 * k + 1))
        delta = float(np.sum(terms))
        y = p * (delta - lam / 3.0)
        kk = np.arange(2, 60)
        l2 = float(np.sum((-1.0) ** (kk + 1) * y ** kk / kk))
        return p * delta + l2
    sq = math.sqrt(lam)
    m = _SQRT_PI * math.erf(sq) / (2.0 * sq)
    return math.log1p(p * (m - 1.0)) + lam * p / 3.0


def _norm_moments(n, p):
    """``(E sqrt S, SD sqrt S)`` exactly (numerical quadrature ~1e-13).

    With ``mu = E S = n p / 3`` and ``D = sqrt(mu) - E sqrt(S)``::

        E sqrt(S) = (1 / (2 sqrt pi)) int_0^inf (1 - E e^{-lam S}) lam^(-3/2) dlam
        D = (sqrt(mu) / sqrt(pi)) int_0^inf (psi(-s^2/mu)^n - e^{-s^2}) s^(-2) ds
        Var sqrt(S) = E S - (E sqrt S)^2 = 2 sqrt(mu) D - D^2

    (``E e^{-lam S} = psi(-lam)^n``; the integrand is
    ``e^{-s^2} expm1(n c(s^2/mu))``, ``c`` from :func:`_log_psi_shift`, so
    neither ``D`` nor the variance suffers cancellation.)
    """
    mu = n * p / 3.0

    def integrand(s):
        if s == 0.0:
            return 0.0
        lam = s * s / mu
        val = math.exp(-s * s) * math.expm1(n * _log_psi_shift(lam, p)) \
            if s * s < 700 else None
        if val is None:
            sq = math.sqrt(lam)
            psi = 1.0 - p + p * _SQRT_PI * math.erf(sq) / (2.0 * sq)
            val = math.exp(n * math.log(psi))
        return val / (s * s)

    total = 0.0
    edges = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += _quad(integrand, lo, hi)
    total += _quad(integrand, edges[-1], np.inf)
    d = math.sqrt(mu) / _SQRT_PI * total
    mean = math.sqrt(mu) - d
    var = 2.0 * math.sqrt(mu) * d - d * d
    return mean, math.sqrt(max(var, 0.0))


def _quad(f, a, b):
    return integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=200)[0]


_MOMENT_CACHE = {}


def _cached_moments(n, include_prob):
    """``(mean, sd)`` of the norm, validated and cached per ``(n, p)``."""
    key = (_check_n(n), _check_include_prob(include_prob))
    if key not in _MOMENT_CACHE:
        _MOMENT_CACHE[key] = _norm_moments(*key)
    return _MOMENT_CACHE[key]


def norm_mean(n, include_prob=1.0):
    """``E sqrt(S)``: the mean norm at unit ``irange`` (exact, ~1e-12).

    Computed from the Laplace transform ``E e^{-lam S} = psi(-lam)^n`` (see
    :func:`_norm_moments`), not from the delta method
    ``sqrt(n p / 3) (1 - (9/(5p) - 1)/(8 n))``, which is only a cross-check.
    """
    return _cached_moments(n, include_prob)[0]


def norm_std(n, include_prob=1.0):
    """``SD sqrt(S)``: the standard deviation of the norm at unit ``irange``.

    Exact (``Var = E S - (E sqrt S)^2`` evaluated without cancellation, see
    :func:`_norm_moments`); the delta method gives ``~ 1/sqrt(15)`` for
    ``p = 1`` and ``sqrt((9/(5p) - 1) p / 12)`` in general.
    """
    return _cached_moments(n, include_prob)[1]


# ---------------------------------------------------------------------------
# Saddlepoint cross-check
# ---------------------------------------------------------------------------

def saddlepoint_sf(x, n, include_prob=1.0):
    """Lugannani-Rice approximation of ``P(S > x)`` (a cross-check only).

    ``K(theta) = n log(1 - p + p M(theta))``; solve ``K'(theta) = x``; with
    ``w = sign(theta) sqrt(2 (theta x - K))`` and ``u = theta sqrt(K'')``::

        P(S > x) ~ 1 - Phi(w) + phi(w) (1/u - 1/w)

    Relative error ~1e-3..1e-2 for small ``n``, much better for large ``n``.
    """
    n = _check_n(n)
    p = _check_include_prob(include_prob)
    arr = _check_x(x)
    out = []
    for xv in np.atleast_1d(arr).ravel():
        out.append(_saddlepoint_sf_one(float(xv), n, p))
    return _as_output(np.array(out), arr)


def _lugannani_rice(xv, n, p):
    """``(P(S > x), P(S <= x))`` by Lugannani-Rice, ``0 < x < n``."""
    def cumulants(theta):
        log_m, m1, v = _mfuncs(theta)
        if p == 1.0:
            return n * log_m, n * m1, n * v
        log_psi = float(np.logaddexp(math.log1p(-p), math.log(p) + log_m))
        share = math.exp(math.log(p) + log_m - log_psi)
        return (n * log_psi, n * share * m1,
                n * (share * (v + m1 * m1) - (share * m1) ** 2))

    theta = _saddle(lambda th: cumulants(th)[1], xv)
    k, _, k2 = cumulants(theta)
    arg = 2.0 * (theta * xv - k)
    if abs(theta) < 1e-6 or arg <= 0:
        # the limit at the mean: one-term Edgeworth
        mean = n * p / 3.0
        var = n * (p / 5.0 - p * p / 9.0)
        k3 = n * p * (1.0 / 7.0 - p / 5.0 + 2.0 * p * p / 27.0)
        z = (xv - mean) / math.sqrt(var)
        corr = (k3 / (6.0 * var ** 1.5) * (z * z - 1.0) * math.exp(-0.5 * z * z)
                / math.sqrt(2.0 * math.pi))
        return float(special.ndtr(-z) + corr), float(special.ndtr(z) - corr)
    w = math.copysign(math.sqrt(arg), theta)
    u = theta * math.sqrt(k2)
    corr = math.exp(-0.5 * w * w) / math.sqrt(2.0 * math.pi) * (1.0 / u - 1.0 / w)
    return float(special.ndtr(-w) + corr), float(special.ndtr(w) - corr)


def _saddlepoint_sf_one(xv, n, p):
    if xv < 0:
        return 1.0
    if xv >= n:
        return 0.0
    if xv == 0:
        return -math.expm1(n * math.log1p(-p)) if p < 1 else 1.0
    return _lugannani_rice(xv, n, p)[0]
