"""Benchmark: column norms of a 46208 x 1024 float32 weight (the seed's
first fully connected layer) with ``normsafe_init.norms.vector_norms``.

Prints (it asserts nothing):
* time as a ratio to one ``W.sum(axis=0)`` pass measured in the same run
  (target <= 2; best of ``--repeat`` runs each);
* peak extra memory during the call, from tracemalloc (numpy reports its
  allocations to it), as a percentage of ``W.nbytes`` (target <= 5 %);
* the largest relative error against a float64 reference.

    python benchmarks/norms.py [--rows 46208] [--cols 1024] [--repeat 7]
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import timeit

try:
    import tracemalloc  # novm (Python >= 3.4; peak memory is skipped on 2.7)
except ImportError:
    tracemalloc = None

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))
from normsafe_init.norms import vector_norms  # noqa: E402


def best_time(func, repeat):
    return min(timeit.repeat(func, number=1, repeat=repeat))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=46208)
    parser.add_argument('--cols', type=int, default=1024)
    parser.add_argument('--repeat', type=int, default=7)
    args = parser.parse_args(argv)

    rng = np.random.RandomState(0)
    W = (rng.randn(args.rows, args.cols) * 0.01).astype(np.float32)
    print('W: %d x %d float32, %.1f MB; numpy %s'
          % (args.rows, args.cols, W.nbytes / 1e6, np.__version__))

    base = best_time(lambda: W.sum(axis=0), args.repeat)
    print('W.sum(axis=0)              %8.2f ms' % (base * 1e3))
    for workers in (1, 2):
        t = best_time(lambda: vector_norms(W, (0,), workers=workers),
                      args.repeat)
        print('vector_norms workers=%d     %8.2f ms   ratio %.2f  (target <= 2)'
              % (workers, t * 1e3, t / base))

    if tracemalloc is None:
        print('peak extra memory: not measured (no tracemalloc on Python 2)')
        norms = vector_norms(W, (0,))
    else:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        norms = vector_norms(W, (0,))
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        print('peak extra memory          %8.2f MB   %.2f %% of W  '
              '(target <= 5 %%)' % (peak / 1e6, 100.0 * peak / W.nbytes))

    ref = np.sqrt(np.square(W.astype(np.float64)).sum(axis=0))
    print('max relative error vs float64 reference: %.2e'
          % float(np.max(np.abs(norms / ref - 1))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
