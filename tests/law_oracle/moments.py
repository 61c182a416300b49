"""The moments of the norm ``sqrt(S)``, ``S = sum_{i<=n} (X_i B_i)^2``, from
the Laplace transform ``E exp(-lam S) = psi(-lam)^n``,
``psi(z) = 1 - p + p M(z)`` (:mod:`law_oracle.entry`).

With ``mu = E S`` and ``D = sqrt(mu) - E sqrt(S)``::

    D = (sqrt(mu) / sqrt(pi)) int_0^inf (psi(-s^2/mu)^n - exp(-s^2)) s^(-2) ds
      = (sqrt(mu) / sqrt(pi)) int_0^inf exp(-s^2) expm1(n c(s^2/mu)) s^(-2) ds
    Var sqrt(S) = E S - (E sqrt S)^2 = 2 sqrt(mu) D - D^2

with ``c(lam) = log psi(-lam) + lam p E X^2`` (series near 0), so that
neither ``D`` nor the variance cancels. ``[0, 64]`` is integrated by
24-point Gauss-Legendre on 8 panels, ``[64, inf)`` after ``s = 64 / u``.
Exact constants (``n = 1, 2, 3``) agree to ~1e-15 (``tests/test_sumlaw.py``).

>>> from law_oracle.entry import UNIFORM_ENTRY
>>> [round(v, 12) for v in norm_moments(UNIFORM_ENTRY, 1, 1.0)]
[0.5, 0.288675134595]
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

__all__ = ['norm_moments']

_GL24_X, _GL24_W = np.polynomial.legendre.leggauss(24)


def _log_psi_shift(entry, p, lam):
    """``c(lam) = log psi(-lam) + lam p m1`` without cancellation, for an
    array of ``lam >= 0``: series for ``lam b <= 1/2``, else
    ``psi(-lam) = 1 - p + p C erf(r) / r``, ``r = sqrt(b (lam + lam_e))``."""
    m = entry.moments
    lam = np.asarray(lam, dtype=float)
    out = np.empty(lam.shape)
    small = lam * entry.b <= 0.5
    if np.any(small):
        ls = lam[small][:, None]
        k = np.arange(2, len(m))
        with np.errstate(divide='ignore'):
            logs = k * np.log(ls) + np.log(m[2:]) - special.gammaln(k + 1.0)
        delta = np.sum((-1.0) ** k * np.exp(logs), axis=1)
        y = (p * (delta - lam[small] * m[1]))[:, None]
        kk = np.arange(2, 60)
        out[small] = p * delta + np.sum((-1.0) ** (kk + 1) * y ** kk / kk,
                                        axis=1)
    big = ~small
    if np.any(big):
        lb = lam[big]
        r = np.sqrt(entry.b * (lb + entry.lam))
        m_val = np.exp(entry.log_c) * special.erf(r) / r
        out[big] = np.log1p(p * (m_val - 1.0)) + lb * p * m[1]
    return out


def norm_moments(entry, n, p):
    """``(E sqrt(S), SD sqrt(S))`` for ``n`` entries with include prob ``p``
    (see the module docstring)."""
    mu = n * p * entry.mean
    total = 0.0
    edges = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = 0.5 * (hi - lo) * (_GL24_X + 1.0) + lo
        lam = s * s / mu
        nc = n * _log_psi_shift(entry, p, lam)
        with np.errstate(under='ignore', over='ignore'):
            val = np.where(s * s < 600.0, np.exp(-s * s) * np.expm1(
                np.minimum(nc, 600.0)), np.exp(nc - s * s) - np.exp(-s * s))
        total += 0.5 * (hi - lo) * float(np.dot(_GL24_W, val / (s * s)))
    # s = 64 / u, u in (0, 1]: psi(-s^2/mu)^n (exp(-s^2) is nil there)
    u = 0.5 * (_GL24_X + 1.0)
    s = 64.0 / u
    log_psi = _log_psi_shift(entry, p, s * s / mu) - s * s / mu * p * \
        entry.moments[1]
    with np.errstate(under='ignore'):
        tail = np.exp(n * log_psi) / (s * s) * 64.0 / (u * u)
    total += 0.5 * float(np.dot(_GL24_W, tail))
    d = math.sqrt(mu) / math.sqrt(math.pi) * total
    mean = math.sqrt(mu) - d
    var = 2.0 * math.sqrt(mu) * d - d * d
    return mean, math.sqrt(max(var, 0.0))
