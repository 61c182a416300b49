"""normsafe_init: initial weights that respect their max-norm constraints.

The numpy core (``norms``, ``laws``, ``solver``, ``repairs``, ``plan``,
``run``, ``report``) needs only numpy and scipy. :class:`NormSafeInit`, the
pylearn2 training extension, imports pylearn2 and Theano only when a model is
set up, so ``import normsafe_init`` works without them.
"""
from __future__ import absolute_import, division, print_function

__version__ = '0.1.0'

from .distributions import Gaussian, Sparse, TruncNormal, Uniform, Zero  # noqa: E402
from .pylearn2.extension import NormSafeInit  # noqa: E402
from .norms import vector_norms  # noqa: E402
from .solver import solve  # noqa: E402

__all__ = ['NormSafeInit', 'Gaussian', 'Sparse', 'TruncNormal', 'Uniform', 'Zero', 'solve',
           'vector_norms', '__version__']
