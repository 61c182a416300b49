"""The init family a pylearn2 layer declares through its options
(``irange``, ``istdev``, ``sparse_init``, ``sparse_stdev``,
``include_prob``)."""
from __future__ import absolute_import, division, print_function

from .._validation import check_int, check_positive
from ..laws import Gaussian, Sparse, Uniform, Zero

__all__ = ['family_from_params']


def family_from_params(irange=None, istdev=None, sparse_init=None,
                       sparse_stdev=1.0, include_prob=1.0):
    """The family a pylearn2 layer declares through its init options.

    Exactly one of ``irange``, ``istdev``, ``sparse_init`` must be given
    (as pylearn2 requires); a zero value gives :class:`Zero`.

    >>> family_from_params(irange=0.05)
    Uniform(irange=0.05)
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
