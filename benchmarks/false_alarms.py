"""False alarms and detection power of :mod:`normsafe_init.freshness`.

False alarms: fresh draws of every family and size, stored in float32 and
float16, judged against their declared init with the limit at the law's
mean norm (the pinned band then sits where fresh norms are densest, the
worst case for that test). A false alarm is a draw judged trained; the
table also counts draws whose law p-value is below 1e-3 (at most 0.1 % of
the draws when the p-values are calibrated), a check of the tails that the
1e-6 threshold itself cannot give with thousands of draws.

Detection: fresh draws projected onto the limit (all vectors above it, or
only the top 5 %), rescaled by 0.3 or 3, and weights trained by SGD on a
random linear regression with a max-norm projection after every step (and
without one), judged with the init declared, assumed and unknown.

Run: ``python benchmarks/false_alarms.py [--budget SECONDS] [--quick]``
(``--budget`` is the judge's time per table row, the draws are counted;
``--families`` / ``--sizes`` select rows of the false-alarm table).
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from normsafe_init.laws import Gaussian, Sparse, TruncNormal, Uniform  # noqa: E402
from normsafe_init.freshness import judge  # noqa: E402
from normsafe_init.norms import vector_norms  # noqa: E402
from normsafe_init.weights import Constraint, machine_eps  # noqa: E402

SIZES = [(9, 8), (25, 16), (64, 4), (144, 128), (784, 500), (3200, 64),
         (4096, 1024)]
MAX_DRAWS = {9: 3000, 25: 3000, 64: 3000, 144: 2000, 784: 1000, 3200: 1000,
             4096: 200}

FAMILIES = [
    ('uniform irange=0.05', lambda n, m: Uniform(0.05)),
    ('uniform p=0.1 irange=0.05', lambda n, m: Uniform(0.05, 0.1)),
    ('gaussian istdev=0.01', lambda n, m: Gaussian(0.01)),
    ('sparse k=15', lambda n, m: Sparse(15) if n >= 15 else None),
    ('truncnormal stddev=0.02', lambda n, m: TruncNormal(0.02)),
    ('glorot_uniform', lambda n, m: Uniform(np.sqrt(6.0 / (n + m)))),
    ('torch default', lambda n, m: Uniform(1.0 / np.sqrt(n))),
]


def store(W, dtype):
    return np.asarray(W, dtype=np.float64).astype(dtype)


def verdict(family, W, limit, assumed=False, dtype='float32', use=True):
    c = Constraint('max_col_norm', 'col', (0,), limit)
    norms = vector_norms(W, (0,))
    return judge(family if use else None, [(norms, W.shape[0], c)],
                 assumed=assumed, eps=machine_eps(dtype))


def false_alarms(budget, quick, families=None, sizes=None):
    print('## False alarms: fresh draws judged trained (declared init, limit '
          '= mean norm)\n')
    print('| family | n x m | dtype | draws | judged trained | law p < 1e-3 '
          '| s/judge |')
    print('|---|---|---|---:|---:|---:|---:|')
    rng = np.random.RandomState(20261204)
    total = [0, 0]
    for name, make in FAMILIES:
        if families and not any(f in name for f in families):
            continue
        for n, m in SIZES:
            if sizes and '%dx%d' % (n, m) not in sizes:
                continue
            family = make(n, m)
            if family is None:
                print('| %s | %dx%d | - | n/a (sparse_init > n) | | | |'
                      % (name, n, m))
                continue
            limit = float(family.mean(n))
            for dtype in ('float32', 'float16'):
                draws = trained = low = 0
                spent = 0.0
                cap = MAX_DRAWS[n] // (10 if quick else 1)
                while draws < cap and spent < budget:
                    W = store(family.draw((n, m), (0,), rng), dtype)
                    t0 = time.time()
                    v = verdict(family, W, limit, dtype=dtype)
                    spent += time.time() - t0
                    draws += 1
                    trained += v.trained
                    low += v.tests[0]['p_law'] < 1e-3
                total[0] += draws
                total[1] += trained
                print('| %s | %dx%d | %s | %d | %d | %d | %.4f |'
                      % (name, n, m, dtype, draws, trained, low,
                         spent / draws))
                sys.stdout.flush()
    print('\nAll: %d judged trained of %d fresh draws.\n' % (total[1],
                                                               total[0]))


def project(W, limit):
    norms = np.sqrt((W.astype(np.float64) ** 2).sum(axis=0))
    return W * np.minimum(1.0, limit / np.maximum(norms, 1e-300))


def sgd(family, n, m, rng, limit, steps=300, project_each=True,
        before=False):
    """``W`` (n x m) trained by SGD on ``Y = X A + noise`` with a max-norm
    projection after (or, old braindecode style, before) every step."""
    W = family.draw((n, m), (0,), rng).astype(np.float32)
    A = rng.randn(n, m) * (3.0 * limit / np.sqrt(n))
    lr = 0.5 / n
    for _ in range(steps):
        X = rng.randn(32, n)
        if before and project_each:
            W = project(W, limit).astype(np.float32)
        Y = X.dot(A) + 0.1 * rng.randn(32, m)
        grad = X.T.dot(X.dot(W) - Y) / 32.0
        W = (W - lr * grad).astype(np.float32)
        if project_each and not before:
            W = project(W, limit).astype(np.float32)
    return W


def power(budget, quick):
    print('## Detection: trained-looking weights judged trained '
          '(declared / assumed / unknown init)\n')
    print('| case | family | n x m | dtype | weights | declared | assumed '
          '| unknown | typical evidence (declared) |')
    print('|---|---|---|---|---:|---:|---:|---:|---|')
    rng = np.random.RandomState(7)
    fams = [('torch default', lambda n, m: Uniform(1.0 / np.sqrt(n))),
            ('gaussian istdev=0.01', lambda n, m: Gaussian(0.01)),
            ('uniform p=0.1 irange=0.05', lambda n, m: Uniform(0.05, 0.1))]
    sizes = [(9, 8), (25, 16), (64, 4), (144, 128), (784, 500)]
    if not quick:
        sizes.append((4096, 1024))

    def cases(family, n, m):
        mean = float(family.mean(n))
        yield 'projected (all above c; c = mean norm)', None, mean, \
            lambda W: project(W, mean)

        def top(W):
            norms = np.sort(np.sqrt((W.astype(float) ** 2).sum(0)))
            c = norms[-max(1, int(round(0.05 * m))) - 1]
            return project(W, c), c
        yield 'projected (top 5 %, at least 1)', top, None, None
        yield 'rescaled x0.3', None, 10 * mean, lambda W: W * 0.3
        yield 'rescaled x3', None, 10 * mean, lambda W: W * 3.0
        if n * m <= 784 * 500:
            yield 'SGD 300 steps, max-norm after each', 'sgd', mean, True
            yield 'SGD 300 steps, no projection', 'sgd', mean, False
            yield 'SGD 300 steps, projection before each', 'sgd-before', \
                mean, True

    for fname, make in fams:
        for n, m in sizes:
            family = make(n, m)
            for case, kind, limit, how in cases(family, n, m):
                for dtype in ('float32', 'float16'):
                    if dtype == 'float16' and kind in ('sgd', 'sgd-before'):
                        continue
                    reps = 3 if quick else (20 if n * m < 1e5 else 4)
                    if kind in ('sgd', 'sgd-before'):
                        reps = 2 if quick else 5
                    hits = [0, 0, 0]
                    texts = []
                    for _ in range(reps):
                        if kind == 'sgd' or kind == 'sgd-before':
                            W = sgd(family, n, m, rng, limit,
                                    project_each=how,
                                    before=(kind == 'sgd-before'))
                            c = limit
                        elif kind is None:
                            W = how(family.draw((n, m), (0,), rng))
                            c = limit
                        else:
                            W, c = kind(family.draw((n, m), (0,), rng))
                        W = store(W, dtype)
                        vs = [verdict(family, W, c, dtype=dtype),
                              verdict(family, W, c, assumed='test',
                                      dtype=dtype),
                              verdict(family, W, c, dtype=dtype, use=False)]
                        for i, v in enumerate(vs):
                            hits[i] += v.trained
                        texts.append(vs[0].evidence)
                    print('| %s | %s | %dx%d | %s | %d | %d | %d | %d | %s |'
                          % (case, fname, n, m, dtype, reps, hits[0], hits[1],
                             hits[2], texts[-1][:90]))
                    sys.stdout.flush()


def timing():
    print('\n## Cost on a 4096 x 1024 float32 weight (torch default init)\n')
    rng = np.random.RandomState(3)
    n, m = 4096, 1024
    for name, family in (('torch default', Uniform(1.0 / np.sqrt(n))),
                         ('gaussian', Gaussian(0.01))):
        W = family.draw((n, m), (0,), rng).astype(np.float32)
        c = Constraint('max_col_norm', 'col', (0,), 1.0)
        t0 = time.time()
        norms = vector_norms(W, (0,))
        t_norms = time.time() - t0
        t0 = time.time()
        judge(family, [(norms, n, c)], eps=machine_eps(W.dtype))
        t_first = time.time() - t0
        t0 = time.time()
        judge(family, [(norms * 1.01, n, c)], eps=machine_eps(W.dtype))
        t_again = time.time() - t0
        print('%s: vector_norms %.4f s; judge %.4f s first call (%.0fx), '
              '%.4f s with the law grid cached (%.1fx)'
              % (name, t_norms, t_first, t_first / t_norms, t_again,
                 t_again / t_norms))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--budget', type=float, default=15.0)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--only', choices=['false', 'power', 'time'])
    parser.add_argument('--families', help='comma-separated name parts')
    parser.add_argument('--sizes', help='comma-separated, e.g. 9x8,25x16')
    args = parser.parse_args()
    if args.only in (None, 'false'):
        false_alarms(args.budget, args.quick,
                     args.families and args.families.split(','),
                     args.sizes and args.sizes.split(','))
    if args.only in (None, 'power'):
        power(args.budget, args.quick)
    if args.only in (None, 'time'):
        timing()


if __name__ == '__main__':
    main()
