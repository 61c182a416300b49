"""Find the max-norm constrained tensors of a ``torch.nn.Module``.

PyTorch has no max-norm constraint of its own; three kinds are found:

=============================  ==================================  ============================
where                          what it does                        vectors (``axes`` summed)
=============================  ==================================  ============================
a parametrization with a       braindecode ``MaxNormParametrize``:  slices along dim 0: every
numeric ``max_norm``           ``X.renorm(p=2, dim=0, maxnorm=c)``  axis but 0 (a ``dim`` or ``p``
                               (``Conv1d/2dWithConstraint``,        attribute, if it has one, is
                               ``LinearWithConstraint``)            honoured; ``p`` must be 2)
braindecode ``MaxNorm``        ``MaxNormLinear``: scales every     axis 0 (the columns of an
(``max_norm_val``)             column ``X[:, j]`` above            ``(out, in)`` weight)
                               ``max_norm_val`` onto it
``nn.Embedding(max_norm=c)``,  renorms the looked-up rows in       rows: every axis but 0
``nn.EmbeddingBag``            ``forward``, in place               (``norm_type`` must be 2)
a module with a numeric        renorms ``self.weight.data`` (or a  as its renorm: see
``max_norm`` (torcheeg,        child's) in ``forward``             :mod:`.attribute`
speechbrain, MetaBCI)
``constraints=`` (declared)    ``torch.renorm(W, 2, dim, c)``,      every axis but ``dim``
                               e.g. after ``optimizer.step()``     (default 0)
=============================  ==================================  ============================

An embedding whose weight is tied to a module registered before it is
found all the same (named after the embedding).

Parametrizations are recognised by their attributes (braindecode is never
imported). braindecode's ``MaxNorm`` has a ``right_inverse`` that stores a
column of norm ``r > c`` as ``X * r / c`` (norm ``r**2 / c``); the stored
tensor is what is measured and repaired, and the init check undoes that
map. The tensor described is the stored one: for a parametrization,
``parametrizations.<name>.original``, the tensor the optimizer updates. A
max-norm parametrization that is not the first of its chain, or whose chain
stores several tensors, is reported and left alone (an ``UnknownWeight``).

Names: a weight is named as the model exposes it, ``<module path>.<name>``
(``'final_layer.weight'``); ``constraints``, ``init``, ``layers`` and
``exclude`` accept that name and, in ``constraints`` and ``init``, the
stored name of ``named_parameters()``
(``'final_layer.parametrizations.weight.original'``) and fnmatch patterns
(``'head.*.weight'``). A name or pattern that matches nothing is an error.
"""
import fnmatch
import math
import numbers
import warnings

import numpy as np
import torch
from torch.nn.utils import parametrize

from ..weights import Constraint, UnknownWeight
from .attribute import attribute_constraints
from .inits import assumed_family, check_assumed, declared_family
from .weights import TorchWeight, to_numpy

__all__ = ['find_constrained', 'parameter_index', 'Entry']

_PATTERN_CHARS = '*?['


class Entry:
    """One tensor of the model: ``name`` (as exposed), ``stored`` (its name
    in ``named_parameters()``), ``module``, ``tensor_name``, ``tensor``."""

    def __init__(self, name, stored, module, tensor_name, tensor):
        self.name, self.stored = name, stored
        self.module, self.tensor_name, self.tensor = (module, tensor_name,
                                                      tensor)


def _join(prefix, name):
    return prefix + '.' + name if prefix else name


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
        entries.append(Entry(_join(prefix, tensor_name), stored,
                             owners[prefix], tensor_name, tensor))
    return entries


