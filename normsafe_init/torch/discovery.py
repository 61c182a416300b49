"""Find the max-norm constrained tensors of a ``torch.nn.Module``.

=============================  ==================================  ============================
where                          what it does                        vectors (``axes`` summed)
=============================  ==================================  ============================
a parametrization with a       braindecode ``MaxNormParametrize``:  slices along ``dim`` (default
numeric ``max_norm``           ``X.renorm(p=2, dim=0, maxnorm=c)``  0; ``p`` must be 2)
braindecode ``MaxNorm``        ``MaxNormLinear``: every column      axis 0
(``max_norm_val``)             above ``max_norm_val`` onto it
``nn.Embedding(max_norm=c)``,  renorms the looked-up rows in       every axis but 0
``nn.EmbeddingBag``            ``forward`` (``norm_type`` 2)
a module with a numeric        renorms ``self.weight.data`` (or a  :mod:`.attribute`
``max_norm`` attribute         child's) in ``forward``
``constraints=`` (declared)    ``torch.renorm(W, 2, dim, c)``      every axis but ``dim``
=============================  ==================================  ============================

The tensor described is the stored one (``parametrizations.<name>.original``
for a parametrization: the tensor the optimizer updates). braindecode's
``MaxNorm.right_inverse`` stores a column of norm ``r > c`` as
``X * r / c``; the init check undoes that map. A max-norm parametrization
that is not first in its chain, or whose chain stores several tensors, is
reported and left alone (an ``UnknownWeight``).

A weight is named as the model exposes it (``'final_layer.weight'``);
``constraints`` and ``init`` also take the stored name of
``named_parameters()`` and fnmatch patterns. A name or pattern that matches
nothing is an error.
"""
import collections
import fnmatch
import warnings

import numpy as np
import torch
from torch.nn.utils import parametrize

from ..weights import Constraint, UnknownWeight
from .attribute import attribute_constraints
from .inits import assumed_family, check_assumed, declared_family
from .weights import (TorchWeight, dotted, integer, positive_number,
                      renorm_constraint, to_numpy)

__all__ = ['find_constrained', 'check_options', 'parameter_index', 'Entry']

#: One tensor of the model: ``name`` (as exposed), ``stored`` (its name in
#: ``named_parameters()``), its ``module``, ``tensor_name`` and ``tensor``.
Entry = collections.namedtuple('Entry',
                               'name stored module tensor_name tensor')

_EMBEDDINGS = (torch.nn.Embedding, torch.nn.EmbeddingBag)


def parameter_index(model):
    """Every parameter of ``model`` as an :class:`Entry`, in
    ``named_parameters()`` order, a parametrized one under its exposed
    name (each tensor once)."""
    entries, seen = [], set()
    owners = dict(model.named_modules())
    for stored, tensor in model.named_parameters():
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        prefix, _, tensor_name = stored.rpartition('.')
        parts = stored.split('.')
        if (len(parts) >= 3 and parts[-3] == 'parametrizations'
                and parts[-1] == 'original'):
            prefix = '.'.join(parts[:-3])
            tensor_name = parts[-2]
        entries.append(Entry(dotted(prefix, tensor_name), stored,
                             owners[prefix], tensor_name, tensor))
    return entries


def _spec_of(param, ndim):
    """``None`` if the parametrization ``param`` is no max-norm, else
    ``(attr, value, Constraint or None, reason)`` for an ``ndim``-D stored
    tensor."""
    cls = type(param).__name__
    if hasattr(param, 'max_norm_val'):
        value = param.max_norm_val
        if cls == 'MaxNorm' and positive_number(value):
            return ('max_norm_val', value,
                    Constraint('max_norm_val', 'col', (0,), float(value)),
                    None)
        return ('max_norm_val', value, None, '%s.max_norm_val=%r: only '
                'braindecode MaxNorm (positive number) is known'
                % (cls, value))
    if not hasattr(param, 'max_norm'):
        return None
    value = param.max_norm
    p = getattr(param, 'p', getattr(param, 'norm_type', 2))
    dim = getattr(param, 'dim', 0)
    constraint = reason = None
    if not positive_number(value):
        reason = '%s.max_norm is not a positive number' % cls
    elif p != 2:
        reason = '%s norms with p=%r; only p=2 is supported' % (cls, p)
    elif not integer(dim):
        reason = '%s.dim=%r is not an integer' % (cls, dim)
    elif ndim >= 2:
        constraint = renorm_constraint('max_norm', dim, ndim, value)
    if constraint is None and reason is None:
        reason = 'renorm along dim %d of a %d-D tensor' % (dim, ndim)
    return 'max_norm', value, constraint, reason


