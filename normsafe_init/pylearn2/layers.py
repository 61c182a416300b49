"""What normsafe_init knows of pylearn2's layers: one table, used by the
extension and by ``normsafe-init check`` alike. Imports neither pylearn2
nor Theano: a layer is recognised by the pylearn2 classes in its MRO (so
user subclasses are too), its constraints by the layer attributes that
both the 2015 and the final pylearn2 set.

=========================  ======================  ==========  =============
pylearn2 class             where ``W`` is          constraint  axes
=========================  ======================  ==========  =============
``mlp.Softmax``            ``layer.W`` (in, cls)   col / row   (0,) / (1,)
``mlp.SoftmaxPool``        transformer (in, dim)   col         (0,)
``mlp.Linear`` & subclass  transformer (in, dim)   col / row   (0,) / (1,)
``maxout.Maxout``          transformer (in,        col / row   (0,) / (1,)
                           units * pieces)
``mlp.ConvElemwise``       transformer             kernel      (1, 2, 3)
                           (out, in, rows, cols)
``maxout.MaxoutConvC01B``  transformer (in +       kernel      (0, 1, 2)
(GPU only)                 dummy, rows, cols, out)
``maxout.MaxoutLocalC01B`` transformer, 7-D        kernel      (2, 3, 4)
(GPU only with pooling)
``dbm.BinaryVectorMaxPool`` transformer (in,       col         (0,)
and ``dbm.BVMP_Gaussian``  detector_layer_dim)
``dbm.Softmax``            ``layer.W`` (in, cls)   col         (0,)
``dbm.ising.IsingHidden``  transformer (in, dim)   col         (0,)
``dbm.ising.Boltzmann``    ``layer.W`` (in, dim)   col         (0,)
``IsingHidden``
=========================  ======================  ==========  =============

``SoftmaxRegression`` is an ``MLP`` holding one ``mlp.Softmax`` named
``'y'``. ``MLP``, ``CompositeLayer`` and ``FlattenerLayer`` (and a DBM's
``visible_layer`` and ``hidden_layers``, a DBM ``CompositeLayer``'s
``components``) are walked recursively.

Example (no pylearn2 needed: any object whose class is named like a
pylearn2 one in a ``pylearn2.*`` module is recognised)::

    >>> spec_of(object()) is None
    True
    >>> [s.name for s in KNOWN if s.gpu]
    ['MaxoutConvC01B', 'MaxoutLocalC01B']
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from .._validation import check_int, check_positive
from ..laws import Gaussian, Sparse, Uniform, Zero
from ..weights import Constraint, ConstrainedWeight, UnknownWeight

__all__ = ['Pylearn2Weight', 'UnknownLayer', 'LayerSpec',
           'KNOWN', 'CONSTRAINT_ATTRS', 'DATA_BIAS_ARGS', 'spec_of',
           'spec_of_class',
           'is_container', 'walk_layers', 'find_constrained',
           'weight_variable', 'declared_family', 'natural_vectors',
           'option_name', 'constraints_of', 'family_from_params']

#: Layer attributes that carry a max-norm constraint.
CONSTRAINT_ATTRS = ('max_col_norm', 'max_row_norm', 'max_kernel_norm')

#: Constructor arguments that only initialise biases from a dataset (the
#: weights are drawn without them): ``mlp.Softmax`` / ``SoftmaxRegression``
#: ``init_bias_target_marginals``, the DBM visible layers'
#: ``bias_from_marginals``, ``RBM``'s ``init_bias_vis_marginals``.
DATA_BIAS_ARGS = ('init_bias_target_marginals', 'bias_from_marginals',
                  'init_bias_vis_marginals')


class LayerSpec(object):
    """What normsafe_init knows of one pylearn2 layer class.

    ``name`` and ``module`` (a prefix) identify the class; ``where`` is
    ``'W'`` (``layer.W``) or ``'transformer'`` (its single parameter);
    ``constraints`` maps each constraint attribute to ``(kind, axes)``;
    ``init`` names the init options the layer reads (``irange``,
    ``istdev``, ``sparse_init``, ``include_prob``); ``sparse_scale`` is the
    option that scales a sparse init's N(0, 1) entries (``None``: none, the
    entries stay N(0, 1)); ``sparse_zero`` marks layers whose
    ``sparse_init`` leaves W all zero (pylearn2's Ising layers);
    ``gpu``: ``'always'`` (cuda-convnet only) or ``'pooling'`` (only with
    ``pool_shape``), else None.
    """

    def __init__(self, name, where, constraints, init, module='pylearn2.',
                 sparse_scale='sparse_stdev', sparse_zero=False, gpu=None):
        self.name = name
        self.where = where
        self.constraints = constraints
        self.init = init
        self.module = module
        self.sparse_scale = sparse_scale
        self.sparse_zero = sparse_zero
        self.gpu = gpu

    def matches(self, cls):
        return (cls.__name__ == self.name
                and cls.__module__.startswith(self.module))

    def natural(self):
        """``(kind, axes)`` of the vectors its first constraint bounds."""
        attr = [a for a in CONSTRAINT_ATTRS if a in self.constraints][0]
        return self.constraints[attr]

    def __repr__(self):
        return 'LayerSpec(%s.%s)' % (self.module.rstrip('.'), self.name)


_COL = {'max_col_norm': ('col', (0,))}
_DENSE = {'max_col_norm': ('col', (0,)), 'max_row_norm': ('row', (1,))}
_DBM = 'pylearn2.models.dbm'
_UNIFORM_SPARSE = ('irange', 'sparse_init', 'include_prob')

#: The table. Order matters: for each class of a layer's MRO in turn, the
#: first entry that matches wins (the DBM ``Softmax`` comes before the MLP
#: one, which has the same name).
KNOWN = (
    LayerSpec('Softmax', 'W', _COL, ('irange', 'sparse_init'), module=_DBM,
              sparse_scale='sparse_istdev'),
    LayerSpec('BinaryVectorMaxPool', 'transformer', _COL, _UNIFORM_SPARSE,
              module=_DBM),
    LayerSpec('IsingHidden', 'transformer', _COL, _UNIFORM_SPARSE,
              module=_DBM, sparse_zero=True),
    LayerSpec('BoltzmannIsingHidden', 'W', _COL, _UNIFORM_SPARSE,
              module=_DBM, sparse_zero=True),
    LayerSpec('Softmax', 'W', _DENSE, ('irange', 'istdev', 'sparse_init'),
              sparse_scale=None),
    LayerSpec('SoftmaxPool', 'transformer', _COL, _UNIFORM_SPARSE),
    LayerSpec('Linear', 'transformer', _DENSE,
              ('irange', 'istdev', 'sparse_init', 'include_prob')),
    LayerSpec('Maxout', 'transformer', _DENSE, _UNIFORM_SPARSE),
    LayerSpec('ConvElemwise', 'transformer',
              {'max_kernel_norm': ('kernel', (1, 2, 3))}, ('irange',)),
    LayerSpec('MaxoutConvC01B', 'transformer',
              {'max_kernel_norm': ('kernel', (0, 1, 2))}, ('irange',),
              gpu='always'),
    LayerSpec('MaxoutLocalC01B', 'transformer',
              {'max_kernel_norm': ('kernel', (2, 3, 4))}, ('irange',),
              gpu='pooling'),
)

#: Containers: (class name, module prefix, attributes holding the layers).
_CONTAINERS = (
    ('DBM', _DBM, ('visible_layer', 'hidden_layers')),
    ('CompositeLayer', _DBM, ('components',)),
    ('MLP', 'pylearn2.', ('layers',)),
    ('CompositeLayer', 'pylearn2.', ('layers',)),
    ('FlattenerLayer', 'pylearn2.', ('raw_layer',)),
)


def spec_of(layer):
    """The :class:`LayerSpec` of ``layer`` (by its MRO), or None."""
    return spec_of_class(type(layer))


def spec_of_class(layer_class):
    """The :class:`LayerSpec` of a layer class (by its MRO), or None."""
    for cls in getattr(layer_class, '__mro__', ()):
        if not cls.__module__.startswith('pylearn2.'):
            continue
        for spec in KNOWN:
            if spec.matches(cls):
                return spec
    return None


def _container_attrs(obj):
    for cls in type(obj).__mro__:
        for name, module, attrs in _CONTAINERS:
            if cls.__name__ == name and cls.__module__.startswith(module):
                return attrs
    return None


def is_container(layer):
    """Whether ``layer`` is a pylearn2 container walked by
    :func:`walk_layers`."""
    return _container_attrs(layer) is not None


def _children(model):
    attrs = _container_attrs(model)
    if attrs is None:  # the top object: any model with layers
        attrs = ('layers',) if getattr(model, 'layers', None) is not None \
            else ('raw_layer',)
    children = []
    for value in (getattr(model, attr, None) for attr in attrs):
        if isinstance(value, (list, tuple)):
            children.extend(value)
        elif value is not None:
            children.append(value)
    return children


def walk_layers(model, _path=''):
    """Yield ``(path, layer)`` for every layer under ``model`` (depth first,
    in order). A path joins layer names with ``/``; a ``FlattenerLayer``
    shares its raw layer's name, so that name is not repeated; a layer
    without ``layer_name`` (a DBM visible layer) is named by its class."""
    for layer in _children(model):
        name = getattr(layer, 'layer_name', None) or type(layer).__name__
        if _path and _path.split('/')[-1] == name:
            path = _path
        else:
            path = _path + '/' + name if _path else name
        yield path, layer
        if is_container(layer):
            for item in walk_layers(layer, path):
                yield item


def weight_variable(layer, where=None):
    """The weight shared variable of ``layer``, or None.

    ``where='W'``: ``layer.W``; ``'transformer'``: the single parameter of
    ``layer.transformer``; ``None``: ``layer.W`` if it is a shared variable,
    else the transformer's (any layer, for listings).
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


def option_name(spec, param_name):
    """The layer option that holds ``param_name`` (``'irange'``,
    ``'istdev'``, ``'sparse_stdev'``) for ``spec``: ``sparse_istdev`` for
    the DBM ``Softmax``; None when the class has no such option (the MLP
    ``Softmax`` has no ``sparse_stdev``)."""
    if param_name == 'sparse_stdev':
        return spec.sparse_scale if spec is not None else param_name
    return param_name


def family_from_params(irange=None, istdev=None, sparse_init=None,
                       sparse_stdev=1.0, include_prob=1.0):
    """The init family a pylearn2 layer declares through its options:
    exactly one of ``irange``, ``istdev``, ``sparse_init`` (as pylearn2
    requires); a zero value gives :class:`Zero`.

    >>> family_from_params(irange=0.05)
    Uniform(irange=0.05)
    """
    given = [name for name, value in (('irange', irange), ('istdev', istdev),
                                      ('sparse_init', sparse_init))
             if value is not None]
    if len(given) != 1:
        raise ValueError('exactly one of irange, istdev, sparse_init must be '
                         'set; got %s' % (', '.join(given) or 'none'))
    if irange is not None:
        irange = check_positive(irange, 'irange', allow_zero=True)
        return Zero() if irange == 0 else Uniform(irange, include_prob)
    if istdev is not None:
        istdev = check_positive(istdev, 'istdev', allow_zero=True)
        return Zero() if istdev == 0 else Gaussian(istdev)
    sparse_init = check_int(sparse_init, 'sparse_init', minimum=0)
    if sparse_init == 0 or sparse_stdev == 0:
        return Zero()
    return Sparse(sparse_init, sparse_stdev)


def declared_family(layer, spec=None):
    """``(family, note)``: the init ``layer`` declares (an
    :class:`normsafe_init.laws.InitFamily`, or None and why)."""
    spec = spec or spec_of(layer)
    options = spec.init if spec else ('irange', 'istdev', 'sparse_init',
                                      'include_prob')
    kwargs = dict((opt, getattr(layer, opt)) for opt in options
                  if getattr(layer, opt, None) is not None)
    scale = option_name(spec, 'sparse_stdev')
    if 'sparse_init' in kwargs and scale is not None \
            and getattr(layer, scale, None) is not None:
        kwargs['sparse_stdev'] = getattr(layer, scale)
    try:
        family = family_from_params(**kwargs)
    except (ValueError, TypeError) as exc:
        return None, 'declared init not readable: %s' % exc
    if spec is not None and spec.sparse_zero and family.kind == 'sparse':
        return Zero(), ('%s draws no entry for sparse_init: W starts all '
                        'zero' % spec.name)
    return family, None


def natural_vectors(layer, ndim):
    """``(kind, axes)`` of the vectors a layer's weight is naturally cut
    into (for listings of unconstrained layers), or None."""
    spec = spec_of(layer)
    if spec is not None:
        kind, axes = spec.natural()
        if ndim > max(axes):
            return kind, axes
    if ndim == 2:
        return 'col', (0,)
    return None


class Pylearn2Weight(ConstrainedWeight):
    """A constrained weight of one pylearn2 layer.

    Besides :class:`normsafe_init.weights.ConstrainedWeight`'s attributes:
    ``layer`` (the pylearn2 layer), ``variable`` (the Theano shared
    variable, changed only with ``set_value``), ``spec`` (its
    :class:`LayerSpec`) and ``min_col_norm`` (also the column constraint's
    ``min_limit``). The path joins the layer names from the top MLP down
    with ``/``; the constraints come column first, as pylearn2 applies them.
    """

    def __init__(self, name, path, layer, variable, constraints, spec=None):
        value = variable.get_value(borrow=True)
        self.layer = layer
        self.variable = variable
        self.spec = spec or spec_of(layer)
        self.min_col_norm = _number(getattr(layer, 'min_col_norm', None))
        if self.min_col_norm:
            for constraint in constraints:
                if constraint.kind == 'col':
                    constraint.min_limit = self.min_col_norm
                    constraint.min_attr = 'min_col_norm'
        mask = getattr(layer, 'mask_weights', None)
        ConstrainedWeight.__init__(
            self, name, constraints, value.shape, value.dtype, mask=mask,
            path=path, class_name=type(layer).__name__, label='W')
        self.family, self.family_note = declared_family(layer, self.spec)

    def read(self):
        # borrow: the core only reads while planning
        return self.variable.get_value(borrow=True)

    def read_writable(self):
        current = self.variable.get_value(borrow=True)
        return current if current.flags.writeable else current.copy()

    def write(self, value):
        current = self.variable.get_value(borrow=True)
        new = np.asarray(value).astype(current.dtype, copy=False)
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
    try:
        return float(value)
    except (TypeError, ValueError):
        get_value = getattr(value, 'get_value', None)
        if get_value is not None:
            return float(get_value())
        return None


def constraints_of(layer, spec):
    """``(constraints, attrs, ignored)``: the :class:`Constraint` list of a
    known layer (column first), every constraint attribute set and those
    its class does not use."""
    attrs = dict((attr, _number(getattr(layer, attr, None)))
                 for attr in CONSTRAINT_ATTRS
                 if getattr(layer, attr, None) is not None)
    table = spec.constraints if spec is not None else {}
    constraints = [Constraint(attr, table[attr][0], table[attr][1],
                              attrs[attr])
                   for attr in CONSTRAINT_ATTRS
                   if attr in attrs and attr in table]
    ignored = [a for a in CONSTRAINT_ATTRS if a in attrs and a not in table]
    return constraints, attrs, ignored


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
        if is_container(layer):
            continue
        name = getattr(layer, 'layer_name', None) or path
        spec = spec_of(layer)
        constraints, attrs, ignored = constraints_of(layer, spec)
        if spec is None:
            if attrs:
                unknown.append(UnknownLayer(
                    name, path, layer, attrs,
                    'class %s is not a pylearn2 layer normsafe_init knows'
                    % type(layer).__name__))
            else:
                unconstrained.append((path, layer))
            continue
        if ignored:
            unknown.append(UnknownLayer(
                name, path, layer, dict((a, attrs[a]) for a in ignored),
                '%s does not use %s' % (type(layer).__name__,
                                        ', '.join(ignored))))
        if not constraints:
            unconstrained.append((path, layer))
            continue
        variable = weight_variable(layer, spec.where)
        if variable is None:
            unknown.append(UnknownLayer(
                name, path, layer, attrs,
                'no weight found (no_affine, or no single transformer '
                'parameter)'))
            continue
        constrained.append(Pylearn2Weight(name, path, layer, variable,
                                          constraints, spec))
    return constrained, unknown, unconstrained
