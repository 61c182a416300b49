"""``make_safe`` and ``audit``: normsafe_init for a ``torch.nn.Module``
(why and what is found: the README's PyTorch section)."""
import logging

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)
from .discovery import find_constrained
from .signals import add_evidence, batchnorm_trained

__all__ = ['make_safe', 'audit', 'RECORD_ATTR', 'run_on']

log = logging.getLogger('normsafe_init.torch')

#: Attribute of the module holding the last record (a plain attribute, not
#: in its ``state_dict``): the next run takes the weights it covers as
#: processed.
RECORD_ATTR = '_normsafe_init_record'


def run_on(model, options, weights, unknown, optimizer=None, trained=None):
    """One :func:`normsafe_init.run.run` on the constrained tensors of
    ``model`` (for :func:`make_safe` and the skorch callback); the record is
    kept on ``model``. Returns the :class:`normsafe_init.run.Result`."""
    add_evidence(weights, optimizer)
    ensure_visible()
    result = run.run(weights, options, unknown=unknown,
                     trained=trained or batchnorm_trained(model),
                     previous=getattr(model, RECORD_ATTR, None), log=log,
                     framework='torch')
    object.__setattr__(model, RECORD_ATTR, result.record)
    return result


def make_safe(model, fraction=DEFAULT_FRACTION, action='rescale',
              confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
              layers=None, exclude=None, force=False, constraints=None,
              init=None, optimizer=None, trained=None):
    """Bring every max-norm constrained tensor of ``model`` within
    ``fraction x limit``, in place; returns the JSON-serialisable record.

    Parameters
    ----------
    model : torch.nn.Module
    fraction, action, confidence, mode, seed, layers, exclude, force
        As every adapter (:class:`normsafe_init.options.Options`);
        ``layers`` / ``exclude`` list weight names (``'final_layer.weight'``).
    constraints : dict or None
        Max-norm constraints PyTorch cannot show, e.g. a
        ``torch.renorm(p=2, dim=d, maxnorm=c)`` applied after
        ``optimizer.step()``: ``{name or pattern: c}`` or ``{name:
        {'max_norm': c, 'dim': d}}`` (default ``dim`` 0).
    init : dict or None
        ``{name or pattern: init}`` overriding the assumed module-default
        init (:mod:`normsafe_init.torch.inits`), e.g.
        ``{'head.weight': ('uniform', 0.1)}``.
    optimizer : torch.optim.Optimizer or None
        A weight whose tensor has optimizer state is judged trained.
    trained : str or None
        Why the whole model must be taken as trained; otherwise BatchNorm
        layers that tracked >= 100 batches decide (:mod:`.signals`).

    Everything is planned before anything is written (``copy_`` into the
    stored tensor under ``torch.no_grad()``); bad options, a non-finite
    weight, an inference tensor or the meta device raise ``ValueError``
    with nothing changed.

    Example::

        >>> import torch
        >>> from normsafe_init.torch import make_safe
        >>> net = torch.nn.Sequential(torch.nn.Linear(64, 10))
        >>> record = make_safe(net, constraints={'0.weight': 0.25})
        >>> record['changed']
        ['0.weight']
        >>> bool(net[0].weight.norm(dim=1).max() <= 0.125 * (1 + 1e-6))
        True
    """
    options = Options(fraction=fraction, action=action,
                      confidence=confidence, mode=mode, seed=seed,
                      layers=layers, exclude=exclude, force=force)
    weights, unknown = find_constrained(model, constraints, init)
    return run_on(model, options, weights, unknown, optimizer,
                  trained).record


def audit(model, fraction=DEFAULT_FRACTION, confidence=DEFAULT_CONFIDENCE,
          mode=DEFAULT_MODE, layers=None, exclude=None, constraints=None,
          init=None):
    """A read-only :class:`normsafe_init.report.AuditReport` of ``model``'s
    constrained tensors (same discovery and options as :func:`make_safe`):
    ``str(report)`` a table, ``report.as_dict()`` the numbers,
    ``report.breaking`` the names above ``t``.

    Example::

        >>> import torch
        >>> from normsafe_init.torch import audit
        >>> net = torch.nn.Sequential(torch.nn.Linear(64, 10))
        >>> audit(net, constraints={'0.weight': 0.25}).breaking
        ['0.weight']
    """
    options = Options(fraction=fraction, confidence=confidence, mode=mode,
                      layers=layers, exclude=exclude, action='report')
    weights, unknown = find_constrained(model, constraints, init)
    return run.audit(weights, options, unknown,
                     previous=getattr(model, RECORD_ATTR, None))