def _parametrized(model, by_tensor):
    """Add the max-norm parametrizations of ``model`` to ``by_tensor``;
    returns the ones left alone, as UnknownWeights."""
    unknown = []
    for prefix, module in model.named_modules():
        if not parametrize.is_parametrized(module):
            continue
        for tensor_name, chain in module.parametrizations.items():
            original = getattr(chain, 'original', None)
            ndim = 0 if original is None else original.dim()
            specs = [(i, p, _spec_of(p, ndim)) for i, p in enumerate(chain)]
            specs = [s for s in specs if s[2] is not None]
            if not specs:
                continue
            first, param, (attr, limit, constraint, reason) = specs[0]
            chain_names = ', '.join(type(p).__name__ for p in chain)
            if original is None:
                reason = ('the parametrization chain (%s) stores several '
                          'tensors' % chain_names)
            elif len(specs) > 1:
                reason = ('the parametrization chain (%s) has several '
                          'max-norms' % chain_names)
            elif first != 0:
                reason = ('the max-norm is not first in the parametrization '
                          'chain (%s): it does not act on the stored tensor'
                          % chain_names)
            name = dotted(prefix, tensor_name)
            if reason is not None:
                cls = parametrize.type_before_parametrizations(module)
                unknown.append(UnknownWeight(
                    name, cls.__name__, dict((s[2][0], s[2][1]) for s in specs),
                    reason, path=dotted(prefix, 'parametrizations',
                                        tensor_name, 'original')))
                continue
            source = '%s(%s=%g) parametrization' % (type(param).__name__,
                                                    attr, limit)
            by_tensor.setdefault(id(original), []).append((constraint,
                                                           source))
    return unknown


def _embeddings(model, entries, by_tensor):
    """Add ``nn.Embedding`` / ``nn.EmbeddingBag`` with ``max_norm`` to
    ``by_tensor``; returns the ones left alone. A weight tied to a module
    registered before the embedding is listed under that module's name by
    ``named_parameters()``: its entry is renamed after the embedding."""
    unknown = []
    index = dict((id(e.tensor), i) for i, e in enumerate(entries))
    for prefix, module in model.named_modules():
        if not isinstance(module, _EMBEDDINGS) or module.max_norm is None:
            continue
        parametrized = parametrize.is_parametrized(module, 'weight')
        tensor = (module.parametrizations.weight.original if parametrized
                  else module.weight)
        i = index.get(id(tensor))
        if i is None:
            continue
        entry = entries[i]
        if entry.module is not module:  # tied: renamed after the embedding
            entries[i] = entry = Entry(dotted(prefix, 'weight'), entry.stored,
                                       module, 'weight', tensor)
        cls = type(module).__name__
        reason = None
        if parametrized:
            reason = 'its weight is parametrized: forward renorms a copy'
        elif module.norm_type != 2:
            reason = 'norm_type=%r; only 2 is supported' % module.norm_type
        elif not positive_number(module.max_norm):
            reason = 'max_norm is not a positive number'
        if reason:
            unknown.append(UnknownWeight(
                entry.name, cls, {'max_norm': module.max_norm,
                                  'norm_type': module.norm_type},
                reason, path=entry.stored))
            continue
        source = '%s(max_norm=%g)' % (cls, module.max_norm)
        if entry.stored != dotted(prefix, 'weight'):
            source += ', tied to %s' % entry.stored
        by_tensor[id(tensor)] = [(renorm_constraint(
            'max_norm', 0, tensor.dim(), module.max_norm), source)]
    return unknown


