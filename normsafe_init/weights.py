"""What the core knows of a constrained weight, whatever the framework.

An adapter describes each weight that carries a max-norm constraint with a
:class:`ConstrainedWeight` (subclassed to read and write its live
variable); :func:`normsafe_init.run.run` decides everything else.

A *vector* is the slice one constraint bounds: with ``axes`` the axes
summed over, ``||w||_j = sqrt(sum_{axes} W[..., j, ...]**2)``. For a
pylearn2 dense ``W`` of shape ``(in, out)`` and ``max_col_norm`` the axes
are ``(0,)`` (``n = in`` entries, ``m = out`` vectors); for a Keras
``Conv2D`` kernel ``(kh, kw, in, out)`` with ``MaxNorm(axis=[0, 1, 2])``
they are ``(0, 1, 2)``; for ``torch.renorm(W, 2, dim=0, c)`` on a
``(out, in)`` weight every axis but 0.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from ._record import Record
from .norms import vector_norms, vector_shape

__all__ = ['Constraint', 'ConstrainedWeight', 'UnknownWeight', 'bad_limit',
           'format_n', 'machine_eps']


class Constraint(object):
    """One max-norm constraint of a weight.

    Parameters
    ----------
    attr : str
        The option that sets it, as the user wrote it (``'max_col_norm'``,
        ``'MaxNorm'``, ``'max_norm'``): used in messages.
    kind : str
        Short name of the vectors (``'col'``, ``'row'``, ``'kernel'``,
        ``'unit'``): used in channel and metric names.
    axes : tuple of int
        Axes summed over for one vector's norm.
    limit : float
        The largest norm the constraint allows.
    min_limit, min_attr : float, str or None
        The smallest norm (pylearn2 ``min_col_norm``, Keras ``MinMaxNorm``)
        and the option that sets it (``'min_value'``), for messages.
    """

    def __init__(self, attr, kind, axes, limit, min_limit=None,
                 min_attr=None):
        self.attr = attr
        self.kind = kind
        self.axes = tuple(int(a) for a in axes)
        self.limit = float(limit)
        self.min_limit = None if min_limit is None else float(min_limit)
        self.min_attr = min_attr or 'the minimum norm'

    def as_dict(self):
        out = {'attr': self.attr, 'kind': self.kind, 'axes': list(self.axes),
               'limit': self.limit}
        if self.min_limit is not None:
            out['min_limit'] = self.min_limit
        return out

    def __repr__(self):
        return 'Constraint(%s=%g, axes=%r)' % (self.attr, self.limit,
                                               self.axes)


def bad_limit(value, attr):
    """Why ``value`` (of the option ``attr``) cannot be a max-norm limit
    -- not a number, NaN, infinite, or not > 0 -- or None. A weight with
    such a limit is reported as an :class:`UnknownWeight`, never changed
    (``MaxNorm(0)`` would zero it, ``MaxNorm(inf)`` is no constraint)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return '%s=%r is not a number' % (attr, value)
    if isinstance(value, bool) or not np.isfinite(number) or number <= 0:
        return '%s=%r is not a positive finite number' % (attr, value)
    return None


def machine_eps(dtype):
    """Machine epsilon of a float dtype, including the ml_dtypes ones
    numpy's ``finfo`` does not know (``bfloat16``: ``2**-7``)."""
    try:
        return float(np.finfo(dtype).eps)
    except (TypeError, ValueError):
        import ml_dtypes   # where numpy has a bfloat16, ml_dtypes made it
        return float(ml_dtypes.finfo(dtype).eps)


def format_n(n):
    """``n`` (entries per vector) as text: ``'25'``, or ``'3..9'`` when the
    vectors have their own counts (a mask)."""
    lo, hi = int(np.min(n)), int(np.max(n))
    return '%d' % lo if lo == hi else '%d..%d' % (lo, hi)


