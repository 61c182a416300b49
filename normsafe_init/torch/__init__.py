"""normsafe_init for PyTorch: braindecode's max-norm layers, declared
``torch.renorm`` constraints, ``nn.Embedding(max_norm=...)`` and skorch.

>>> from normsafe_init.torch import make_safe, audit, NormSafeInit  # doctest: +SKIP

- :func:`make_safe` (:mod:`.api`): repair a ``torch.nn.Module`` in place,
  return the record;
- :func:`audit`: the same analysis, read only;
- :class:`NormSafeInit` (:mod:`.callback`, needs skorch): the callback
  for skorch / braindecode's ``EEGClassifier``;
- what is found: :mod:`.discovery`; which init is assumed: :mod:`.inits`.

Python 3.10+, torch; braindecode is never imported (its layers are
recognised by their attributes), skorch only for :class:`NormSafeInit`.
"""
from .api import audit, make_safe
from .discovery import find_constrained

__all__ = ['make_safe', 'audit', 'NormSafeInit', 'find_constrained']


def __getattr__(name):
    # skorch is imported only when the callback is asked for.
    if name == 'NormSafeInit':
        from .callback import NormSafeInit
        return NormSafeInit
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
