"""Find the norm-constrained weights of a pylearn2 model.

This module reads pylearn2 objects but imports neither pylearn2 nor Theano:
layers are recognised by the names of the pylearn2 classes in their MRO, so
user subclasses (of ``RectifiedLinear``, say) are recognised too, and the
constraint values are read from the layer attributes, which both the 2015
pylearn2 (constraints in ``_modify_updates``) and the final one
(``MaxL2FilterNorm`` extensions) set.

=====================  =========================  ==========  ================
pylearn2 class         where ``W`` is             constraint  axes
=====================  =========================  ==========  ================
``Softmax``            ``layer.W`` (in, classes)  col / row   (0,) / (1,)
``SoftmaxPool``        transformer (in, dim)      col         (0,)
``Linear`` & subclass  transformer (in, dim)      col / row   (0,) / (1,)
``Maxout``             transformer (in, units     col / row   (0,) / (1,)
                       * pieces)
``ConvElemwise``       transformer ``_filters``   kernel      (1, 2, 3)
                       (out, in, rows, cols)
``MaxoutConvC01B``     transformer (in + dummy,   kernel      (0, 1, 2)
                       rows, cols, out)
``MaxoutLocalC01B``    transformer, 7-D           kernel      (2, 3, 4)
=====================  =========================  ==========  ================

``MLP``, ``CompositeLayer`` and ``FlattenerLayer`` are walked recursively.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from ..distributions import family_from_params
from ..weights import Constraint, ConstrainedWeight, UnknownWeight

__all__ = ['Constraint', 'Pylearn2Weight', 'UnknownLayer', 'walk_layers',
           'find_constrained', 'weight_variable', 'CONSTRAINT_ATTRS']

#: Layer attributes that carry a max-norm constraint.
CONSTRAINT_ATTRS = ('max_col_norm', 'max_row_norm', 'max_kernel_norm')

# class name -> (how W is found, {constraint attribute: (kind, axes)},
#                init options read from the layer)
_DENSE = {'max_col_norm': ('col', (0,)), 'max_row_norm': ('row', (1,))}
_KNOWN = [
    # Order matters: the first class found in the MRO wins.
    ('Softmax', 'W', _DENSE, ('irange', 'istdev', 'sparse_init')),
    ('SoftmaxPool', 'transformer', {'max_col_norm': ('col', (0,))},
     ('irange', 'sparse_init', 'sparse_stdev', 'include_prob')),
    ('Linear', 'transformer', _DENSE,
     ('irange', 'istdev', 'sparse_init', 'sparse_stdev', 'include_prob')),
    ('Maxout', 'transformer', _DENSE,
     ('irange', 'sparse_init', 'sparse_stdev', 'include_prob')),
    ('ConvElemwise', 'transformer', {'max_kernel_norm': ('kernel', (1, 2, 3))},
     ('irange',)),
    ('MaxoutConvC01B', 'transformer',
     {'max_kernel_norm': ('kernel', (0, 1, 2))}, ('irange',)),
    ('MaxoutLocalC01B', 'transformer',
     {'max_kernel_norm': ('kernel', (2, 3, 4))}, ('irange',)),
]
_CONTAINERS = ('MLP', 'CompositeLayer', 'FlattenerLayer')


class Pylearn2Weight(ConstrainedWeight):
    """A constrained weight of one pylearn2 layer.

    Besides :class:`normsafe_init.weights.ConstrainedWeight`'s attributes:
    ``layer`` (the pylearn2 layer), ``variable`` (the Theano shared
    variable, changed only with ``set_value``) and ``min_col_norm`` (also
    the column constraint's ``min_limit``). The path joins the layer names
    from the top MLP down with ``/``; the constraints come column first,
    as pylearn2 applies them.
    """

    def __init__(self, name, path, layer, variable, constraints):
        value = variable.get_value(borrow=True)
        self.layer = layer
        self.variable = variable
        self.min_col_norm = _number(getattr(layer, 'min_col_norm', None))
        if self.min_col_norm:
            for constraint in constraints:
                if constraint.kind == 'col':
                    constraint.min_limit = self.min_col_norm
        mask = getattr(layer, 'mask_weights', None)
        ConstrainedWeight.__init__(
            self, name, constraints, value.shape, value.dtype, mask=mask,
            path=path, class_name=type(layer).__name__, label='W')
        self.family, self.family_note = _declared_family(layer, self)

    def read(self):
        # borrow: the core only reads while planning
        return self.variable.get_value(borrow=True)

    def read_writable(self):
        current = self.variable.get_value(borrow=True)
        return current if current.flags.writeable else current.copy()

    def write(self, value):
        current = self.variable.get_value(borrow=True)
        new = np.asarray(value).astype(current.dtype, copy=False)
        if new.shape != current.shape:  # pragma: no cover - internal
            raise AssertionError('planned weight has another shape')
        self.variable.set_value(new, borrow=True)

    def as_dict(self):
        out = ConstrainedWeight.as_dict(self)
        out['min_col_norm'] = self.min_col_norm
        return out


def UnknownLayer(name, path, layer, attrs, reason):
    """A layer that carries a constraint attribute but is not a class this
    package knows how to read: reported, never changed."""
    unknown = UnknownWeight(name, type(layer).__name__, attrs, reason,
                            path=path)
    unknown.layer = layer
    return unknown


def _number(value):
    """A float constraint value, or None (also for symbolic values)."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        get_value = getattr(value, 'get_value', None)
        if get_value is not None:
            return float(get_value())
        return None


def _mro_names(obj):
    return [(cls.__name__, cls.__module__) for cls in type(obj).__mro__]


def _known_spec(layer):
    for name, module in _mro_names(layer):
        if not module.startswith('pylearn2.'):
            continue
        for spec in _KNOWN:
            if spec[0] == name:
                return spec
    return None


def _is_container(layer):
    return any(name in _CONTAINERS and module.startswith('pylearn2.')
               for name, module in _mro_names(layer))


def walk_layers(model, _path=''):
    """Yield ``(path, layer)`` for every layer under ``model`` (depth first,
    in order), descending into ``MLP.layers``, ``CompositeLayer.layers`` and
    ``FlattenerLayer.raw_layer``. A path joins layer names with ``/``; a
    ``FlattenerLayer`` shares its raw layer's name, so that name is not
    repeated."""
    children = getattr(model, 'layers', None)
    if children is None and getattr(model, 'raw_layer', None) is not None:
        children = [model.raw_layer]
    for layer in children or ():
        name = getattr(layer, 'layer_name', None) or type(layer).__name__
        if _path and _path.split('/')[-1] == name:
            path = _path
        else:
            path = _path + '/' + name if _path else name
        yield path, layer
        if _is_container(layer):
            for item in walk_layers(layer, path):
                yield item


def weight_variable(layer, where=None):
    """The weight shared variable of ``layer``, or None.

    ``where='W'``: ``layer.W`` (``Softmax``); ``'transformer'``: the single
    parameter of ``layer.transformer``; ``None``: ``layer.W`` if it is a
    shared variable, else the transformer's (any layer, for listings).
    """
    if where in ('W', None):
        weight = getattr(layer, 'W', None)
        if where == 'W' or hasattr(weight, 'get_value'):
            return weight
    transformer = getattr(layer, 'transformer', None)
    if transformer is None or not hasattr(transformer, 'get_params'):
        return None
    params = transformer.get_params()
    if len(params) != 1:
        return None
    return params[0]


def _declared_family(layer, weight):
    spec = _known_spec(layer)
    options = spec[3] if spec else ()
    values = dict((opt, getattr(layer, opt, None)) for opt in options)
    try:
        kwargs = {}
        for opt in ('irange', 'istdev', 'sparse_init'):
            if values.get(opt) is not None:
                kwargs[opt] = values[opt]
        if 'sparse_stdev' in options and values.get('sparse_stdev') is not None:
            kwargs['sparse_stdev'] = values['sparse_stdev']
        if 'include_prob' in options and values.get('include_prob') is not None:
            kwargs['include_prob'] = values['include_prob']
        return family_from_params(**kwargs), None
    except (ValueError, TypeError) as exc:
        return None, 'declared init not readable: %s' % exc


def find_constrained(model):
    """The constrained weights of ``model``.

    Returns
    -------
    constrained : list of Pylearn2Weight
        In layer order.
    unknown : list of normsafe_init.weights.UnknownWeight
        Layers with a constraint attribute set that could not be read.
    unconstrained : list of (path, layer)
        Every other layer (for listings).
    """
    constrained, unknown, unconstrained = [], [], []
    for path, layer in walk_layers(model):
        if _is_container(layer):
            continue
        name = getattr(layer, 'layer_name', None) or path
        attrs = dict((attr, _number(getattr(layer, attr, None)))
                     for attr in CONSTRAINT_ATTRS
                     if getattr(layer, attr, None) is not None)
        spec = _known_spec(layer)
        if spec is None:
            if attrs:
                unknown.append(UnknownLayer(
                    name, path, layer, attrs,
                    'class %s is not a pylearn2 layer normsafe_init knows'
                    % type(layer).__name__))
            else:
                unconstrained.append((path, layer))
            continue
        _, where, table, _ = spec
        constraints = [Constraint(attr, table[attr][0], table[attr][1],
                                  attrs[attr])
                       for attr in CONSTRAINT_ATTRS
                       if attr in attrs and attr in table]
        ignored = [a for a in attrs if a not in table]
        if ignored:
            unknown.append(UnknownLayer(
                name, path, layer, dict((a, attrs[a]) for a in ignored),
                '%s does not use %s' % (type(layer).__name__,
                                        ', '.join(ignored))))
        if not constraints:
            unconstrained.append((path, layer))
            continue
        variable = weight_variable(layer, where)
        if variable is None:
            unknown.append(UnknownLayer(
                name, path, layer, attrs,
                'no weight found (no_affine, or no single transformer '
                'parameter)'))
            continue
        constrained.append(Pylearn2Weight(name, path, layer, variable,
                                          constraints))
    return constrained, unknown, unconstrained