class ConstrainedWeight(object):
    """A constrained weight, described for the core. Subclasses implement
    :meth:`read` and :meth:`write`, and override :meth:`check_writable`
    where a write can be refused.

    Attributes
    ----------
    name : str
        The key in options (``layers`` / ``exclude``), logs, records and
        metric names.
    constraints : list of Constraint
        In the order the framework applies them.
    shape, dtype : tuple of int, numpy dtype
    family : InitFamily or None
        The declared init; ``None`` when unknown (``family_note`` says why).
    mask : ndarray or None
        Entries that are always zero (pylearn2 ``mask_weights``): norms are
        those of ``W * mask``.
    path, class_name, label : str
        For messages: where the weight lives (``'mlp/h1'``,
        ``'dense.kernel'``), the layer's class, what the framework calls the
        weight (``'W'``, ``'kernel'``).
    layer_name : str
        The layer that owns it: ``layers=['sep']`` selects every weight of
        layer ``sep`` (default: ``name``).
    assumed : bool
        ``family`` is the framework's default, not declared by the user: a
        weight that does not follow its law may have been drawn by another
        init, so that alone is no sign of training.
    evidence : list of str
        The host's signs that this weight was trained (``'the optimizer
        holds state for it'``); any makes the weight trained.
    notes : list of str
        Remarks the run logs for this weight (why its init is assumed, ...).
    eps : float
        Machine epsilon of the *stored* type (default ``dtype``'s; a
        bfloat16 tensor read as float32 says ``2**-7``), so that repairs
        still land at or under ``t`` once rounded.
    """

    def __init__(self, name, constraints, shape, dtype, family=None,
                 family_note=None, mask=None, path=None, class_name='',
                 label='W', layer_name=None, assumed=False, evidence=(),
                 notes=(), eps=None):
        self.name = name
        self.constraints = list(constraints)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.family = family
        self.family_note = family_note
        self.mask = None if mask is None else np.asarray(mask)
        self.path = name if path is None else path
        self.class_name = class_name
        self.label = label
        self.layer_name = name if layer_name is None else layer_name
        self.assumed = bool(assumed)
        self.evidence = list(evidence)
        self.notes = list(notes)
        self.eps = float(machine_eps(self.dtype) if eps is None else eps)

    def read(self):
        """The current value as a numpy array (the core never modifies
        it)."""
        raise NotImplementedError

    def read_writable(self):
        """A numpy array of the current value that may be modified in place
        and then passed to :meth:`write` (by default a copy)."""
        return np.array(self.read(), copy=True)

    def write(self, value):
        """Write ``value`` (same shape, this weight's dtype) into the live
        variable, in place."""
        raise NotImplementedError

    def check_writable(self):
        """Raise ``ValueError`` naming the weight if :meth:`write` would be
        refused (a read-only or inference tensor, a meta device). Called for
        every weight a run changes before any is written."""

    def vector_norms(self, value, constraint):
        """The norms of ``value``'s vectors under ``constraint`` (with the
        mask), float64; ``ValueError`` naming the weight if any is NaN or
        Inf."""
        return vector_norms(value, constraint.axes, mask=self.mask,
                            name=self.name + ' weight')

    def fan_in(self, constraint):
        """``(n, m)`` of one constraint: entries per vector and vectors.
        With a mask (and an element-wise init), ``n`` is the array of live
        entries per vector and ``m`` None."""
        n, m = vector_shape(self.shape, constraint.axes)
        if self.mask is not None and not (
                self.family is not None and self.family.kind == 'sparse'):
            live = (self.mask != 0).sum(axis=constraint.axes).ravel()
            live = live[live > 0]  # a fully masked vector is always zero
            if live.size == 0:
                return 1, 1
            return live, None
        return n, m

    def as_dict(self):
        return {'name': self.name, 'path': self.path,
                'class': self.class_name, 'label': self.label,
                'shape': list(self.shape), 'dtype': str(self.dtype),
                'constraints': [c.as_dict() for c in self.constraints],
                'masked': self.mask is not None,
                'init': (None if self.family is None
                         else self.family.to_dict()),
                'init_assumed': self.assumed,
                'init_note': self.family_note}

    def __repr__(self):
        return ('%s(%s, %s, shape=%r, %r)'
                % (type(self).__name__, self.name, self.class_name,
                   self.shape, self.constraints))


class UnknownWeight(Record):
    """A weight that carries a constraint the adapter cannot read: reported,
    never changed. ``attrs`` maps the constraint options to their values."""

    _fields = ('name', 'path', ('class', 'class_name'),
               ('constraints', 'attrs'), 'reason')

    def __init__(self, name, class_name, attrs, reason, path=None):
        self.name = name
        self.path = name if path is None else path
        self.class_name = class_name
        self.attrs = dict(attrs)
        self.reason = reason
