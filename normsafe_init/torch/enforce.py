"""``enforce_constraints``: project every stored max-norm tensor onto its
limit after each optimizer step, as Keras's ``MaxNorm`` and pylearn2 do
(why, and when not to: the README's ``enforce_constraints`` section).

For float16 / bfloat16 tensors the norms are computed in float32 and the
limit is lowered by half the type's epsilon, so the rounded result is at
or below it. Per constraint and step: one ``torch.linalg.vector_norm``
into a buffer of one number per vector (allocated once), a ``clamp_``, a
``div`` by a 0-d limit tensor and one in-place ``mul_``; nothing is read
back to the host.
"""
import logging

import torch

from .._logging import ensure_visible
from ..options import Options
from ..run import select
from .discovery import find_constrained

__all__ = ['enforce_constraints', 'Enforcer']

_LOW_PRECISION = (torch.float16, torch.bfloat16)

log = logging.getLogger('normsafe_init.torch')


class _Projection:
    """One constraint of one stored tensor, with its buffers."""

    def __init__(self, weight, constraint):
        tensor = weight.tensor
        self.name, self.tensor = weight.name, tensor
        self.axes, self.limit = tuple(constraint.axes), constraint.limit
        shape = [1 if i in self.axes else n
                 for i, n in enumerate(tensor.shape)]
        low = tensor.dtype in _LOW_PRECISION
        dtype = torch.float32 if low else tensor.dtype
        self.target = self.limit * (
            1 - torch.finfo(tensor.dtype).eps / 2 if low else 1)
        self.buffer = torch.empty(shape, dtype=dtype, device=tensor.device)
        self.limit_tensor = torch.tensor(self.target, dtype=dtype,
                                         device=tensor.device)

    def apply(self):
        buf = self.buffer
        torch.linalg.vector_norm(self.tensor, 2, dim=self.axes, keepdim=True,
                                 dtype=buf.dtype, out=buf)
        buf.clamp_(min=self.target)
        torch.div(self.limit_tensor, buf, out=buf)
        self.tensor.mul_(buf)

    def ratio(self):
        """Largest stored norm / limit (reads the value back: not for use
        inside a training step)."""
        norms = torch.linalg.vector_norm(self.tensor.detach().float(), 2,
                                         dim=self.axes)
        return float(norms.max()) / self.limit


class Enforcer:
    """The handle :func:`enforce_constraints` returns.

    Attributes: ``model``, ``optimizer``, ``names`` (the weights projected
    after each step), ``skipped`` (constrained weights this optimizer does
    not update: not projected), ``active``.
    Methods: :meth:`project` (project now), :meth:`ratios` (largest stored
    norm / limit per weight), :meth:`remove` (unregister; idempotent). Also
    a context manager that removes itself on exit.
    """

    def __init__(self, model, optimizer, projections, skipped):
        self.model, self.optimizer = model, optimizer
        self.projections = projections
        self.names = list(dict.fromkeys(p.name for p in projections))
        self.skipped = skipped
        self._handle = optimizer.register_step_post_hook(self._hook)

    @property
    def active(self):
        return self._handle is not None

    def _hook(self, optimizer, args, kwargs):
        self.project()

    def project(self):
        """Project every constrained stored tensor onto its limit, now."""
        with torch.no_grad():
            for projection in self.projections:
                projection.apply()

    def ratios(self):
        """``{name: largest stored norm / limit}`` (the worst constraint
        of each weight); for reports, not for the training loop."""
        out = {}
        for projection in self.projections:
            out[projection.name] = max(out.get(projection.name, 0.0),
                                       projection.ratio())
        return out

    def remove(self):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def __repr__(self):
        return 'Enforcer(%s on %s, %s)' % (
            ', '.join(self.names) or 'nothing',
            type(self.optimizer).__name__,
            'active' if self.active else 'removed')


def enforce_constraints(model, optimizer, constraints=None, layers=None,
                        exclude=None):
    """Project ``model``'s max-norm constrained stored tensors onto their
    limits after every ``optimizer.step()``; returns an :class:`Enforcer`
    (call ``.remove()`` to stop).

    The constraints are found as :func:`normsafe_init.torch.make_safe`
    finds them (``constraints`` as there); ``layers`` / ``exclude`` select
    weight names; only the tensors ``optimizer`` updates are projected
    (the others are listed in ``.skipped``). Nothing is projected at
    registration: run ``make_safe`` first. For each constraint (limit
    ``c``, norms summed over ``axes``), after each step, in place under
    ``torch.no_grad()``::

        W <- W * c / max(||W||_axes, c)

    Example::

        >>> import torch
        >>> from normsafe_init.torch import enforce_constraints
        >>> net = torch.nn.Sequential(torch.nn.Linear(8, 3))
        >>> opt = torch.optim.SGD(net.parameters(), lr=10.0)
        >>> handle = enforce_constraints(net, opt,
        ...                              constraints={'0.weight': 0.25})
        >>> net(torch.ones(4, 8)).pow(2).sum().backward(); opt.step()
        >>> bool(net[0].weight.norm(dim=1).max() <= 0.25 * (1 + 1e-6))
        True
        >>> handle.remove()
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError('optimizer must be a torch.optim.Optimizer; got %r'
                         % type(optimizer).__name__)
    if not hasattr(optimizer, 'register_step_post_hook'):
        raise ValueError('enforce_constraints needs torch >= 2.0 '
                         '(Optimizer.register_step_post_hook)')
    options = Options(layers=layers, exclude=exclude, action='report')
    weights, unknown = find_constrained(model, constraints)
    stepped = set(id(p) for group in optimizer.param_groups
                  for p in group['params'])
    projections, skipped = [], []
    for weight in select(weights, options, unknown):
        if id(weight.tensor) not in stepped:
            skipped.append(weight.name)
            continue
        weight.check_writable()
        projections.extend(_Projection(weight, c) for c in weight.constraints)
    enforcer = Enforcer(model, optimizer, projections, skipped)
    ensure_visible()
    log.info('normsafe_init: enforcing %d max-norm constraint(s) after every '
             '%s step: %s', len(projections), type(optimizer).__name__,
             ', '.join('%s<=%g' % (p.name, p.limit) for p in projections)
             or 'none')
    if skipped:
        log.info('normsafe_init: not enforced (the optimizer does not update '
                 'them): %s', ', '.join(skipped))
    for item in unknown:
        log.warning('normsafe_init: %s (%s) not enforced: %s', item.name,
                    item.class_name, item.reason)
    return enforcer
