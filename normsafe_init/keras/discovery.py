"""Finding a Keras model's max-norm-constrained variables.

Every *trainable* variable (nested models and layers included) whose
``constraint`` is a ``MaxNorm(max_value, axis)`` or ``MinMaxNorm(min_value,
max_value, rate, axis)`` becomes a :class:`KerasWeight`, its norms taken
over the constraint's own ``axis``. Any other constraint, a subclass
overriding ``__call__``, or a limit that is not a positive finite number
gives an :class:`~normsafe_init.weights.UnknownWeight`: reported, never
changed.

Layouts, ``channels_last`` (the axes are always the user's)::

    Dense             kernel (in, out)                MaxNorm(axis=0)
    Conv1D / Conv2D   kernel (k, in, out) /           axis=[0, 1] / [0, 1, 2]
                      (kh, kw, in, out)
    DepthwiseConv2D   kernel (kh, kw, in, mult)       depthwise_constraint
    SeparableConv2D   depthwise_kernel, pointwise_kernel (two weights)
    Embedding         embeddings (vocab, dim)         axis=1: one per token
    LSTM / GRU cell   kernel, recurrent_kernel        recurrent_constraint

The declared initializer is the layer's ``<prefix>_initializer`` beside
the ``<prefix>_constraint`` holding the variable's constraint.
"""
import collections
import math

import numpy as np

from ..weights import (Constraint, ConstrainedWeight, UnknownWeight,
                       bad_limit, machine_eps)
from . import _compat
from ._compat import own_call, to_float
from .initializers import family_of

__all__ = ['KerasWeight', 'find_constrained', 'constraint_of']

#: Variable name -> attribute prefix, when the constraint object alone does
#: not tell (the same constraint instance shared by two attributes).
_PREFIX_BY_NAME = {
    'kernel': ('kernel', 'depthwise'), 'depthwise_kernel': ('depthwise',),
    'pointwise_kernel': ('pointwise',), 'recurrent_kernel': ('recurrent',),
    'embeddings': ('embeddings',), 'bias': ('bias',), 'gamma': ('gamma',),
    'beta': ('beta',),
}


class KerasWeight(ConstrainedWeight):
    """A constrained Keras variable, read as a numpy copy (``bfloat16`` as
    float32) and written in place with ``variable.assign``; ``layer`` owns
    it (an RNN's cell)."""

    def __init__(self, name, variable, layer, constraint, family,
                 family_note, notes=(), path=None, layer_name=None,
                 class_name=None):
        ConstrainedWeight.__init__(
            self, name, [constraint], tuple(variable.shape),
            _compat.dtype_of(variable), family=family,
            family_note=family_note, path=path or name,
            class_name=class_name or type(layer).__name__,
            label=_compat.variable_name(variable), layer_name=layer_name,
            notes=notes, eps=machine_eps(_compat.keras_dtype(variable)))
        self.variable = variable
        self.layer = layer
        self.keras_dtype = _compat.keras_dtype(variable)

    def read(self):
        """A fresh numpy copy of the variable's value."""
        return _compat.to_numpy(self.variable)

    def read_writable(self):
        return self.read()  # already a private copy

    def write(self, value):
        _compat.assign(self.variable, value)

    def as_dict(self):
        out = ConstrainedWeight.as_dict(self)
        out['keras_dtype'] = self.keras_dtype
        return out


def _kind(axes, ndim):
    if len(axes) == ndim:
        return 'whole'
    if ndim == 2:
        return 'col' if axes == (0,) else 'row'
    if axes == tuple(range(ndim - 1)):
        return 'kernel'
    return 'unit'


def _resolve_axes(axis, ndim, label):
    if ndim == 0:
        raise ValueError('%s: a scalar variable has no norms' % label)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(np.ravel(axis))
    resolved = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError('%s: axis %r out of range for shape rank %d'
                             % (label, axis, ndim))
        resolved.append(a % ndim)
    return tuple(sorted(set(resolved)))