def _mapping(value, option):
    """The items of ``constraints`` / ``init``, keys checked."""
    if value is None:
        return []
    if not hasattr(value, 'items'):
        raise ValueError('%s must be a dict of parameter names; got %r'
                         % (option, value))
    for key in value:
        if not isinstance(key, str):
            raise ValueError('%s keys must be parameter names (str); got %r'
                             % (option, key))
    return list(value.items())


def _match(key, entries, option):
    """Indices of ``entries`` a key of ``option`` (``'constraints'``,
    ``'init'``) names; ``ValueError`` if none."""
    pattern = any(ch in key for ch in '*?[')
    if pattern:
        hits = [i for i, e in enumerate(entries)
                if fnmatch.fnmatchcase(e.name, key)
                or fnmatch.fnmatchcase(e.stored, key)]
    else:
        hits = [i for i, e in enumerate(entries) if key in (e.name, e.stored)]
    if not hits:
        what = ('constrained weight' if option == 'init' else 'parameter')
        names = [e.name for e in entries]
        shown = ', '.join(names[:30]) + (', ...' if len(names) > 30 else '')
        raise ValueError('%s names %r, which %s %s of this model; %ss: %s'
                         % (option, key, 'matches no' if pattern
                            else 'is not a', what, what, shown or 'none'))
    return hits


def _limit_and_dim(key, value):
    """``(limit, dim)`` of ``constraints[key]``; ``dim`` is checked against
    the tensor later."""
    if hasattr(value, 'items'):
        if set(value) - {'max_norm', 'dim'} or 'max_norm' not in value:
            raise ValueError('constraints[%r] must be a number or a dict with '
                             "keys 'max_norm' and optionally 'dim'; got %r"
                             % (key, value))
        limit, dim = value['max_norm'], value.get('dim', 0)
    else:
        limit, dim = value, 0
    if not positive_number(limit):
        raise ValueError('constraints[%r]: max_norm must be a finite real '
                         'number > 0; got %r' % (key, limit))
    return limit, dim


def check_options(constraints, init):
    """``ValueError`` for a malformed ``constraints`` or ``init`` value,
    before any model is seen (the skorch callback checks at construction).
    """
    for key, value in _mapping(constraints, 'constraints'):
        _, dim = _limit_and_dim(key, value)
        if not integer(dim):
            raise ValueError('constraints[%r]: dim must be an integer; got %r'
                             % (key, dim))
    for key, spec in _mapping(init, 'init'):
        declared_family(spec, (2, 2), 'init[%r]' % key)


def _declared(key, value, entry):
    """The Constraint ``constraints[key]`` declares for ``entry``."""
    limit, dim = _limit_and_dim(key, value)
    shape, ndim = tuple(entry.tensor.shape), entry.tensor.dim()
    if ndim < 2:
        raise ValueError('constraints[%r]: torch.renorm needs a tensor of at '
                         'least 2 dimensions; %s has shape %r'
                         % (key, entry.name, shape))
    constraint = renorm_constraint('max_norm', dim, ndim, limit)
    if constraint is None:
        raise ValueError('constraints[%r]: dim must be an integer in [%d, %d] '
                         'for %s of shape %r; got %r'
                         % (key, -ndim, ndim - 1, entry.name, shape, dim))
    return constraint


def _add_declared(constraints, entries, by_tensor):
    claimed = {}
    for key, value in _mapping(constraints, 'constraints'):
        for i in _match(key, entries, 'constraints'):
            entry = entries[i]
            if i in claimed:
                raise ValueError('constraints: %s is named by both %r and %r'
                                 % (entry.name, claimed[i], key))
            claimed[i] = key
            new = _declared(key, value, entry)
            parts = by_tensor.setdefault(id(entry.tensor), [])
            same = [c for c, _ in parts if c.axes == new.axes]
            if same and same[0].limit != new.limit:
                raise ValueError(
                    'constraints[%r] declares max_norm=%g on %s, whose %s '
                    'already bounds the same vectors at %g'
                    % (key, new.limit, entry.name, same[0].attr,
                       same[0].limit))
            if not same:
                parts.append((new, 'constraints[%r]' % key))
            if parametrize.is_parametrized(entry.module, entry.tensor_name) \
                    and not any('parametrization' in src for _, src in parts):
                chain = ', '.join(type(p).__name__ for p in getattr(
                    entry.module.parametrizations, entry.tensor_name))
                warnings.warn(
                    'constraints[%r]: %s is computed by a parametrization '
                    '(%s); the constraint bounds the stored tensor %s, not '
                    'the weight the forward uses' % (key, entry.name, chain,
                                                     entry.stored),
                    UserWarning, stacklevel=4)


