"""The norms max-norm constraints act on, and their summaries.

A constraint limits the L2 norm of every *vector* of a weight tensor ``W``:
what remains when every axis but the ``axes`` summed over is fixed,
``norms = sqrt(sum(W ** 2, axis=axes))`` (the layouts: see
:mod:`normsafe_init.weights`). Each vector has ``n = prod(W.shape[a] for a
in axes)`` entries (the fan-in of a column or kernel) and there are ``m =
W.size // n`` vectors.
"""
from __future__ import absolute_import, division, print_function

import multiprocessing
import threading

import numpy as np

from ._record import Record
from ._validation import check_axes, check_int, check_positive

__all__ = ['DEFAULT_RTOL', 'PINNED_RTOL', 'vector_norms',
           'vector_shape', 'count_above', 'count_pinned', 'NormSummary',
           'summarize']

#: Relative tolerance for "above a threshold": pylearn2 projects a vector onto
#: the limit in float32, leaving norms = limit * (1 +- ~1e-7).
DEFAULT_RTOL = 1e-6

#: Relative tolerance for "pinned at the limit" (monitor channels).
PINNED_RTOL = 1e-4

_BLOCK_BYTES = 1 << 21


def vector_shape(shape, axes):
    """``(n, m)``: entries per vector and number of vectors for ``shape``.

    >>> vector_shape((46208, 1024), (0,))
    (46208, 1024)
    >>> vector_shape((96, 48, 5, 5), (1, 2, 3))
    (1200, 96)
    """
    axes = check_axes(axes, len(shape))
    n = np.prod([shape[a] for a in axes], dtype=np.int64)
    m = np.prod([s for a, s in enumerate(shape) if a not in axes],
                dtype=np.int64)
    return int(n), int(m)


def vector_norms(W, axes, mask=None, name='W', block_bytes=_BLOCK_BYTES,
                 workers=None):
    """L2 norms of the vectors of ``W`` over ``axes``, as float64.

    Sums of squares are accumulated in float64 over blocks of ``W`` (squares
    of float32 values are then exact: ~1e-12 relative for 1e5 entries per
    vector), so the extra memory is one block per worker thread, whatever
    the size of ``W``.

    Parameters
    ----------
    W : array_like, floating, any shape
        The weight tensor (left unchanged).
    axes : int or tuple of ints
        Axes summed over (see the module docstring).
    mask : array_like or None
        If given (same shape as ``W``, e.g. pylearn2's ``mask_weights``),
        the norms of ``W * mask`` are returned.
    name : str
        Name of the tensor, used in error messages.
    block_bytes : int
        Size of each worker's float64 scratch block (2 MiB by default).
    workers : int or None
        Threads sharing the work (numpy releases the GIL); default
        ``min(2, cpu_count)``.

    Returns the norms, float64, of shape ``W.shape`` without ``axes``;
    raises ``ValueError`` naming the tensor and how many vectors are
    affected if ``W`` (or ``W * mask``) holds NaN or Inf.
    """
    W = np.asarray(W)
    if W.dtype.kind not in 'fiu':
        raise TypeError('%s must be a real numeric array; got dtype %s'
                        % (name, W.dtype))
    if W.ndim == 0:
        raise ValueError('%s must have at least one axis; got a scalar' % name)
    axes = check_axes(axes, W.ndim)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != W.shape:
            raise ValueError('mask of %s must have the shape of %s, %r; got %r'
                             % (name, name, W.shape, mask.shape))
    block_bytes = int(check_positive(block_bytes, 'block_bytes'))
    workers = check_int(min(2, multiprocessing.cpu_count())
                        if workers is None else workers, 'workers')
    kept = [a for a in range(W.ndim) if a not in axes]
    sums = np.zeros([W.shape[a] for a in kept], dtype=np.float64)
    if W.size == 0:
        return sums
    # Walk over the longest axis in blocks of whole slices; each worker
    # takes a contiguous range of that axis.
    walk = int(np.argmax(W.shape))
    step = max(1, block_bytes // (8 * (W.size // W.shape[walk])))
    subscripts = list(range(W.ndim))

    def reduce_range(lo, hi):
        shape = list(W.shape)
        shape[walk] = min(step, hi - lo)
        buf = np.empty(shape, dtype=np.float64)
        acc = np.zeros(sums.shape) if walk in axes else sums
        index = [slice(None)] * W.ndim
        for start in range(lo, hi, step):
            stop = min(start + step, hi)
            index[walk] = slice(start, stop)
            block = buf[tuple(slice(0, stop - start) if a == walk
                              else slice(None) for a in range(W.ndim))]
            block[...] = W[tuple(index)]
            if mask is not None:
                block *= mask[tuple(index)]
            part = np.einsum(block, subscripts, block, subscripts, kept)
            if walk in axes:
                acc += part
            else:
                acc[tuple(index[a] for a in kept)] = part
        return acc

    cuts = np.linspace(0, W.shape[walk], min(workers, W.shape[walk]) + 1)
    ranges = [(lo, hi) for lo, hi in zip(cuts[:-1].astype(int),
                                         cuts[1:].astype(int)) if hi > lo]
    parts = list(ranges)

    def work(i):
        try:
            parts[i] = reduce_range(*ranges[i])
        except BaseException as exc:  # re-raised in the calling thread
            parts[i] = exc

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(1, len(ranges))]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    for part in parts:
        if isinstance(part, BaseException):
            raise part
    if walk in axes:
        for part in parts:
            sums += part
    bad = ~np.isfinite(sums)
    if bad.any():
        raise ValueError('%s contains NaN or Inf values (in %d of %d vectors); '
                         'nothing was changed' % (name, int(bad.sum()),
                                                  sums.size))
    return np.sqrt(sums, out=sums)


