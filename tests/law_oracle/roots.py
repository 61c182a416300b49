"""Brent's root finder (inverse quadratic interpolation with bisection
safeguards), so that the laws need neither ``scipy.optimize`` nor its import
time (~0.1-0.4 s) on the command line.

>>> round(brentq(lambda x: x * x - 2.0, 0.0, 2.0), 12)
1.414213562373
"""
from __future__ import absolute_import, division, print_function

__all__ = ['brentq']

_EPS = 2.220446049250313e-16


def brentq(f, a, b, xtol=1e-300, rtol=4 * _EPS, maxiter=200, fa=None,
           fb=None):
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` differ in
    sign, to ``xtol + rtol |x|`` (R. P. Brent, *Algorithms for Minimization
    without Derivatives*, 1973, ch. 4). ``fa``, ``fb``: ``f(a)``, ``f(b)``
    if already known."""
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    if fa == 0:
        return a
    if fb == 0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError('f(a) and f(b) must have different signs; got '
                         'f(%r) = %r, f(%r) = %r' % (a, fa, b, fb))
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = 2 * _EPS * abs(b) + 0.5 * (xtol + rtol * abs(b))
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:                       # secant
                p, q = 2 * m * s, 1 - s
            else:                            # inverse quadratic
                q, r = fa / fc, fb / fc
                p = s * (2 * m * q * (q - r) - (b - a) * (r - 1))
                q = (q - 1) * (r - 1) * (s - 1)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2 * p < min(3 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else (tol if m > 0 else -tol)
        fb = f(b)
    raise RuntimeError('brentq did not converge in %d iterations' % maxiter)
