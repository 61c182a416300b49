"""Is a weight a fresh draw of its init, or was it trained (or loaded)?

Judged from the weight's own norms, one constraint at a time (the host's
signals: :func:`normsafe_init.run.judge`). Two kinds of evidence, each a
test with a false-alarm rate fixed in advance:

*Pinned vectors.* A max-norm projection (pylearn2, Keras ``MaxNorm``,
``torch.renorm``) leaves every vector it touched at ``||w|| = limit``
(``min_limit`` for ``MinMaxNorm`` / ``min_col_norm``), to within the
rounding of the stored dtype: ``rtol = max(1e-4, 2 eps)`` (a projection
computed in float16 / bfloat16 arithmetic lands within 1.4 eps, measured).
A continuous draw puts a vector in that band with probability ``p`` (the
declared law's ``cdf(c (1 + r')) - cdf(c (1 - r'))``, ``r' = rtol + eps / 2``,
doubled); ``k`` pinned of ``m`` is decisive when ``P(Binomial(m, p) >= k) <
ALPHA_PINNED``. Without a trusted law (unknown or assumed init) ``p`` is the
law-free bound ``2 (0.9 sqrt(n) + 1) log((1 + r') / (1 - r'))``: the
density of ``log ||w||`` for i.i.d. symmetric unimodal entries is at most
that of uniform entries, ``<= 0.9 sqrt(n) + 1`` (checked against the exact
law for n = 1..784; the 2 is a margin).

*Law mismatch.* Each norm is mapped to its normal score
``z = Phi^-1(F(||w||))`` under the declared law ``F`` (a vector at an atom,
``P(||w|| = 0) > 0`` with ``include_prob < 1``, gets ``F(0) V``, ``V``
uniform from a private seeded generator: the randomised transform is
exactly uniform). On a fresh draw the
``z`` are i.i.d. ``N(0, 1)``, so three exact tests apply: location
``sum z / sqrt(m) ~ N(0, 1)`` (a rescaled or shrunk weight), dispersion
``sum z^2 ~ chi2_m`` (norms more or less spread than the init's) and
Kolmogorov-Smirnov on ``Phi(z)`` (shape); their smallest p-value times 3
(and times the number of constraints) below ``ALPHA_LAW`` is decisive.

The verdict each kind of evidence gives, and why an assumed init's mismatch
is not decisive: README, "What it will not change". An init that itself
fixes every norm at the limit (orthogonal with ``gain = limit``, a
normalised init) is indistinguishable from a projection: describe it to
the judge as a family, not as unknown.

>>> import numpy as np
>>> from normsafe_init.weights import Constraint
>>> W = np.random.RandomState(0).uniform(-0.05, 0.05, (784, 64))
>>> norms = np.sqrt((W ** 2).sum(axis=0))          # about 0.81 each
>>> col = Constraint('MaxNorm', 'col', (0,), 0.8)
>>> judge(None, [(norms, 784, col)]).fresh          # init unknown
True
>>> v = judge(None, [(np.minimum(norms, 0.8), 784, col)])   # projected
>>> v.trained, v.basis
(True, 'pinned')
"""
from __future__ import absolute_import, division, print_function

import math

import numpy as np
from scipy import special

from ._record import Record
from .norms import PINNED_RTOL

__all__ = ['ALPHA_LAW', 'ALPHA_PINNED', 'Verdict', 'judge']

#: Per-weight false-alarm rate of the law tests (all statistics and
#: constraints together, Bonferroni).
ALPHA_LAW = 1e-6
#: Per-weight false-alarm rate of the pinned-vector test.
ALPHA_PINNED = 1e-7
#: ``rtol = max(PINNED_RTOL, _EPS_FACTOR * eps)``.
_EPS_FACTOR = 2.0
#: Margin on the law's probability of the pinned band.
_BAND_SAFETY = 2.0
#: Normal scores come from a grid of the law (``_GRID`` points of ``log t``
#: over ``E||w|| exp(+-10 SD/E)``, cached per law and n) for more than
#: ``_GRID_MIN_M`` vectors of at least ``_GRID_MIN_N`` entries (below, kinks
#: of the law at the entries' bounds bias the interpolation).
_GRID, _GRID_MIN_M, _GRID_MIN_N = 385, 96, 32
_GRID_SPAN = 10.0
#: At most this many exact law evaluations outside the grid.
_EXACT_CAP = 256
_Z_CAP = 40.0
_SEED = 1511
_grids = {}


def _fmt_p(p):
    return 'p < 1e-300' if p <= 0 else 'p = %.2g' % p