def constraint_of(keras_constraint, ndim, label='variable'):
    """``(Constraint, notes)`` for a ``MaxNorm`` / ``MinMaxNorm``, or
    ``(None, reason)`` for any other constraint (``ValueError`` for a
    scalar variable or an axis out of range).

    Example::

        >>> from normsafe_init.keras._compat import keras
        >>> c, notes = constraint_of(keras.constraints.MaxNorm(2.0, axis=[0, 1, 2]), 4)
        >>> c.axes, c.limit, c.kind
        ((0, 1, 2), 2.0, 'kernel')
    """
    kc = _compat.keras.constraints
    c = keras_constraint
    name = type(c).__name__
    if not isinstance(c, (kc.MaxNorm, kc.MinMaxNorm)):
        return None, ('%s is not a max-norm constraint (MaxNorm, MinMaxNorm)'
                      % name)
    minmax = isinstance(c, kc.MinMaxNorm)
    if not own_call(c, kc.MinMaxNorm if minmax else kc.MaxNorm):
        return None, '%s overrides __call__: its norms are unknown' % name
    limit, low = to_float(c.max_value), to_float(getattr(c, 'min_value', 0))
    bad = bad_limit(c.max_value if limit is None else limit,
                    '%s max_value' % name)
    if bad:
        return None, bad + '; the weight is left alone'
    if low is None or not (math.isfinite(low) and 0 <= low <= limit):
        return None, ('%s(min_value=%r, max_value=%r): not 0 <= min_value <= '
                      'max_value; the weight is left alone'
                      % (name, low, limit))
    axes = _resolve_axes(c.axis, ndim, label)
    if not minmax:
        return Constraint('MaxNorm', _kind(axes, ndim), axes, limit), []
    notes = []
    if float(c.rate) != 1.0:
        notes.append(
            'MinMaxNorm rate=%g: Keras moves each norm only part way '
            '(rate) towards [min_value, max_value] per step; the plan '
            'treats [%g, %g] as hard limits' % (float(c.rate), low, limit))
    return Constraint('MinMaxNorm', _kind(axes, ndim), axes, limit,
                      min_limit=low if low > 0 else None,
                      min_attr='MinMaxNorm min_value'), notes


def _constraint_attrs(c):
    try:
        config = c.get_config()
    except Exception:
        config = {}
    attrs = {'constraint': type(c).__name__}
    for key, value in sorted(config.items()):
        attrs[key] = value if isinstance(value, (int, float, str)) \
            else repr(value)
    return attrs


def _initializer_of(layer, variable):
    """The layer's declared initializer of ``variable`` (or None)."""
    constraint = variable.constraint
    prefixes = [name[:-len('_constraint')] for name, value in
                sorted(vars(layer).items())
                if name.endswith('_constraint') and value is constraint]
    preferred = _PREFIX_BY_NAME.get(variable.name, ())
    if len(prefixes) > 1:
        prefixes = [p for p in prefixes if p in preferred] or prefixes[:1]
    if not prefixes:
        prefixes = list(preferred)
    for prefix in prefixes:
        init = getattr(layer, prefix + '_initializer', None)
        if init is not None:
            return init
    return None


def _children(layer):
    try:
        return list(layer._flatten_layers(include_self=False,
                                          recursive=False))
    except (AttributeError, TypeError):
        return []


def _walk(model):
    """``(layer, name parts, selection name, class name)`` for every layer
    under ``model`` (once each, parents first). The qualified
    name joins the names of the enclosing models below ``model`` (never the
    top model's, often auto-numbered): ``'block1/dense'``. An RNN's cell
    takes its RNN's names: its variables are the RNN's to the user."""
    out, seen = [], set([id(model)])

    def visit(layer, parts, select, owner):
        for child in _children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            if getattr(layer, 'cell', None) is child:
                item = (child, parts, select, owner)
            else:
                child_parts = parts + [child.name]
                item = (child, child_parts, '/'.join(child_parts),
                        type(child).__name__)
            out.append(item)
            visit(*item)

    if _compat.own_variables(model):   # a bare layer, or a subclassed model
        out.append((model, [], None, type(model).__name__))
    visit(model, [], None, type(model).__name__)
    return out


