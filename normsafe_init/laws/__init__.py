"""The init families and the law of a vector's norm under each:
:mod:`.family` (:class:`InitFamily`: the law of one norm at any scale, of
the largest of ``m``, block-wise draws; :func:`fan_in_groups`),
:mod:`.families` (:class:`Uniform`, :class:`Gaussian`, :class:`Sparse`,
:class:`TruncNormal`, :class:`Zero`), :mod:`.saddlepoint` (the law of a sum
of ``n`` i.i.d. squared bounded entries) on :mod:`.entries` (one squared
entry, the exact law of a few, the moments of the norm).

>>> from normsafe_init.laws import Gaussian
>>> round(Gaussian(0.01).mean(46208), 4)
2.1496
"""
from __future__ import absolute_import, division, print_function

from .families import Gaussian, Sparse, TruncNormal, Uniform, Zero
from .family import InitFamily, fan_in_groups

__all__ = ['InitFamily', 'Uniform', 'Gaussian', 'Sparse', 'TruncNormal',
           'Zero', 'fan_in_groups']
