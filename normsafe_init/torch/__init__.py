"""normsafe_init for PyTorch: braindecode's max-norm layers, declared
``torch.renorm`` constraints, ``nn.Embedding(max_norm=...)``, torcheeg /
speechbrain / MetaBCI layers and skorch.

>>> from normsafe_init.torch import make_safe, audit, NormSafeInit  # doctest: +SKIP

- :func:`make_safe` (:mod:`.api`): repair a ``torch.nn.Module`` in place,
  return the record;
- :func:`audit`: the same analysis, read only;
- :func:`enforce_constraints` (:mod:`.enforce`): project every
  constrained stored tensor onto its limit after each optimizer step;
- :class:`NormSafeInit` (:mod:`.callback`, needs skorch): the callback
  for skorch / braindecode's ``EEGClassifier``;
- what is found: :mod:`.discovery` (and :mod:`.attribute` for layers that
  keep ``max_norm`` as a module attribute: torcheeg, speechbrain,
  MetaBCI); which init is assumed: :mod:`.inits`.

Python 3.10+, torch; braindecode is never imported (its layers are
recognised by their attributes), skorch only for :class:`NormSafeInit`.
"""
from .api import audit, make_safe
from .enforce import enforce_constraints
from .discovery import find_constrained

__all__ = ['make_safe', 'audit', 'enforce_constraints', 'NormSafeInit',
           'find_constrained']


def __getattr__(name):
    # skorch is imported only when the callback is asked for.
    if name == 'NormSafeInit':
        from .callback import NormSafeInit
        return NormSafeInit
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