def _binom_tail(k, m, p):
    """P(Binomial(m, p) >= k) for ``0 <= k <= m``; a Poisson-binomial with
    mean ``m p`` has a smaller tail for ``k >= m p + 1`` (Hoeffding 1956),
    larger k only (so ``p < 1`` below)."""
    if k <= 0 or k < m * p + 1:
        return 1.0
    return float(special.betainc(k, m - k + 1, p))


def _exact(family, n, t, u_store):
    """Normal scores of norms ``t`` (> 0) under ``family`` at ``n``; the
    far upper tail from ``sf``. A norm past a bounded law's support by no more
    than the stored dtype's rounding is taken as just inside it."""
    t = np.asarray(t, dtype=np.float64)
    cdf = np.atleast_1d(np.asarray(family.cdf(t, n), dtype=np.float64))
    z = special.ndtri(np.clip(cdf, 0.0, 1.0))
    upper = cdf > 0.999
    if upper.any():
        sf = np.atleast_1d(np.asarray(family.sf(t[upper], n), np.float64))
        edge = sf <= 0
        if edge.any():
            inside = np.atleast_1d(np.asarray(family.sf(
                t[upper][edge] / (1.0 + 2.0 * u_store + 1e-12), n),
                np.float64))
            sf[edge] = inside / 2.0
        z[upper] = -special.ndtri(np.clip(sf, 0.0, 1.0))
    return z


def _grid(family, n):
    key = (type(family).__name__, repr(family), float(family.scale), n)
    grid = _grids.get(key)
    if grid is None:
        mean, sd = float(family.mean(n)), float(family.std(n))
        s = math.log(mean) + (sd / mean) * np.linspace(
            -_GRID_SPAN, _GRID_SPAN, _GRID)
        grid = (s, _exact(family, n, np.exp(s), 0.0))
        if len(_grids) >= 256:
            _grids.clear()
        _grids[key] = grid
    return grid


def _interp(s, nodes_s, nodes_z):
    return np.interp(s, nodes_s, np.clip(nodes_z, -_Z_CAP, _Z_CAP))


def _scores(family, n, t, u_store, rng):
    """Normal scores of the norms ``t`` (any >= 0) of vectors of ``n``
    entries: exact for few vectors, else interpolated in ``log t`` on the
    law's cached grid (error < 2e-3 in z, bias < 2e-4) and exact where the
    grid does not reach or meets a bound of the law's support."""
    z = np.empty(t.shape)
    zero = t <= 0
    if zero.any():
        atom = float(family.cdf(0.0, n))
        z[zero] = special.ndtri(atom * rng.uniform(size=int(zero.sum())))
    pos = np.flatnonzero(~zero)
    if pos.size <= _GRID_MIN_M or n < _GRID_MIN_N:
        z[pos] = _exact(family, n, t[pos], u_store)
        return z
    gs, gz = _grid(family, n)
    s = np.log(t[pos])
    hi = np.searchsorted(gs, s)
    ok = (hi > 0) & (hi < gs.size)
    hi = np.clip(hi, 1, gs.size - 1)
    ok &= np.isfinite(gz[hi - 1]) & np.isfinite(gz[hi])
    z[pos[ok]] = _interp(s[ok], gs, gz)
    rest = pos[~ok]
    if rest.size > _EXACT_CAP:     # far outside the law: exact at ranks
        order = rest[np.argsort(t[rest])]
        picks = np.unique(order[np.linspace(0, order.size - 1,
                                            _EXACT_CAP).astype(int)])
        picks = picks[np.argsort(t[picks])]
        z[rest] = _interp(np.log(t[rest]), np.log(t[picks]),
                          _exact(family, n, t[picks], u_store))
    elif rest.size:
        z[rest] = _exact(family, n, t[rest], u_store)
    return z


def _law_tests(z):
    """p-values of location, dispersion and Kolmogorov-Smirnov for scores
    that are i.i.d. N(0, 1) on a fresh draw."""
    z = np.clip(z, -_Z_CAP, _Z_CAP)
    m = z.size
    loc = z.sum() / math.sqrt(m)
    p_loc = float(special.erfc(abs(loc) / math.sqrt(2.0)))
    q = float(np.dot(z, z))
    p_disp = min(1.0, 2.0 * min(float(special.gammainc(m / 2.0, q / 2.0)),
                                float(special.gammaincc(m / 2.0, q / 2.0))))
    u = np.sort(special.ndtr(z))
    ranks = np.arange(1, m + 1) / float(m)
    d = max(float(np.max(ranks - u)), float(np.max(u - (ranks - 1.0 / m))))
    p_ks = min(1.0, 2.0 * float(special.smirnov(m, d)))
    return {'location': float(loc), 'p_location': p_loc,
            'dispersion': q / m, 'p_dispersion': p_disp, 'ks': d,
            'p_ks': p_ks, 'p_law': min(1.0, 3.0 * min(p_loc, p_disp, p_ks))}


