"""normsafe_init for PyTorch: braindecode's max-norm layers, declared
``torch.renorm`` constraints, ``nn.Embedding(max_norm=...)``, torcheeg /
speechbrain / MetaBCI layers and skorch (the README's PyTorch section).

- :func:`make_safe` (:mod:`.api`): repair a ``torch.nn.Module`` in place;
  :func:`audit`: the same analysis, read only;
- :func:`enforce_constraints` (:mod:`.enforce`): project onto the limits
  after each optimizer step;
- :class:`NormSafeInit` (:mod:`.callback`, imports skorch): the skorch
  callback;
- what is found: :mod:`.discovery`, :mod:`.attribute`; which init is
  assumed: :mod:`.inits`.
"""
from .api import audit, make_safe
from .enforce import enforce_constraints
from .discovery import find_constrained

__all__ = ['make_safe', 'audit', 'enforce_constraints', 'NormSafeInit',
           'find_constrained']


def __getattr__(name):
    if name == 'NormSafeInit':   # skorch is imported only when asked for
        from .callback import NormSafeInit
        return NormSafeInit
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
