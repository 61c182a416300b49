"""Finding a Keras 3 model's max-norm-constrained variables.

Keras applies a variable's constraint only after each optimizer update
(``variable.assign(variable.constraint(variable))`` in
``BaseOptimizer.apply``), never when the variable is built. For every
*trainable* variable of the model (nested models and layers included) whose
``variable.constraint`` is

* ``keras.constraints.MaxNorm(max_value, axis)``: norms
  ``sqrt(sum(w**2, axis))``, limit ``max_value``;
* ``keras.constraints.MinMaxNorm(min_value, max_value, rate, axis)``: the
  same norms, limits ``[min_value, max_value]``;

a :class:`KerasWeight` describes it for the core (the constraint's own
``axis``: an int, a list, negative axes or ``None`` for all axes). Any other
constraint (``UnitNorm``, ``NonNeg``, a custom class or function, a
subclass overriding ``__call__``) gives an
:class:`~normsafe_init.weights.UnknownWeight`: reported, never changed.

Layouts, ``channels_last`` (the axes are always the user's)::

    Dense             kernel (in, out)                MaxNorm(axis=0)
    Conv1D / Conv2D   kernel (k, in, out) /           axis=[0, 1] / [0, 1, 2]
                      (kh, kw, in, out)
    DepthwiseConv2D   kernel (kh, kw, in, mult)       depthwise_constraint
    SeparableConv2D   depthwise_kernel, pointwise_kernel (two weights)
    Embedding         embeddings (vocab, dim)         axis=1: one per token
    LSTM / GRU cell   kernel, recurrent_kernel        recurrent_constraint

The declared initializer is the layer attribute ``<prefix>_initializer``
next to the ``<prefix>_constraint`` that holds the variable's constraint
(``kernel_``, ``bias_``, ``depthwise_``, ``pointwise_``, ``embeddings_``,
``recurrent_``, ``gamma_``, ``beta_``).
"""
import numpy as np

from ..weights import Constraint, ConstrainedWeight, UnknownWeight
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


def _to_numpy(variable):
    import keras
    value = keras.ops.convert_to_numpy(variable.value)
    value = np.asarray(value)
    if not (value.flags.owndata and value.flags.writeable):
        value = np.array(value, copy=True)  # never lend the live buffer
    return value


class KerasWeight(ConstrainedWeight):
    """A constrained ``keras.Variable``, read through
    ``keras.ops.convert_to_numpy`` and written with ``variable.assign``
    (in place: the same variable object, dtype and shape), on any backend.

    ``variable`` and ``layer`` are kept; ``notes`` lists what the adapter
    wants said about it (a ``MinMaxNorm`` rate below 1, say).
    """

    def __init__(self, name, variable, layer, constraint, family,
                 family_note, dtype, notes=()):
        ConstrainedWeight.__init__(
            self, name, [constraint], tuple(variable.shape), dtype,
            family=family, family_note=family_note,
            path=getattr(variable, 'path', name),
            class_name=type(layer).__name__, label=variable.name,
            layer_name=layer.name, notes=notes)
        self.variable = variable
        self.layer = layer

    def read(self):
        """A fresh numpy copy of the variable's value."""
        return _to_numpy(self.variable)

    def read_writable(self):
        return self.read()  # already a private copy

    def write(self, value):
        value = np.asarray(value)
        if value.shape != self.shape:
            raise ValueError('%s: value of shape %r for a variable of shape '
                             '%r' % (self.name, value.shape, self.shape))
        self.variable.assign(value.astype(self.dtype, copy=False))


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


def _own_call(obj, base):
    return type(obj).__call__ is base.__call__


def constraint_of(keras_constraint, ndim, label='variable'):
    """``(Constraint, notes)`` for a ``MaxNorm`` / ``MinMaxNorm``, or
    ``(None, reason)`` for any other constraint.

    Example::

        >>> import keras
        >>> c, notes = constraint_of(keras.constraints.MaxNorm(2.0, axis=[0, 1, 2]), 4)
        >>> c.axes, c.limit, c.kind
        ((0, 1, 2), 2.0, 'kernel')
    """
    from keras import constraints as kc
    c = keras_constraint
    if isinstance(c, kc.MinMaxNorm) and _own_call(c, kc.MinMaxNorm):
        axes = _resolve_axes(c.axis, ndim, label)
        notes = []
        rate = float(c.rate)
        if rate != 1.0:
            notes.append(
                'MinMaxNorm rate=%g: Keras moves each norm only part way '
                '(rate) towards [min_value, max_value] per step; the plan '
                'treats [%g, %g] as hard limits' % (rate, float(c.min_value),
                                                    float(c.max_value)))
        min_limit = float(c.min_value)
        return Constraint('MinMaxNorm', _kind(axes, ndim), axes,
                          float(c.max_value),
                          min_limit=min_limit if min_limit > 0 else None,
                          min_attr='MinMaxNorm min_value'), \
            notes
    if isinstance(c, kc.MaxNorm) and _own_call(c, kc.MaxNorm):
        axes = _resolve_axes(c.axis, ndim, label)
        return Constraint('MaxNorm', _kind(axes, ndim), axes,
                          float(c.max_value)), []
    name = getattr(type(c), '__name__', repr(c))
    if isinstance(c, (kc.MaxNorm, kc.MinMaxNorm)):
        return None, '%s overrides __call__: its norms are unknown' % name
    return None, ('%s is not a max-norm constraint (MaxNorm, MinMaxNorm)'
                  % name)


