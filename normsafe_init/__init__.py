"""normsafe_init: initial weights that respect their max-norm constraints.

The numpy core (``norms``, ``laws``, ``solver``, ``repairs``, ``plan``,
``run``, ``report``) needs only numpy and scipy. :class:`NormSafeInit`, the
pylearn2 training extension, imports pylearn2 and Theano only when a model is
set up, so ``import normsafe_init`` works without them.
"""
from __future__ import absolute_import, division, print_function

from .version import __version__
from .laws import Gaussian, Sparse, TruncNormal, Uniform, Zero
from .pylearn2.extension import NormSafeInit
from .norms import vector_norms
from .solver import solve

__all__ = ['NormSafeInit', 'Gaussian', 'Sparse', 'TruncNormal', 'Uniform', 'Zero', 'solve',
           'vector_norms', '__version__']
