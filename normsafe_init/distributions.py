"""pylearn2's initialisation families and the exact law of a vector's norm.

A constrained vector ``w`` (a column, row or kernel) has ``n`` entries drawn
iid by the layer's declared init, and a layer has ``m`` such vectors, drawn
independently. Each family is a *scale family*: ``||w|| = scale * ||u||``
where ``u`` is the draw at unit scale, so every quantity below is computed at
unit scale and multiplied.

=====================  ===============================  =======================
family (pylearn2)      one entry                        law of ``||w||``
=====================  ===============================  =======================
:class:`Uniform`       ``U(-irange, irange)``, times    ``irange * sqrt(S)``,
(``irange``,           ``Bernoulli(include_prob)``      ``S = sum U_i^2 B_i``
``include_prob``)                                       (exact, ``_uniform``)
:class:`Gaussian`      ``N(0, istdev^2)``               ``istdev * chi_n``
(``istdev``)
:class:`Sparse`        exactly ``k`` non-zeros per      ``sparse_stdev * chi_k``
(``sparse_init=k``,    vector, ``N(0,1) * sparse_stdev``  (independent of ``n``)
``sparse_stdev``)
:class:`Zero`          0 (``irange: 0``,                0
                       ``sparse_init: 0``)
=====================  ===============================  =======================

For ``m`` independent vectors and a threshold ``t``::

    P(all m norms <= t)     = F(t) ** m
    expected number above t = m * (1 - F(t))
    quantile p of the max   = F^-1(p ** (1/m)) = isf(-expm1(log(p) / m))

``n`` may also be an array of per-vector fan-ins (pylearn2's ``mask_weights``
gives each column its own count of live entries); the formulas above then
take the product / sum over the vectors.
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import optimize, stats

from . import _uniform
from ._validation import (check_axes, check_fraction, check_int,
                          check_open_probability, check_positive, check_real)

__all__ = ['InitFamily', 'Uniform', 'Gaussian', 'Sparse', 'Zero',
           'family_from_params', 'fan_in_groups']


def fan_in_groups(n, m=None):
    """``[(n_j, m_j), ...]``: distinct fan-ins and how many vectors have each.

    ``n`` is an int (then ``m`` vectors share it; ``m`` defaults to 1) or an
    array of per-vector fan-ins (then ``m``, if given, must equal its size).
    """
    if np.ndim(n) == 0:
        n = check_int(n, 'n', minimum=1)
        m = 1 if m is None else check_int(m, 'm', minimum=1)
        return [(n, m)]
    counts = np.asarray(n).ravel()
    if counts.size == 0:
        raise ValueError('n must name at least one vector; got an empty array')
    if m is not None and check_int(m, 'm', minimum=1) != counts.size:
        raise ValueError('m must equal the number of per-vector fan-ins (%d); '
                         'got %r' % (counts.size, m))
    values, repeats = np.unique(counts, return_counts=True)
    return [(check_int(v, 'n', minimum=1), int(r))
            for v, r in zip(values, repeats)]


_UNIT_MAX_PPF_CACHE = {}

#: Entries drawn at once by element-wise families.
_DRAW_BLOCK = 1 << 20

#: Above this many degrees of freedom the chi moments come from their
#: asymptotic series (scipy's ``chi.mean`` overflows to NaN past ~340 in
#: scipy 1.2, and ``n - mean**2`` cancels).
_CHI_SERIES_DOF = 200


def _chi_mean(k):
    """E[chi_k] = sqrt(2) Gamma((k+1)/2) / Gamma(k/2)
    = sqrt(k) (1 - 1/(4k) + 1/(32k^2) + 5/(128k^3) - 21/(2048k^4)
    - 399/(8192k^5) + ...), relative error < 1e-12 for k >= 200."""
    if k < _CHI_SERIES_DOF:
        return float(stats.chi.mean(k))
    x = 1.0 / k
    return math.sqrt(k) * (1 - x / 4 + x ** 2 / 32 + 5 * x ** 3 / 128
                           - 21 * x ** 4 / 2048 - 399 * x ** 5 / 8192)


def _chi_std(k):
    """SD[chi_k]; Var = k - E[chi_k]^2 = 1/2 - 1/(8k) - 1/(16k^2)
    + 5/(128k^3) + O(k^-4) for k >= 200."""
    if k < _CHI_SERIES_DOF:
        return float(stats.chi.std(k))
    x = 1.0 / k
    return math.sqrt(0.5 - x / 8 - x ** 2 / 16 + 5 * x ** 3 / 128)


class InitFamily(object):
    """Base class: a pylearn2 init family at a given scale.

    Subclasses define ``param_name`` (the pylearn2 option that is the
    scale), the unit-scale law (``_unit_cdf``, ``_unit_sf``, ``_unit_isf``,
    ``_unit_ppf``, ``_unit_mean``, ``_unit_std``, ``_unit_bound``), and
    ``_draw_unit``.
    """

    #: pylearn2 option holding the scale: 'irange', 'istdev', 'sparse_stdev'.
    param_name = None
    #: Short name used by the command line and the logs.
    kind = None

    def __init__(self, scale):
        self.scale = check_positive(scale, self.param_name, allow_zero=True)

    # -- construction -----------------------------------------------------
    def with_scale(self, scale):
        """The same family with its scale parameter set to ``scale``."""
        params = self.params()
        params[self.param_name] = scale
        return type(self)(**params)

    def params(self):
        """The pylearn2 options that define this init, as a dict."""
        return {self.param_name: self.scale}

    def describe(self):
        """``'istdev=0.01'``-style text for logs."""
        return ', '.join('%s=%.6g' % (k, v)
                         for k, v in sorted(self.params().items()))

    def to_dict(self):
        """JSON-serialisable description."""
        out = {'family': self.kind}
        out.update(self.params())
        return out

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__, self.describe())

    def __eq__(self, other):
        return type(self) is type(other) and self.params() == other.params()

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    # -- law of one vector's norm ------------------------------------------
    def _scaled(self, t):
        """``t / scale`` (inf where the scale is 0 and t > 0)."""
        t = np.asarray(t, dtype=np.float64)
        if self.scale == 0:
            return np.where(t >= 0, np.inf, -np.inf)
        return t / self.scale

    def mean(self, n):
        """E||w|| for a vector of ``n`` entries."""
        return self.scale * self._unit_mean(check_int(n, 'n'))

    def std(self, n):
        """SD of ||w||."""
        return self.scale * self._unit_std(check_int(n, 'n'))

    def bound(self, n):
        """Hard upper bound of ||w|| (``inf`` where there is none)."""
        return self.scale * self._unit_bound(check_int(n, 'n'))

    def cdf(self, t, n):
        """P(||w|| <= t)."""
        n = check_int(n, 'n')
        t = np.asarray(t, dtype=np.float64)
        if self.scale == 0:
            return np.where(t >= 0, 1.0, 0.0)[()]
        return self._unit_cdf(self._scaled(t), n)

    def sf(self, t, n):
        """P(||w|| > t), computed directly (accurate for tiny tails)."""
        n = check_int(n, 'n')
        t = np.asarray(t, dtype=np.float64)
        if self.scale == 0:
            return np.where(t >= 0, 0.0, 1.0)[()]
        return self._unit_sf(self._scaled(t), n)

    def ppf(self, p, n):
        """Quantile: smallest t with P(||w|| <= t) >= p."""
        p = check_open_probability(p, 'p')
        return self.scale * self._unit_ppf(p, check_int(n, 'n'))

    def isf(self, q, n):
        """Smallest t with P(||w|| > t) <= q."""
        q = check_open_probability(q, 'q')
        return self.scale * self._unit_isf(q, check_int(n, 'n'))

    # -- m independent vectors ---------------------------------------------
    def log_prob_all_below(self, t, n, m=None):
        """log P(every vector's norm <= t)."""
        t = check_real(t, 't')
        total = 0.0
        for n_j, m_j in fan_in_groups(n, m):
            cdf = float(self.cdf(t, n_j))
            if cdf <= 0.0:
                return -np.inf
            sf = float(self.sf(t, n_j))
            # log F = log1p(-sf) keeps precision when F is close to 1.
            total += m_j * (np.log1p(-sf) if sf < 0.5 else np.log(cdf))
        return total

    def prob_all_below(self, t, n, m=None):
        """P(every one of the ``m`` vectors has norm <= t) = F(t)^m."""
        return float(np.exp(self.log_prob_all_below(t, n, m)))

    def expected_above(self, t, n, m=None):
        """Expected number of vectors with norm > t: m (1 - F(t))."""
        t = check_real(t, 't')
        return float(sum(m_j * float(self.sf(t, n_j))
                         for n_j, m_j in fan_in_groups(n, m)))

    def mean_norm(self, n, m=None):
        """Mean of E||w|| over the vectors (per-vector fan-ins allowed)."""
        groups = fan_in_groups(n, m)
        total = sum(m_j for _, m_j in groups)
        return float(sum(m_j * self.mean(n_j) for n_j, m_j in groups) / total)

    def max_ppf(self, p, n, m=None):
        """Quantile ``p`` of the largest of the ``m`` norms.

        With one fan-in, ``F^-1(p^(1/m))`` evaluated as ``isf(q)`` with
        ``q = -expm1(log(p) / m)`` so that ``p^(1/m)`` is never rounded to 1.
        """
        p = check_open_probability(p, 'p')
        if self.scale == 0:
            return 0.0
        return self.scale * self._unit_max_ppf(p, n, m)

    def _unit_max_ppf(self, p, n, m=None):
        groups = fan_in_groups(n, m)
        if len(groups) == 1:
            n_j, m_j = groups[0]
            # Unit-scale quantiles do not depend on the scale: cache them, as
            # the expected maximum, the solver and its result all ask again.
            key = (self.kind, tuple(sorted(
                (k, v) for k, v in self.params().items()
                if k != self.param_name)), n_j, m_j, p)
            value = _UNIT_MAX_PPF_CACHE.get(key)
            if value is None:
                if len(_UNIT_MAX_PPF_CACHE) >= 1024:
                    _UNIT_MAX_PPF_CACHE.clear()
                value = self._unit_isf(-math.expm1(math.log(p) / m_j), n_j)
                _UNIT_MAX_PPF_CACHE[key] = value
            return value
        unit = self.with_scale(1.0)
        log_p = math.log(p)
        # Bracket: the largest single-group quantile is an upper bound of
        # nothing in general; search between the smallest and largest of the
        # per-group quantiles at the per-vector level.
        total = sum(m_j for _, m_j in groups)
        q = -math.expm1(log_p / total)
        lo = min(self._unit_isf(q, n_j) for n_j, _ in groups)
        hi = max(self._unit_isf(min(q, 0.5) / total, n_j) for n_j, _ in groups)

        def excess(u):
            return unit.log_prob_all_below(u, n, m) - log_p

        while excess(lo) > 0:
            lo /= 2.0
        while excess(hi) < 0:
            hi *= 2.0
        return optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-12)

    # -- drawing -------------------------------------------------------------
    #: True when entries are drawn independently of the vector structure
    #: (then ``draw`` works block by block, in bounded memory).
    _elementwise = True

    def draw(self, shape, axes, rng, dtype='float64', mask=None, out=None):
        """A new array drawn with pylearn2's semantics for this family.

        Parameters
        ----------
        shape : tuple of ints
            Weight shape.
        axes : tuple of ints
            Axes of one constrained vector (used by :class:`Sparse`, which
            puts exactly ``k`` non-zeros in every vector).
        rng : numpy.random.RandomState
            A dedicated, seeded generator (never the model's own ``rng``).
        dtype : numpy dtype
            dtype of the result (ignored when ``out`` is given).
        mask : array or None
            pylearn2 ``mask_weights``: masked entries are zero in the result
            (and :class:`Sparse` only places non-zeros on live entries).
        out : ndarray or None
            Array of ``shape`` to draw into (in place).

        Notes
        -----
        Element-wise families draw blocks of at most ``2**20`` entries along
        the first axis, in order, so the extra memory is one float64 block;
        the stream of ``rng`` is used in a fixed order for a given shape.
        """
        shape = tuple(int(s) for s in shape)
        axes = check_axes(axes, len(shape))
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != shape:
                raise ValueError('mask must have the weight shape %r; got %r'
                                 % (shape, mask.shape))
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != shape:
            raise ValueError('out must have the weight shape %r; got %r'
                             % (shape, out.shape))
        if not self._elementwise or not shape[0]:
            W = self._draw_unit(shape, axes, rng, mask)
            if self.scale != 1.0:
                W *= self.scale
            if mask is not None:
                W *= mask
            out[...] = W
            return out
        per_row = max(1, int(np.prod(shape[1:])))
        step = max(1, _DRAW_BLOCK // per_row)
        for start in range(0, shape[0], step):
            stop = min(shape[0], start + step)
            block = self._draw_unit((stop - start,) + shape[1:], axes, rng,
                                    None)
            if self.scale != 1.0:
                block *= self.scale
            if mask is not None:
                block *= mask[start:stop]
            out[start:stop] = block
        return out


class Gaussian(InitFamily):
    """pylearn2 ``istdev=s``: entries ``N(0, s^2)``; ``||w|| = s * chi_n``.

    Exact: ``P(||w|| <= t) = chi2.cdf(t^2 / s^2, n)``,
    ``E||w|| = s sqrt(2) Gamma((n+1)/2) / Gamma(n/2) ~ s sqrt(n - 1/2)``,
    ``SD ~ s / sqrt(2)``.
    """
    param_name = 'istdev'
    kind = 'gaussian'

    def __init__(self, istdev):
        InitFamily.__init__(self, istdev)

    def _dof(self, n):
        return n

    def _unit_cdf(self, u, n):
        return stats.chi2.cdf(np.square(np.maximum(u, 0)), self._dof(n))[()]

    def _unit_sf(self, u, n):
        return stats.chi2.sf(np.square(np.maximum(u, 0)), self._dof(n))[()]

    def _unit_ppf(self, p, n):
        return float(np.sqrt(stats.chi2.ppf(p, self._dof(n))))

    def _unit_isf(self, q, n):
        return float(np.sqrt(stats.chi2.isf(q, self._dof(n))))

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

    def _draw_unit(self, shape, axes, rng, mask):
        from .norms import vector_shape
        n, m = vector_shape(shape, axes)
        self._dof(n)
        kept = [a for a in range(len(shape)) if a not in axes]
        order = kept + list(axes)
        # Work on a (m, n) view: one row per constrained vector.
        W = np.zeros([shape[a] for a in order])
        rows = W.reshape(m, n)
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
            rows[np.arange(start, stop)[:, None], picks] = values
        return np.transpose(W, np.argsort(order))


class Uniform(InitFamily):
    """pylearn2 ``irange=r`` (with ``include_prob=p``): entries
    ``U(-r, r) * Bernoulli(p)``; ``||w|| = r * sqrt(S)``,
    ``S = sum_i U_i^2 B_i``, ``U_i ~ U(0, 1)``.

    ``E||w||^2 = p n r^2 / 3``; ``E||w|| ~ r sqrt(p n / 3)``; SD ``~ r/sqrt(15)``
    for ``p = 1``. Hard bound ``||w|| <= r sqrt(n)``. The law of ``S`` is
    computed exactly in :mod:`normsafe_init._uniform`. Conv layers ignore
    ``include_prob`` (pass 1.0).
    """
    param_name = 'irange'
    kind = 'uniform'

    def __init__(self, irange, include_prob=1.0):
        self.include_prob = check_fraction(include_prob, 'include_prob')
        InitFamily.__init__(self, irange)

    def params(self):
        return {'irange': self.scale, 'include_prob': self.include_prob}

    def _unit_cdf(self, u, n):
        x = np.where(u < 0, -1.0, np.square(u))  # t < 0: below the atom at 0
        return _uniform.sq_norm_cdf(x, n, self.include_prob)

    def _unit_sf(self, u, n):
        x = np.where(u < 0, -1.0, np.square(u))  # t < 0: below the atom at 0
        return _uniform.sq_norm_sf(x, n, self.include_prob)

    def _unit_ppf(self, p, n):
        return float(np.sqrt(_uniform.sq_norm_ppf(p, n, self.include_prob)))

    def _unit_isf(self, q, n):
        return float(np.sqrt(_uniform.sq_norm_isf(q, n, self.include_prob)))

    def _unit_mean(self, n):
        return float(_uniform.norm_mean(n, self.include_prob))

    def _unit_std(self, n):
        return float(_uniform.norm_std(n, self.include_prob))

    def _unit_bound(self, n):
        return math.sqrt(n)

    def _draw_unit(self, shape, axes, rng, mask):
        W = rng.uniform(-1.0, 1.0, shape)
        if self.include_prob < 1.0:
            W *= rng.uniform(0.0, 1.0, shape) < self.include_prob
        return W


class Zero(InitFamily):
    """An all-zero init (``irange: 0``, ``istdev: 0``, ``sparse_init: 0``):
    every norm is 0. It has no scale to solve for."""
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


def family_from_params(irange=None, istdev=None, sparse_init=None,
                       sparse_stdev=1.0, include_prob=1.0):
    """The family a pylearn2 layer declares through its init options.

    Exactly one of ``irange``, ``istdev``, ``sparse_init`` must be given
    (as pylearn2 requires); a zero value gives :class:`Zero`.
    """
    given = [name for name, value in (('irange', irange), ('istdev', istdev),
                                      ('sparse_init', sparse_init))
             if value is not None]
    if len(given) != 1:
        raise ValueError('exactly one of irange, istdev, sparse_init must be '
                         'set; got %s' % (', '.join(given) or 'none'))
    if irange is not None:
        irange = check_positive(irange, 'irange', allow_zero=True)
        return Zero() if irange == 0 else Uniform(irange, include_prob)
    if istdev is not None:
        istdev = check_positive(istdev, 'istdev', allow_zero=True)
        return Zero() if istdev == 0 else Gaussian(istdev)
    sparse_init = check_int(sparse_init, 'sparse_init', minimum=0)
    if sparse_init == 0 or sparse_stdev == 0:
        return Zero()
    return Sparse(sparse_init, sparse_stdev)