def _constraint_attrs(c):
    try:
        config = c.get_config()
    except Exception:
        config = {}
    attrs = {'constraint': getattr(type(c), '__name__', repr(c))}
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


def _own_variables(layer):
    return list(getattr(layer, '_trainable_variables', [])) + \
        list(getattr(layer, '_non_trainable_variables', []))


def _layers_of(model):
    if hasattr(model, '_flatten_layers'):
        return model._flatten_layers(include_self=True, recursive=True)
    return [model]


def _dtype_of(variable):
    try:
        return np.dtype(variable.dtype)
    except TypeError:  # bfloat16 and the like: as convert_to_numpy gives it
        return _to_numpy(variable).dtype


def find_constrained(model):
    """``(weights, unknown)``: :class:`KerasWeight` for every trainable
    ``MaxNorm`` / ``MinMaxNorm`` variable of ``model`` and
    :class:`~normsafe_init.weights.UnknownWeight` for every other
    constrained trainable variable, in layer order.

    Names: the layer's name; ``'<layer>/<variable>'`` when the layer owns
    several constrained variables (``'sep/depthwise_kernel'``; a lone
    max-norm kernel keeps the layer's name beside a ``NonNeg`` bias, which
    is ``'<layer>/bias'``); the variable's path (without its last part for a
    layer-named weight: ``'inner/dense'``) when two layers of nested models
    share a name. A model that is not built yet has no variables: nothing is
    found.

    Example::

        >>> import keras
        >>> model = keras.Sequential([keras.Input((16, 16, 3)),
        ...     keras.layers.SeparableConv2D(4, 3, name='sep',
        ...         depthwise_constraint=keras.constraints.MaxNorm(1, [0, 1]),
        ...         pointwise_constraint=keras.constraints.MaxNorm(1, [0, 1, 2]))])
        >>> weights, unknown = find_constrained(model)
        >>> [(w.name, w.shape, w.constraints[0].axes) for w in weights]
        [('sep/depthwise_kernel', (3, 3, 3, 1), (0, 1)), ('sep/pointwise_kernel', (1, 1, 3, 4), (0, 1, 2))]
    """
    trainable = set(id(v) for v in model.trainable_variables)
    found, seen = [], set()
    for layer in _layers_of(model):
        own = []
        for variable in _own_variables(layer):
            if id(variable) not in trainable or id(variable) in seen or \
                    getattr(variable, 'constraint', None) is None:
                continue
            seen.add(id(variable))
            own.append((variable,) + _describe(variable))
        handled = sum(1 for item in own if item[1] is not None)
        for variable, constraint, notes in own:
            several = len(own) > 1 and (handled > 1 or constraint is None)
            found.append((layer, variable, several, constraint, notes))
    names = [('%s/%s' % (layer.name, v.name)) if several else layer.name
             for layer, v, several, _, _ in found]
    shared = set(n for n in names if names.count(n) > 1)
    for i, (layer, variable, several, _, _) in enumerate(found):
        if names[i] in shared:
            path = getattr(variable, 'path', None) or variable.name
            names[i] = path if several else path.rsplit('/', 1)[0]
    weights, unknown = [], []
    for name, (layer, variable, _, constraint, notes) in zip(names, found):
        path = getattr(variable, 'path', name)
        if constraint is None:
            unknown.append(UnknownWeight(
                name, type(layer).__name__,
                _constraint_attrs(variable.constraint), notes, path=path))
            continue
        family, note = family_of(_initializer_of(layer, variable),
                                 tuple(variable.shape))
        weights.append(KerasWeight(name, variable, layer, constraint, family,
                                   note, _dtype_of(variable), notes))
    return weights, unknown


def _describe(variable):
    """``(Constraint, notes)`` or ``(None, reason)``."""
    label = getattr(variable, 'path', None) or variable.name
    try:
        return constraint_of(variable.constraint, len(variable.shape), label)
    except ValueError as exc:  # a scalar, an axis out of range
        return None, str(exc)
