"""The base of every init family: the law of a vector's norm at any scale,
of the largest of ``m`` norms, and the block-wise draw.

A constrained vector ``w`` (a column, row or kernel) has ``n`` entries drawn
iid by the declared init, and a layer has ``m`` such vectors, drawn
independently. Each family is a *scale family*: ``||w|| = scale * ||u||``
where ``u`` is the draw at unit scale, so every quantity is computed at unit
scale and multiplied. For ``m`` independent vectors and a threshold ``t``::

    P(all m norms <= t)     = F(t) ** m
    expected number above t = m * (1 - F(t))
    quantile p of the max   = F^-1(p ** (1/m)) = isf(-expm1(log(p) / m))

``n`` may also be an array of per-vector fan-ins (pylearn2's ``mask_weights``
gives each column its own count of live entries); the formulas above then
take the product / sum over the vectors.

The concrete families are in :mod:`normsafe_init.laws.families`.
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np

from .._validation import (check_axes, check_int, check_open_probability,
                           check_positive, check_real)

__all__ = ['InitFamily', 'fan_in_groups']

_UNIT_MAX_PPF_CACHE = {}

#: Entries drawn at once by element-wise families.
DRAW_BLOCK = 1 << 20


def fan_in_groups(n, m=None):
    """``[(n_j, m_j), ...]``: distinct fan-ins and how many vectors have each.

    ``n`` is an int (then ``m`` vectors share it; ``m`` defaults to 1) or an
    array of per-vector fan-ins (then ``m``, if given, must equal its size).

    >>> fan_in_groups([5, 3, 5])
    [(3, 1), (5, 2)]
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


class InitFamily(object):
    """Base class: an init family at a given scale.

    Subclasses define ``param_name`` (the option that is the scale), ``kind``,
    the unit-scale law (``_unit_cdf``, ``_unit_sf``, ``_unit_isf``,
    ``_unit_ppf``, ``_unit_mean``, ``_unit_std``, ``_unit_bound``) and
    ``_draw_unit``.
    """

    #: Option holding the scale: 'irange', 'istdev', 'sparse_stdev', 'stddev'.
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
        """The options that define this init, as a dict."""
        return {self.param_name: self.scale}

    #: Options left out of :meth:`describe` at these values.
    _describe_defaults = {}

    def describe(self):
        """``'istdev=0.01'``-style text for logs and tables: the options,
        sorted, less those at their defaults (``'irange=0.05'``,
        ``'include_prob=0.5, irange=0.2'``)."""
        params = self.params()
        keys = sorted(k for k in params if k == self.param_name
                      or self._describe_defaults.get(k) != params[k])
        return ', '.join('%s=%.6g' % (k, params[k]) for k in keys)

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
        unit = self._unit_bound(check_int(n, 'n'))
        return 0.0 if self.scale == 0 else self.scale * unit

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
        """Quantile: smallest t with P(||w|| <= t) >= p (never too small)."""
        p = check_open_probability(p, 'p')
        return self.scale * self._unit_ppf(p, check_int(n, 'n'))

    def isf(self, q, n):
        """Smallest t with P(||w|| > t) <= q (never too small)."""
        q = check_open_probability(q, 'q')
        return self.scale * self._unit_isf(q, check_int(n, 'n'))

    # -- m independent vectors ---------------------------------------------
    def log_prob_all_below(self, t, n, m=None):
        """log P(every vector's norm <= t)."""
        t = check_real(t, 't')
        total = 0.0
        for n_j, m_j in fan_in_groups(n, m):
            sf = float(self.sf(t, n_j))
            # log F = log1p(-sf) keeps precision when F is close to 1.
            cdf = 1.0 if sf < 0.5 else float(self.cdf(t, n_j))
            if cdf <= 0.0:
                return -np.inf
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
        total = float(sum(m_j for _, m_j in groups))
        return float(sum((m_j / total) * self.mean(n_j) for n_j, m_j in groups))

    def max_ppf(self, p, n, m=None):
        """Quantile ``p`` of the largest of the ``m`` norms (never too small).

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
        # Bracket between the smallest per-vector quantile and the largest
        # quantile at a union-bound level.
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
        from scipy.optimize import brentq     # only for mixed fan-ins
        root = brentq(excess, lo, hi, xtol=1e-14, rtol=1e-12)
        # the side where P(all <= root) >= p
        while excess(root) < 0:
            root *= 1.0 + 1e-11
        return root

    # -- drawing -------------------------------------------------------------
    #: True when entries are drawn independently of the vector structure
    #: (then ``draw`` works block by block, in bounded memory).
    _elementwise = True

    def draw(self, shape, axes, rng, dtype='float64', mask=None, out=None):
        """A new array of ``shape`` drawn with this family's semantics, from
        ``rng`` (a dedicated, seeded ``RandomState``, never the model's own),
        as ``dtype`` or into ``out`` (in place). ``axes``: those of one
        constrained vector (``Sparse`` puts exactly ``k`` non-zeros in each);
        ``mask``: pylearn2's ``mask_weights`` (masked entries are 0, and
        ``Sparse`` places its non-zeros on live entries only).

        Element-wise families draw blocks of at most ``2**20`` entries along
        the first axis, in order, so the extra memory is one float64 block
        (``Sparse`` draws into ``out`` directly, by blocks of vectors);
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
        if not self._elementwise:
            self._draw_into(out, axes, rng, mask)
            return out
        if not shape[0]:
            W = self._draw_unit(shape, axes, rng, mask)
            if self.scale != 1.0:
                W *= self.scale
            if mask is not None:
                W *= mask
            out[...] = W
            return out
        per_row = max(1, int(np.prod(shape[1:])))
        step = max(1, DRAW_BLOCK // per_row)
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