def _real(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _renorm_axes(ndim, dim):
    return tuple(i for i in range(ndim) if i != dim)


def _spec_of(param):
    """What a parametrization module is, by its attributes: ``None`` (not a
    max-norm), ``('renorm', attr, limit, dim)``, ``('maxnorm', attr,
    limit, None)``, or ``('unknown', attr, value, reason)``."""
    cls = type(param).__name__
    if hasattr(param, 'max_norm_val'):
        value = getattr(param, 'max_norm_val')
        if cls == 'MaxNorm' and _real(value):
            return 'maxnorm', 'max_norm_val', float(value), None
        return ('unknown', 'max_norm_val', value,
                '%s.max_norm_val=%r: only braindecode MaxNorm (positive '
                'number) is known' % (cls, value))
    if not hasattr(param, 'max_norm'):
        return None
    value = getattr(param, 'max_norm')
    if not _real(value):
        return ('unknown', 'max_norm', value,
                '%s.max_norm is not a positive number' % cls)
    p = getattr(param, 'p', getattr(param, 'norm_type', 2))
    dim = getattr(param, 'dim', 0)
    if p != 2:
        return ('unknown', 'max_norm', value,
                '%s norms with p=%r; only p=2 is supported' % (cls, p))
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        return ('unknown', 'max_norm', value,
                '%s.dim=%r is not an integer' % (cls, dim))
    return 'renorm', 'max_norm', float(value), int(dim)


def _parametrized(model, entries):
    """``({id(tensor): [(Constraint, source)]}, [UnknownWeight])`` for the
    max-norm parametrizations of ``model``."""
    by_tensor, unknown = {}, []
    for prefix, module in model.named_modules():
        if not parametrize.is_parametrized(module):
            continue
        for tensor_name, chain in module.parametrizations.items():
            specs = [(i, p, _spec_of(p)) for i, p in enumerate(chain)]
            specs = [s for s in specs if s[2] is not None]
            if not specs:
                continue
            name = _join(prefix, tensor_name)
            stored = _join(prefix, 'parametrizations.%s.original'
                           % tensor_name)
            attrs = dict((s[2][1], s[2][2]) for s in specs)
            chain_names = ', '.join(type(p).__name__ for p in chain)
            reason = None
            if not hasattr(chain, 'original'):
                reason = ('the parametrization chain (%s) stores several '
                          'tensors' % chain_names)
            elif len(specs) > 1:
                reason = ('the parametrization chain (%s) has several '
                          'max-norms' % chain_names)
            elif specs[0][0] != 0:
                reason = ('the max-norm is not first in the parametrization '
                          'chain (%s): it does not act on the stored tensor'
                          % chain_names)
            elif specs[0][2][0] == 'unknown':
                reason = specs[0][2][3]
            if reason is None and specs[0][2][0] == 'renorm':
                ndim = chain.original.dim()
                dim = specs[0][2][3]
                if ndim < 2 or not -ndim <= dim < ndim:
                    reason = ('renorm along dim %d of a %d-D tensor'
                              % (dim, ndim))
            if reason is not None:
                cls = parametrize.type_before_parametrizations(module)
                unknown.append(UnknownWeight(name, cls.__name__,
                                             attrs, reason, path=stored))
                continue
            kind, attr, limit, dim = specs[0][2]
            tensor = chain.original
            if kind == 'renorm':
                dim %= tensor.dim()
                constraint = Constraint(attr, 'dim%d' % dim,
                                        _renorm_axes(tensor.dim(), dim),
                                        limit)
            else:
                constraint = Constraint(attr, 'col', (0,), limit)
            source = '%s(%s=%g) parametrization' % (type(specs[0][1]).__name__,
                                                    attr, limit)
            by_tensor.setdefault(id(tensor), []).append((constraint, source))
    return by_tensor, unknown


def _embeddings(model, entries):
    """Constraints of ``nn.Embedding`` / ``nn.EmbeddingBag`` with
    ``max_norm``, and the unknown ones. A weight tied to a module
    registered before the embedding is listed under that module's name by
    ``named_parameters()``: its entry is renamed after the embedding."""
    by_tensor, unknown = {}, []
    index = dict((id(e.tensor), i) for i, e in enumerate(entries))
    embedding = (torch.nn.Embedding, torch.nn.EmbeddingBag)
    for prefix, module in model.named_modules():
        if not isinstance(module, embedding) or module.max_norm is None:
            continue
        name = _join(prefix, 'weight')
        if parametrize.is_parametrized(module, 'weight'):
            tensor = module.parametrizations.weight.original
        else:
            tensor = module.weight
        i = index.get(id(tensor))
        if i is None:
            continue
        entry = entries[i]
        if entry.module is not module:  # tied: renamed after the embedding
            entries[i] = entry = Entry(name, entry.stored, module, 'weight',
                                       tensor)
        cls = type(module).__name__
        attrs = {'max_norm': module.max_norm, 'norm_type': module.norm_type}
        reason = None
        if parametrize.is_parametrized(module, 'weight'):
            reason = 'its weight is parametrized: forward renorms a copy'
        elif module.norm_type != 2:
            reason = 'norm_type=%r; only 2 is supported' % module.norm_type
        elif not _real(module.max_norm):
            reason = 'max_norm is not a positive number'
        if reason:
            unknown.append(UnknownWeight(entry.name, cls, attrs, reason,
                                         path=entry.stored))
            continue
        constraint = Constraint('max_norm', 'dim0',
                                _renorm_axes(entry.tensor.dim(), 0),
                                float(module.max_norm))
        source = '%s(max_norm=%g)' % (cls, module.max_norm)
        if entry.stored != _join(prefix, 'weight'):
            source += ', tied to %s' % entry.stored
        by_tensor[id(entry.tensor)] = [(constraint, source)]
    return by_tensor, unknown


def _match(key, entries, option):
    """Indices of ``entries`` a key of ``option`` (``'constraints'``,
    ``'init'``) names; ``ValueError`` if none."""
    if not isinstance(key, str):
        raise ValueError('%s keys must be parameter names (str); got %r'
                         % (option, key))
    pattern = any(ch in key for ch in _PATTERN_CHARS)
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


def _checked_mapping(value, option):
    if value is None:
        return {}
    if not hasattr(value, 'items'):
        raise ValueError('%s must be a dict of parameter names; got %r'
                         % (option, value))
    return value


def _declared(value, key, entry):
    """The Constraint ``constraints[key]`` declares for ``entry``."""
    where = 'constraints[%r]' % key
    if hasattr(value, 'items'):
        extra = sorted(set(value) - {'max_norm', 'dim'})
        if extra or 'max_norm' not in value:
            raise ValueError('%s must be a number or a dict with keys '
                             "'max_norm' and optionally 'dim'; got %r"
                             % (where, value))
        limit, dim = value['max_norm'], value.get('dim', 0)
    else:
        limit, dim = value, 0
    if not _real(limit):
        raise ValueError('%s: max_norm must be a finite real number > 0; '
                         'got %r' % (where, limit))
    ndim = entry.tensor.dim()
    if ndim < 2:
        raise ValueError('%s: torch.renorm needs a tensor of at least 2 '
                         'dimensions; %s has shape %r'
                         % (where, entry.name, tuple(entry.tensor.shape)))
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) \
            or not -ndim <= dim < ndim:
        raise ValueError('%s: dim must be an integer in [%d, %d] for %s of '
                         'shape %r; got %r' % (where, -ndim, ndim - 1,
                                               entry.name,
                                               tuple(entry.tensor.shape), dim))
    dim = int(dim) % ndim
    return Constraint('max_norm', 'dim%d' % dim, _renorm_axes(ndim, dim),
                      float(limit))