def _maxnorm_preimage(values, limit):
    """The weight braindecode's ``MaxNorm.right_inverse`` was given: it
    stores a column of norm ``r > limit`` as ``X * r / limit``, whose norm
    is ``r**2 / limit``."""
    norms = np.sqrt(np.sum(np.square(values, dtype=np.float64), axis=0,
                           keepdims=True))
    scale = np.where(norms > limit, np.sqrt(limit / np.maximum(norms, 1e-300)),
                     1.0)
    return values * scale


def _family(entry, parts, init_spec):
    """``(family, note, source, mask)`` of one constrained tensor."""
    module, shape = entry.module, tuple(entry.tensor.shape)
    mask = None
    if isinstance(module, _EMBEDDINGS) and module.padding_idx is not None:
        if not bool(entry.tensor.detach()[module.padding_idx].any()):
            mask = np.ones(shape, dtype=np.float32)
            mask[module.padding_idx] = 0
    if init_spec is not None:
        key, spec = init_spec
        family = declared_family(spec, shape, 'init[%r]' % key)
        if family is None:
            return None, 'init[%r] declares the init unknown' % key, None, mask
        return family, None, 'init[%r]' % key, mask
    family, source, note = assumed_family(module, entry.tensor_name, shape)
    if family is None:
        return None, note, None, mask
    if entry.tensor.device.type == 'meta':
        return None, 'on the meta device: no values', None, mask
    values = to_numpy(entry.tensor)
    for constraint, _ in parts:
        if constraint.kind == 'col' and constraint.attr == 'max_norm_val':
            values = _maxnorm_preimage(values, constraint.limit)
    reason = check_assumed(family, values, mask)
    if reason is not None:
        return None, ('assumed %s, but %s: the init is unknown (declare it '
                      'with init=)' % (source, reason)), None, mask
    return family, None, 'assumed: ' + source, mask


def find_constrained(model, constraints=None, init=None):
    """The constrained tensors of ``model`` (see the module docstring):
    ``(weights, unknown)``, a list of :class:`TorchWeight` in
    ``named_parameters()`` order and a list of
    :class:`normsafe_init.weights.UnknownWeight`. Raises ``ValueError`` for
    a bad ``constraints`` or ``init`` entry, naming it; nothing is changed.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError('model must be a torch.nn.Module; got %r'
                         % type(model).__name__)
    entries = parameter_index(model)
    by_tensor = {}
    unknown = _parametrized(model, by_tensor)
    unknown += _embeddings(model, entries, by_tensor)
    unknown += attribute_constraints(
        model, set(id(e.tensor) for e in entries), by_tensor)
    _add_declared(constraints, entries, by_tensor)
    constrained = [e for e in entries if by_tensor.get(id(e.tensor))]
    specs = {}
    for key, spec in _mapping(init, 'init'):
        for i in _match(key, constrained, 'init'):
            if i in specs:
                raise ValueError('init: %s is named by both %r and %r'
                                 % (constrained[i].name, specs[i][0], key))
            specs[i] = (key, spec)
    weights = []
    for i, entry in enumerate(constrained):
        parts = by_tensor[id(entry.tensor)]
        family, note, source, mask = _family(entry, parts, specs.get(i))
        weights.append(TorchWeight(
            entry.name, entry.stored, entry.tensor, entry.module,
            [c for c, _ in parts], [s for _, s in parts], family=family,
            family_note=note, init_source=source, mask=mask))
    return weights, unknown
