"""The init families :class:`Uniform`, :class:`Gaussian`, :class:`Sparse`,
:class:`TruncNormal` and :class:`Zero` (each class says what it draws and
the law of ``||w||``). The chi laws (Gaussian, sparse) are exact; the law of
``S`` for bounded entries (uniform, truncated normal) is exact where
``n p < 16``, else a saddlepoint approximation scaled up so that its
quantiles are never below the exact ones
(:mod:`normsafe_init.laws.saddlepoint`). The base class and the statistics
over ``m`` vectors are in :mod:`normsafe_init.laws.family`.

Example::

    >>> round(Gaussian(0.01).mean(46208), 4)
    2.1496
    >>> round(Uniform(0.05).bound(784), 6)
    1.4
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

from .._validation import check_fraction, check_int
from .family import InitFamily
from .saddlepoint import TRUNCNORMAL_ENTRY, UNIFORM_ENTRY, sum_law

__all__ = ['Uniform', 'Gaussian', 'Sparse', 'TruncNormal', 'Zero']

#: Above this many degrees of freedom the chi moments come from their
#: asymptotic series (``n - mean**2`` cancels).
_CHI_SERIES_DOF = 200


def _chi_mean(k):
    """E[chi_k] = sqrt(2) Gamma((k+1)/2) / Gamma(k/2)
    = sqrt(k) (1 - 1/(4k) + 1/(32k^2) + 5/(128k^3) - 21/(2048k^4)
    - 399/(8192k^5) + ...), relative error < 1e-12 for k >= 200."""
    if k < _CHI_SERIES_DOF:
        return math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2.0)
                                         - math.lgamma(k / 2.0))
    x = 1.0 / k
    return math.sqrt(k) * (1 - x / 4 + x ** 2 / 32 + 5 * x ** 3 / 128
                           - 21 * x ** 4 / 2048 - 399 * x ** 5 / 8192)


def _chi_std(k):
    """SD[chi_k]; Var = k - E[chi_k]^2 = 1/2 - 1/(8k) - 1/(16k^2)
    + 5/(128k^3) + O(k^-4) for k >= 200."""
    if k < _CHI_SERIES_DOF:
        return math.sqrt(max(k - _chi_mean(k) ** 2, 0.0))
    x = 1.0 / k
    return math.sqrt(0.5 - x / 8 - x ** 2 / 16 + 5 * x ** 3 / 128)


class Gaussian(InitFamily):
    """pylearn2 ``istdev=s``: entries ``N(0, s^2)``; ``||w|| = s * chi_n``.

    Exact: ``P(||w|| <= t) = P(n/2, t^2 / (2 s^2))`` (regularised lower
    gamma; ``chi2.cdf(t^2 / s^2, n)``), quantiles from its inverse,
    ``E||w|| = s sqrt(2) Gamma((n+1)/2) / Gamma(n/2) ~ s sqrt(n - 1/2)``,
    ``SD ~ s / sqrt(2)``.

    >>> round(Gaussian(1.0).isf(0.01, 16), 5)      # sqrt(chi2.isf(0.01, 16))
    5.65685
    """
    param_name = 'istdev'
    kind = 'gaussian'

    def __init__(self, istdev):
        InitFamily.__init__(self, istdev)

    def _dof(self, n):
        return n

    def _unit_cdf(self, u, n):
        return special.gammainc(self._dof(n) / 2.0,
                                np.square(np.maximum(u, 0)) / 2.0)[()]

    def _unit_sf(self, u, n):
        return special.gammaincc(self._dof(n) / 2.0,
                                 np.square(np.maximum(u, 0)) / 2.0)[()]

    def _unit_ppf(self, p, n):
        return math.sqrt(2.0 * float(special.gammaincinv(self._dof(n) / 2.0, p)))

    def _unit_isf(self, q, n):
        return math.sqrt(2.0 * float(special.gammainccinv(self._dof(n) / 2.0,
                                                          q)))

    def _unit_mean(self, n):
        return _chi_mean(self._dof(n))

    def _unit_std(self, n):
        return _chi_std(self._dof(n))

    def _unit_bound(self, n):
        return np.inf

    def _draw_unit(self, shape, axes, rng, mask):
        return rng.randn(*shape) if shape else np.asarray(rng.randn())


class Sparse(Gaussian):
    """pylearn2 ``sparse_init=k, sparse_stdev=s``: exactly ``k`` entries of
    every vector are ``N(0, 1) * s`` (positions drawn uniformly among the
    live entries), the rest 0; ``||w|| = s * chi_k``, whatever ``n``.

    ``Softmax`` has no ``sparse_stdev`` (it is 1).

    >>> Sparse(15).mean(784) == Sparse(15).mean(15)
    True
    """
    param_name = 'sparse_stdev'
    kind = 'sparse'
    _elementwise = False

    def __init__(self, sparse_init, sparse_stdev=1.0):
        self.sparse_init = check_int(sparse_init, 'sparse_init', minimum=1)
        InitFamily.__init__(self, sparse_stdev)

    def params(self):
        return {'sparse_init': self.sparse_init, 'sparse_stdev': self.scale}

    def _dof(self, n):
        if self.sparse_init > n:
            raise ValueError('sparse_init (%d) must not exceed the number of '
                             'entries per vector (%d)' % (self.sparse_init, n))
        return self.sparse_init

    def _draw_into(self, out, axes, rng, mask):
        """Draw into ``out`` in place, a block of vectors at a time: the
        extra memory is one ``(vectors, n)`` float64 block of ``2**20``
        entries (plus one copy in ``out``'s dtype when the constrained axes
        cannot be viewed as rows of ``out``)."""
        from ..norms import vector_shape
        shape = out.shape
        n, m = vector_shape(shape, axes)
        self._dof(n)
        kept = [a for a in range(len(shape)) if a not in axes]
        order = kept + list(axes)
        view = np.transpose(out, order)
        rows = view.reshape(m, n)        # a view whenever the axes allow
        copied = not np.may_share_memory(rows, out)
        rows[...] = 0
        live = None
        if mask is not None:
            live = np.transpose(mask, order).reshape(m, n) != 0
            short = live.sum(axis=1) < self.sparse_init
            if short.any():
                raise ValueError('mask leaves fewer than sparse_init=%d live '
                                 'entries in %d vector(s)'
                                 % (self.sparse_init, int(short.sum())))
        k = self.sparse_init
        chunk = max(1, (1 << 20) // max(n, 1))
        for start in range(0, m, chunk):
            stop = min(m, start + chunk)
            keys = rng.random_sample((stop - start, n))
            if live is not None:
                keys[~live[start:stop]] = 2.0
            picks = np.argpartition(keys, k - 1, axis=1)[:, :k]
            values = rng.randn(stop - start, k)
            if self.scale != 1.0:
                values *= self.scale
            rows[np.arange(start, stop)[:, None], picks] = values
        if copied:
            view[...] = rows.reshape(view.shape)
        return out


class _SquaredSum(InitFamily):
    """Element-wise bounded entries: ``||w|| = scale * sqrt(S)`` with the law
    of ``S`` from :func:`normsafe_init.laws.saddlepoint.sum_law`."""
    _entry = None
    include_prob = 1.0

    def _law(self, n):
        return sum_law(self._entry, n, self.include_prob)

    def _unit_cdf(self, u, n):
        x = np.where(u < 0, -1.0, np.square(u))      # t < 0: below the atom
        return self._law(n).cdf(x)

    def _unit_sf(self, u, n):
        x = np.where(u < 0, -1.0, np.square(u))
        return self._law(n).sf(x)

    def _unit_ppf(self, p, n):
        return math.sqrt(self._law(n).ppf(p))

    def _unit_isf(self, q, n):
        return math.sqrt(self._law(n).isf(q))

    def _unit_mean(self, n):
        return self._law(n).norm_moments()[0]

    def _unit_std(self, n):
        return self._law(n).norm_moments()[1]

    def _unit_bound(self, n):
        return math.sqrt(n * self._entry.b)


class Uniform(_SquaredSum):
    """pylearn2 ``irange=r`` (with ``include_prob=p``): entries
    ``U(-r, r) * Bernoulli(p)``; ``||w|| = r * sqrt(S)``,
    ``S = sum_i U_i^2 B_i``, ``U_i ~ U(0, 1)``. Also any symmetric
    ``U(-a, a)`` (torch's ``kaiming_uniform_`` bound, Keras ``RandomUniform``):
    ``Uniform(a)``.

    ``E||w||^2 = p n r^2 / 3``; ``E||w|| ~ r sqrt(p n / 3)``; SD ``~ r/sqrt(15)``
    for ``p = 1``. Hard bound ``||w|| <= r sqrt(n)``. Conv layers ignore
    ``include_prob`` (pass 1.0).

    >>> round(Uniform(1.0).ppf(0.5, 2), 6) == round(math.sqrt(2 / math.pi), 6)
    True
    """
    param_name = 'irange'
    kind = 'uniform'
    _entry = UNIFORM_ENTRY

    _describe_defaults = {'include_prob': 1.0}

    def __init__(self, irange, include_prob=1.0):
        self.include_prob = check_fraction(include_prob, 'include_prob')
        InitFamily.__init__(self, irange)

    def params(self):
        return {'irange': self.scale, 'include_prob': self.include_prob}

    def _draw_unit(self, shape, axes, rng, mask):
        W = rng.uniform(-1.0, 1.0, shape)
        if self.include_prob < 1.0:
            W *= rng.uniform(0.0, 1.0, shape) < self.include_prob
        return W


class TruncNormal(_SquaredSum):
    """Keras ``TruncatedNormal(mean=0, stddev=s)``: entries ``N(0, s^2)``,
    values beyond ``2 s`` redrawn, i.e. ``N(0, s^2)`` truncated to
    ``[-2s, 2s]`` (actual SD ``0.87962566103423978 s``). ``||w|| = s sqrt(S)``,
    ``S = sum Z_i^2`` with ``Z ~ N(0, 1)`` given ``|Z| <= 2``;
    ``E exp(z Z^2) = erf(sqrt(2 (1 - 2z))) / (sqrt(1 - 2z) erf(sqrt 2))``.
    Hard bound ``||w|| <= 2 s sqrt(n)``. Keras's
    ``VarianceScaling(distribution='truncated_normal')`` is
    ``TruncNormal(sqrt(scale / fan) / 0.87962566103423978)``.

    >>> round(TruncNormal(1.0).std(1) ** 2 + TruncNormal(1.0).mean(1) ** 2, 6)
    0.773741
    """
    param_name = 'stddev'
    kind = 'truncnormal'
    _entry = TRUNCNORMAL_ENTRY
    #: SD of one entry at ``stddev = 1``.
    SD_FACTOR = 0.87962566103423978

    def __init__(self, stddev):
        InitFamily.__init__(self, stddev)

    def _draw_unit(self, shape, axes, rng, mask):
        z = np.asarray(rng.standard_normal(shape), dtype=np.float64)
        bad = np.abs(z) > 2.0
        while bad.any():        # Keras: redraw what falls beyond 2 stddev
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2.0
        return z


class Zero(InitFamily):
    """An all-zero init (``irange: 0``, ``istdev: 0``, ``sparse_init: 0``):
    every norm is 0. It has no scale to solve for.

    >>> Zero().max_ppf(0.99, 784, 10)
    0.0
    """
    param_name = 'scale'
    kind = 'zero'

    def __init__(self, scale=0.0):
        InitFamily.__init__(self, 0.0)

    def params(self):
        return {}

    def describe(self):
        return 'all zero'

    def _unit_mean(self, n):
        return 0.0

    _unit_std = _unit_mean

    def _unit_ppf(self, p, n):
        return 0.0

    _unit_isf = _unit_ppf

    def _unit_bound(self, n):
        return 0.0

    def _draw_unit(self, shape, axes, rng, mask):
        return np.zeros(shape)