def _band(family, n, c, r, trusted):
    """Probability (an upper bound) that a fresh vector's norm is within
    relative ``r`` of ``c``."""
    free = min(1.0, 2.0 * (0.9 * math.sqrt(n) + 1.0)
               * math.log((1.0 + r) / (1.0 - r)))
    if family is None:
        return free
    lo, hi = c * (1.0 - r), c * (1.0 + r)
    below = float(family.cdf(lo, n))
    if below > 0.5:
        p = float(family.sf(lo, n)) - float(family.sf(hi, n))
    else:
        p = float(family.cdf(hi, n)) - below
    p = min(1.0, _BAND_SAFETY * max(p, 0.0))
    return p if trusted else max(p, free)


class Verdict(Record):
    """The judgment on one weight: ``fresh`` (observed, no decisive
    evidence of training), ``trained`` (decisive evidence that the values are
    not a fresh draw), ``basis`` (``'pinned'`` or ``'law'``: what decided
    ``trained``), ``evidence`` (one sentence for the log line), ``law_fits``
    (the norms fit the declared / assumed law; None: not tested),
    ``rests_on`` (what the verdict rests on when the init is assumed or
    unknown), ``tests`` (per constraint: counts, band probability,
    statistics, p-values)."""

    _fields = ('fresh', 'trained', 'basis', 'evidence', 'law_fits',
               'rests_on', 'tests')

    def __init__(self, trained, basis, evidence, law_fits, rests_on, tests,
                 observed=True):
        self.trained = bool(trained)
        self.fresh = bool(observed and not trained)
        self.basis = basis
        self.evidence = evidence
        self.law_fits = law_fits
        self.rests_on = rests_on
        self.tests = tests

    def __repr__(self):
        return 'Verdict(%s: %s)' % ('trained' if self.trained else
                                    'fresh' if self.fresh else 'unjudged',
                                    self.evidence)


def _part(family, norms, n, constraint, law, eps, trusted, rng):
    norms = np.asarray(norms, dtype=np.float64).ravel()
    if not np.all(np.isfinite(norms)):
        raise ValueError('norms of %s must be finite' % constraint.attr)
    if np.ndim(n) == 0:
        ns = np.full(norms.size, int(n))
    else:
        ns = np.asarray(n).ravel().astype(int)
        if ns.size != norms.size:
            raise ValueError('n must give one count per vector (%d); got %d'
                             % (norms.size, ns.size))
    rtol = max(PINNED_RTOL, _EPS_FACTOR * eps)
    zero_init = family is not None and family.kind == 'zero'
    groups, where = np.unique(ns, return_inverse=True)
    out = {'attr': constraint.attr, 'vectors': int(norms.size),
           'rtol': rtol, 'pinned': 0, 'pinned_min': 0, 'band_prob': 0.0}
    hits = np.zeros(norms.size, bool)
    for key, c in (('pinned', constraint.limit),
                   ('pinned_min', constraint.min_limit)):
        if c is None or not (0 < c < np.inf):
            continue
        hit = np.abs(norms - c) <= rtol * c
        out[key] = int(hit.sum())
        hits |= hit
        probs = [_band(family if law and (trusted or not zero_init) else
                       None, g, c, rtol + eps / 2.0, trusted) for g in groups]
        out['band_prob'] += float(np.mean(np.asarray(probs)[where]))
    k = out['on_a_limit'] = int(hits.sum())
    out['p_pinned'] = _binom_tail(k, norms.size, out['band_prob'])
    out['law'] = None
    if family is None or not law:
        return out
    sq = np.empty(groups.size)
    z = np.empty(norms.size)
    try:
        for i, g in enumerate(groups):
            sq[i] = float(family.mean(g)) ** 2 + float(family.std(g)) ** 2
            if not zero_init:
                sel = where == i
                z[sel] = _scores(family, g, norms[sel], eps / 2.0, rng)
    except ValueError:     # no law here (sparse_init above the fan-in)
        return out
    out['mean_square'] = float(np.mean(norms ** 2))
    out['expected_mean_square'] = float(np.mean(sq[where]))
    if zero_init:
        nonzero = int(np.count_nonzero(norms))
        out.update(nonzero=nonzero, p_law=0.0 if nonzero else 1.0)
    else:
        out.update(_law_tests(z))
        out['sd'] = float(norms.std())
        means = np.array([float(family.mean(g)) for g in groups])[where]
        sds = np.array([float(family.std(g)) for g in groups])[where]
        out['expected_sd'] = float(math.sqrt(np.mean(sds ** 2)
                                             + np.var(means)))
    out['law'] = True
    return out