def _add_declared(constraints, entries, by_tensor):
    claimed = {}
    for key, value in _checked_mapping(constraints, 'constraints').items():
        for i in _match(key, entries, 'constraints'):
            entry = entries[i]
            if i in claimed:
                raise ValueError('constraints: %s is named by both %r and %r'
                                 % (entry.name, claimed[i], key))
            claimed[i] = key
            new = _declared(value, key, entry)
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
    if isinstance(module, (torch.nn.Embedding, torch.nn.EmbeddingBag)) and \
            getattr(module, 'padding_idx', None) is not None:
        row = entry.tensor.detach()[module.padding_idx]
        if not bool(row.any()):
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
    """The constrained tensors of ``model`` (see the module docstring).

    Returns ``(weights, unknown)``: a list of :class:`TorchWeight` in
    ``named_parameters()`` order and a list of
    :class:`normsafe_init.weights.UnknownWeight`. Raises ``ValueError`` for
    a bad ``constraints`` or ``init`` entry, naming it; nothing is changed.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError('model must be a torch.nn.Module; got %r'
                         % type(model).__name__)
    entries = parameter_index(model)
    by_tensor, unknown = _parametrized(model, entries)
    embedded, more = _embeddings(model, entries)
    by_tensor.update(embedded)
    unknown.extend(more)
    attributed, more = attribute_constraints(model, entries, by_tensor)
    for key, parts in attributed.items():
        have = by_tensor.setdefault(key, [])
        have.extend(p for p in parts
                    if not any(c.axes == p[0].axes for c, _ in have))
    unknown.extend(more)
    _add_declared(constraints, entries, by_tensor)
    constrained = [e for e in entries if by_tensor.get(id(e.tensor))]
    specs = {}
    for key, spec in _checked_mapping(init, 'init').items():
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