def count_above(norms, threshold, rtol=DEFAULT_RTOL):
    """Number of norms above ``threshold * (1 + rtol)`` (a vector projected
    onto the limit in float32 is no violation: see ``DEFAULT_RTOL``)."""
    return int(np.count_nonzero(np.asarray(norms) > threshold * (1.0 + rtol)))


def count_pinned(norms, limit, rtol=PINNED_RTOL):
    """Number of norms within ``rtol`` (relative) of ``limit``."""
    norms = np.asarray(norms)
    return int(np.count_nonzero(np.abs(norms - limit) <= rtol * limit))


class NormSummary(Record):
    """min / mean / max of a set of norms and how many exceed a target and
    a limit (each with relative tolerance ``rtol``).

    Attributes: ``count``, ``min``, ``mean``, ``max``, ``std``, ``target``,
    ``limit``, ``above_target``, ``above_limit`` (``None`` where no
    threshold was given).
    """

    _fields = ('count', 'min', 'mean', 'max', 'std', 'target', 'limit',
               'above_target', 'above_limit')

    def __init__(self, norms, target=None, limit=None, rtol=DEFAULT_RTOL):
        norms = np.asarray(norms, dtype=np.float64).ravel()
        self.count = int(norms.size)
        if norms.size:
            self.min = float(norms.min())
            self.mean = float(norms.mean())
            self.max = float(norms.max())
            self.std = float(norms.std())
        else:
            self.min = self.mean = self.max = self.std = float('nan')
        self.target = None if target is None else float(target)
        self.limit = None if limit is None else float(limit)
        self.above_target = (None if target is None
                             else count_above(norms, target, rtol))
        self.above_limit = (None if limit is None
                            else count_above(norms, limit, rtol))

    def __repr__(self):
        return ('NormSummary(count=%d, min=%.6g, mean=%.6g, max=%.6g, '
                'above_target=%r, above_limit=%r)'
                % (self.count, self.min, self.mean, self.max,
                   self.above_target, self.above_limit))


def summarize(norms, target=None, limit=None, rtol=DEFAULT_RTOL):
    """Shorthand for :class:`NormSummary`."""
    return NormSummary(norms, target=target, limit=limit, rtol=rtol)