def _law_text(t, what, scale):
    if 'nonzero' in t:
        return ('%d of %d vectors are nonzero (%s all-zero init leaves every '
                'one at 0)' % (t['nonzero'], t['vectors'], what))
    ms, ems = t['mean_square'], t['expected_mean_square']
    if ms == 0:
        return ('all %d vectors are zero; %s init\'s mean squared norm is '
                '%.3g' % (t['vectors'], what, ems))
    if t['p_location'] * scale < ALPHA_LAW:
        return ('mean squared norm %.3g is %.3gx %s %s init\'s %.3g (%s)'
                % (ms, max(ms, ems) / min(ms, ems), 'above' if ms >= ems
                   else 'below', what, ems, _fmt_p(t['p_law'])))
    return ('norms spread unlike %s init (SD %.3g, %.3g expected; %s)'
            % (what, t['sd'], t['expected_sd'], _fmt_p(t['p_law'])))


def judge(family, parts, assumed=False, eps=0.0):
    """Judge whether a weight is a fresh draw of ``family`` or trained.

    Parameters
    ----------
    family : init family or None
        The declared (or assumed) init; None when unknown.
    parts : list of tuple
        ``(norms, n, constraint)`` per constraint (optionally a 4th item,
        False when the family has no law for these vectors): the vectors'
        norms (any shape), entries per vector (an int, or one count per
        vector in ``norms.ravel()`` order) and the
        :class:`normsafe_init.weights.Constraint`. ``norms`` None: the weight
        was not observed (the verdict is neither fresh nor trained).
    assumed : bool or str
        The init is assumed, not declared (a str says by whom, e.g.
        ``'torch default'``): a law mismatch is then reported, not decisive.
    eps : float
        Machine epsilon of the stored type (sets the pinned tolerance).

    Returns a :class:`Verdict` (examples: the module docstring).
    """
    trusted = family is not None and not assumed
    rng = np.random.RandomState(_SEED)
    if not parts or any(p[0] is None for p in parts):
        return Verdict(False, None, 'not observed: not judged', None, None, [],
                       observed=False)
    tests = [_part(family, p[0], p[1], p[2], p[3] if len(p) > 3 else True,
                   eps, trusted, rng) for p in parts]
    count = len(tests)
    what = ('the declared' if trusted else 'the assumed')
    rests_on = None
    if family is None:
        rests_on = 'init unknown: judged on pinned vectors only'
    elif assumed:
        rests_on = ('init assumed%s, not declared: judged on pinned vectors '
                    'only' % ('' if assumed is True else ' (%s)' % assumed))
    law = [t for t in tests if t['law']]
    law_fits = (None if not law else
                min(t['p_law'] for t in law) * len(law) >= ALPHA_LAW)
    i = min(range(count), key=lambda i: tests[i]['p_pinned'])
    pin, c = tests[i], parts[i][2]
    if pin['p_pinned'] * count < ALPHA_PINNED:
        where = []
        if pin['pinned']:
            where.append('on the limit %s=%.6g' % (c.attr, c.limit))
        if pin['pinned_min']:
            where.append('on the minimum %.6g' % c.min_limit)
        text = ('%d of %d vectors sit %s (within %.2g relative): a max-norm '
                'projection\'s fingerprint (a fresh draw puts %s%.2g of them '
                'there; %s)' % (pin['on_a_limit'], pin['vectors'],
                                ' and '.join(where),
                                pin['rtol'], '' if trusted else 'at most ',
                                pin['band_prob'], _fmt_p(pin['p_pinned'])))
        return Verdict(True, 'pinned', text, law_fits, rests_on, tests)
    pinned = sum(t['on_a_limit'] for t in tests)
    vectors = sum(t['vectors'] for t in tests)
    tail = '%d of %d vectors on %s' % (
        pinned, vectors, 'the limit' if count == 1 else 'their limits')
    if law_fits is False:
        worst = min(law, key=lambda t: t['p_law'])
        worst = dict(worst, p_law=min(1.0, worst['p_law'] * len(law)))
        text = _law_text(worst, what, 3.0 * len(law))
        if trusted:
            return Verdict(True, 'law', text, False, rests_on, tests)
        return Verdict(False, None, 'norms do not fit %s init (%s; another '
                       'init may have drawn them); %s' % (what, text, tail),
                       False, rests_on, tests)
    if law_fits:
        text = 'norms fit %s init (%s); %s' % (
            what, _fmt_p(min(1.0, min(t['p_law'] for t in law) * len(law))),
            tail)
    else:
        text = 'no projection fingerprint: %s' % tail
    return Verdict(False, None, text, law_fits, rests_on, tests)
