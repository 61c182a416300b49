"""``make_safe`` and ``audit``: normsafe_init for a ``torch.nn.Module``.

Why: PyTorch's default init ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` gives
every row of a Linear weight a norm of about ``sqrt(1/3) = 0.577``
whatever the fan-in, so a head with ``max_norm=0.25`` (braindecode's
EEGNeX, EEGITNet, EEGNet with ``final_layer_with_constraint=True``) starts
at ~2.3x its limit. braindecode's ``MaxNormParametrize`` renorms in
``forward`` and has no ``right_inverse``: the stored
``parametrizations.weight.original`` keeps rows of norm ``r > c``, the
effective row is ``w * c / r`` and the gradient reaching ``w`` is scaled
by ``c / r`` -- for the whole run. One SGD step moves the effective row
``(c / r)**2`` as far as at ``r = c`` (0.19x at 2.3x), one AdamW step
``c / r`` (0.43x). ``make_safe`` brings the stored rows to ``t = fraction
x c`` before training, where the parametrization is the identity.
"""
import logging

import torch

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options)
from .discovery import find_constrained
from .signals import add_evidence, model_trained, optimizer_trained

__all__ = ['make_safe', 'audit', 'optimizer_trained', 'RECORD_ATTR',
           'store_record']

log = logging.getLogger('normsafe_init.torch')

#: Attribute of the module holding the last record.
RECORD_ATTR = '_normsafe_init_record'


def store_record(module, record):
    """Keep ``record`` on ``module`` (a plain attribute, not in its
    ``state_dict``): the next run takes the weights it covers as
    processed."""
    object.__setattr__(module, RECORD_ATTR, record)


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
        As every normsafe_init adapter (:class:`normsafe_init.options.
        Options`): target ``t = fraction x limit``; ``action`` one of
        ``'rescale'`` (the tensor times ``t / max norm``), ``'clip'``
        (each vector above ``t`` onto ``t``), ``'reinit'`` (redraw from
        the init family at the solved safe scale, from a dedicated
        ``numpy.random.RandomState(seed)``; torch's global RNG is not
        used), ``'report'``; ``layers`` / ``exclude`` list weight names
        (``'final_layer.weight'``).
    constraints : dict or None
        Max-norm constraints PyTorch cannot show, e.g. a
        ``torch.renorm(p=2, dim=d, maxnorm=c)`` applied after
        ``optimizer.step()``: ``{name or pattern: c}`` or ``{name:
        {'max_norm': c, 'dim': d}}`` (``dim`` as in ``torch.renorm``:
        the slices along ``dim`` are normed; default 0).
    init : dict or None
        ``{name or pattern: init}`` overriding the assumed module-default
        init (see :mod:`normsafe_init.torch.inits`), e.g.
        ``{'head.weight': ('uniform', 0.1)}``.
    optimizer : torch.optim.Optimizer or None
        If given, a weight whose tensor has optimizer state (Adam moments,
        a momentum buffer) is judged trained on that evidence; the others
        are judged on their own (a new head on a pretrained body).
    trained : str or None
        Why the whole model must be taken as trained (callers that know).
        Otherwise the model's own signal decides (:mod:`.signals`:
        BatchNorm layers that tracked >= 100 batches, which a
        ``load_state_dict`` brings along).

    A weight judged trained is only reported unless ``force=True``. A
    stored tensor that cannot be written in place (an inference tensor,
    the meta device) is a ``ValueError`` naming it, before anything is
    written. Everything is
    planned before anything is written; writes go to the stored tensor
    (``parametrizations.weight.original`` for a parametrized weight) with
    ``copy_`` under ``torch.no_grad()``, same dtype and device. Bad options
    or a non-finite weight raise ``ValueError`` with nothing changed.

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
    add_evidence(weights, optimizer)
    reason = trained or model_trained(model)
    ensure_visible()
    result = run.run(weights, options, unknown=unknown, trained=reason,
                     previous=getattr(model, RECORD_ATTR, None), log=log,
                     framework='torch')
    store_record(model, result.record)
    return result.record


def audit(model, fraction=DEFAULT_FRACTION, confidence=DEFAULT_CONFIDENCE,
          mode=DEFAULT_MODE, layers=None, exclude=None, constraints=None,
          init=None):
    """A read-only report of ``model``'s constrained tensors (same
    discovery and options as :func:`make_safe`); changes nothing.

    ``str(report)`` is a table (one row per constraint: name, class, shape,
    ``n``, ``m``, init, limit, ``t``, min/mean/max norm, expected mean and
    max, counts above ``t`` and the limit, the recommended init scale,
    status); ``report.as_dict()`` the numbers; ``report.breaking`` the
    names above ``t``.

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