#: One constrained variable found by :func:`find_constrained`, before naming.
_Found = collections.namedtuple(
    '_Found', 'layer parts select owner variable path several constraint notes')


def _unique_names(found):
    """The shortest names that tell the weights apart: the layer's name
    (``'/<variable>'`` added when it owns several constrained variables),
    qualified by enclosing models only where two would clash."""
    def name_at(item, depth):
        parts, var, several = item
        stem = '/'.join(parts[-depth:]) if parts else var
        return stem + '/' + var if several else stem

    depth = [1] * len(found)
    names = [name_at(item, 1) for item in found]
    while True:
        clash = set(n for n in names if names.count(n) > 1)
        grow = [i for i, n in enumerate(names) if n in clash and
                depth[i] < len(found[i][0])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
            names[i] = name_at(found[i], depth[i])
    for i, n in enumerate(list(names)):   # still equal: number them
        if names.count(n) > 1:
            names[i] = '%s#%d' % (n, names[:i].count(n) + 1)
    return names


def find_constrained(model):
    """``(weights, unknown)``: :class:`KerasWeight` for every trainable
    ``MaxNorm`` / ``MinMaxNorm`` variable of ``model`` and
    :class:`~normsafe_init.weights.UnknownWeight` for every other
    constrained trainable variable, in layer order (none if the model is
    not built). Names as the README's Keras section says; ``path`` is the
    fully qualified ``'<...>/<layer>/<variable>'``.

    Example::

        >>> from normsafe_init.keras._compat import keras
        >>> model = keras.Sequential([keras.Input((16, 16, 3)),
        ...     keras.layers.SeparableConv2D(4, 3, name='sep',
        ...         depthwise_constraint=keras.constraints.MaxNorm(1, [0, 1]),
        ...         pointwise_constraint=keras.constraints.MaxNorm(1, [0, 1, 2]))])
        >>> weights, unknown = find_constrained(model)
        >>> [(w.name, w.shape, w.constraints[0].axes) for w in weights]
        [('sep/depthwise_kernel', (3, 3, 3, 1), (0, 1)), ('sep/pointwise_kernel', (1, 1, 3, 4), (0, 1, 2))]
    """
    if not _compat.is_built(model):
        return [], []
    trainable = set(id(v) for v in model.trainable_variables)
    found, seen = [], set()
    for layer, parts, select, owner in _walk(model):
        own = []
        for variable in _compat.own_variables(layer):
            if id(variable) not in trainable or id(variable) in seen or \
                    getattr(variable, 'constraint', None) is None:
                continue
            seen.add(id(variable))
            path = '/'.join(parts + [_compat.variable_name(variable)])
            try:
                own.append((variable, path) + constraint_of(
                    variable.constraint, len(variable.shape), path))
            except ValueError as exc:  # a scalar, an axis out of range
                own.append((variable, path, None, str(exc)))
        handled = sum(1 for item in own if item[2] is not None)
        for variable, path, constraint, notes in own:
            several = len(own) > 1 and (handled > 1 or constraint is None)
            found.append(_Found(layer, parts, select, owner, variable, path,
                                several, constraint, notes))
    names = _unique_names([(f.parts, _compat.variable_name(f.variable),
                            f.several) for f in found])
    weights, unknown = [], []
    for name, f in zip(names, found):
        if f.constraint is None:
            unknown.append(UnknownWeight(
                name, f.owner, _constraint_attrs(f.variable.constraint),
                f.notes, path=f.path))
            continue
        family, note = family_of(_initializer_of(f.layer, f.variable),
                                 tuple(f.variable.shape))
        weights.append(KerasWeight(name, f.variable, f.layer, f.constraint,
                                   family, note, f.notes, path=f.path,
                                   layer_name=f.select or name,
                                   class_name=f.owner))
    return weights, unknown
