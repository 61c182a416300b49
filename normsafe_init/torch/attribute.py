"""Max-norm layers that keep their limit as a module attribute and renorm
the weight's ``.data`` in their own ``forward`` (torcheeg, speechbrain,
MetaBCI, braindecode < 1.0: the README's table lists them).

Nothing is matched by class name: the ``forward`` of any module with a
positive numeric ``max_norm`` (or ``max_norm_value``) attribute is read
(``inspect.getsource`` + ``ast``) for a ``torch.renorm(X, p, dim,
maxnorm)`` / ``X.renorm(p, dim, maxnorm)`` / ``X.renorm_(...)`` call, or
an assignment ``self.<path>.data = self.<method>(...)`` whose method norms
over ``dim=self.<attr>`` and clamps at ``self.<limit attr>`` (MetaBCI);
``X`` is ``self.<path>.<tensor>[.data]``, ``p`` must be 2. A renorm inside
``if self.flag:`` / ``if self.attr is not None:`` counts only when that
test is true on the module (torcheeg's ``weight_norm=False``).

A renorm of a *computed* weight (a parametrized child, e.g. speechbrain's
``Conv2d(weight_norm=True)``) never bounds the stored tensor; such a
layer, and a module whose ``forward`` cannot be read, are reported
(``UnknownWeight``) and left alone, unless another constraint already
covers its weights.
"""
import ast
import functools
import inspect
import textwrap

import torch
from torch.nn.utils import parametrize

from ..weights import Constraint, UnknownWeight
from .weights import dotted, integer, positive_number, renorm_constraint

__all__ = ['AttributeSpec', 'attribute_constraints']

_LIMIT_ATTRS = ('max_norm', 'max_norm_value')
_SKIPPED = (torch.nn.Embedding, torch.nn.EmbeddingBag)


class AttributeSpec:
    """What a layer's ``forward`` renorms: the ``child`` path and
    ``tensor_name``, the ``axes`` summed (or the renorm's ``dim``),
    ``limit`` and its attribute ``attr``, ``text`` (the call as read);
    ``reason`` why it is left alone, if it is; ``off`` when it sits in an
    ``if`` that is false on the module."""

    def __init__(self, child, tensor_name, axes=None, limit=None, attr=None,
                 text='', reason=None, dim=None):
        self.child, self.tensor_name = tuple(child), tensor_name
        self.axes, self.limit, self.attr = axes, limit, attr
        self.text, self.reason, self.dim = text, reason, dim
        self.off = False


def _self_path(node):
    """``['w', 'weight']`` for ``self.w.weight`` / ``self.w.weight.data``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id != 'self' or not parts:
        return None
    parts.reverse()
    if parts[-1] == 'data':
        parts.pop()
    return parts or None


def _value(node, module):
    """A constant, or ``self.<attr>`` read on the module; else a marker."""
    if isinstance(node, ast.Constant):
        return node.value, repr(node.value)
    path = _self_path(node)
    if path is not None and len(path) == 1 and hasattr(module, path[0]):
        return getattr(module, path[0]), 'self.' + path[0]
    return _UNREAD, ast.unparse(node)


_UNREAD = object()


def _guard(test, module):
    """True / False for a test on the module's attributes; None if unread."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _guard(test.operand, module)
        return None if inner is None else not inner
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
            isinstance(test.comparators[0], ast.Constant) and \
            test.comparators[0].value is None:
        value, _ = _value(test.left, module)
        if value is _UNREAD:
            return None
        if isinstance(test.ops[0], ast.IsNot):
            return value is not None
        if isinstance(test.ops[0], ast.Is):
            return value is None
        return None
    value, _ = _value(test, module)
    return None if value is _UNREAD else bool(value)


def _calls(body, guards=()):
    """``(node, guards)`` for every Call / Assign in ``body``, with the
    ``(test, branch)`` of the ``if`` statements around it."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _calls(stmt.body, guards + ((stmt.test, True),))
            yield from _calls(stmt.orelse, guards + ((stmt.test, False),))
        elif isinstance(stmt, (ast.With, ast.For, ast.While, ast.Try)):
            for block in ('body', 'orelse', 'finalbody'):
                yield from _calls(getattr(stmt, block, []), guards)
        else:
            for node in ast.walk(stmt):
                if isinstance(node, (ast.Call, ast.Assign)):
                    yield node, guards


def _arg(call, index, name):
    """Argument ``name`` (keyword) or ``index`` (positional, after the
    tensor for ``torch.renorm``) of a renorm call, or None."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    args = call.args if _is_method_renorm(call) else call.args[1:]
    return args[index] if index < len(args) else None


def _is_method_renorm(call):
    func = call.func
    return not (isinstance(func.value, ast.Name) and func.value.id == 'torch')


def _renorm_spec(call, module):
    """An AttributeSpec for a renorm call on ``self.<path>``, or None."""
    func = call.func
    if not isinstance(func, ast.Attribute) or \
            func.attr not in ('renorm', 'renorm_'):
        return None
    target = (func.value if _is_method_renorm(call)
              else (call.args[0] if call.args else None))
    path = _self_path(target) if target is not None else None
    if path is None:
        return None
    text = ast.unparse(call)
    p_node, dim_node, max_node = (_arg(call, 0, 'p'), _arg(call, 1, 'dim'),
                                  _arg(call, 2, 'maxnorm'))
    if p_node is None or dim_node is None or max_node is None:
        return AttributeSpec(path[:-1], path[-1], text=text,
                             reason='%s: p, dim or maxnorm not given' % text)
    (p, _), (dim, _), (limit, attr) = (_value(p_node, module),
                                       _value(dim_node, module),
                                       _value(max_node, module))
    reason = None
    if p != 2:
        reason = '%s norms with p=%r; only p=2 is supported' % (text, p)
    elif not integer(dim):
        reason = '%s: dim is not an integer' % text
    elif not positive_number(limit):
        reason = '%s: maxnorm %s=%r is not a positive number' % (
            text, attr, limit)
    attr = attr[5:] if attr.startswith('self.') else attr
    return AttributeSpec(path[:-1], path[-1], limit=limit, attr=attr,
                         text=text, reason=reason,
                         dim=None if reason else int(dim))


def _helper_spec(assign, cls, module):
    """``self.<path>.data = self.<method>(...)`` where the method norms over
    ``dim=self.<axis attr>`` and clamps at ``self.<limit attr>``."""
    if len(assign.targets) != 1 or not isinstance(assign.value, ast.Call):
        return None
    target = assign.targets[0]
    if not (isinstance(target, ast.Attribute) and target.attr == 'data'):
        return None
    path = _self_path(target)
    method = _self_path(assign.value.func)
    if path is None or method is None or len(method) != 1:
        return None
    tree = _function(cls, method[0])
    if tree is None:
        return None
    axis = limit = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == 'dim' and _self_path(kw.value):
                axis = _self_path(kw.value)
            if kw.arg == 'max' and _self_path(kw.value):
                limit = _self_path(kw.value)
        name = getattr(node.func, 'attr', getattr(node.func, 'id', ''))
        if name == 'clamp' and len(node.args) == 3 and \
                _self_path(node.args[2]):
            limit = _self_path(node.args[2])
    if axis is None or limit is None or len(axis) != 1 or len(limit) != 1:
        return None
    value, axes = getattr(module, limit[0], None), getattr(module, axis[0],
                                                           None)
    text = 'self.%s(%s): norm over dim=self.%s, clamp at self.%s' % (
        method[0], '.'.join(['self'] + path + ['data']), axis[0], limit[0])
    if integer(axes):
        axes = (int(axes),)
    reason = None
    if not positive_number(value):
        reason = '%s: %s=%r is not a positive number' % (text, limit[0],
                                                         value)
    elif not (isinstance(axes, tuple) and axes and all(
            integer(a) for a in axes)):
        reason = '%s: %s=%r is not an axis' % (text, axis[0], axes)
    return AttributeSpec(path[:-1], path[-1], axes=axes, limit=value,
                         attr=limit[0], text=text, reason=reason)


def _function(cls, name):
    """The parsed ``def name`` of the first class in ``cls``'s MRO that
    defines it outside torch, or None."""
    for klass in cls.__mro__:
        if name in vars(klass):
            if klass.__module__.split('.')[0] == 'torch':
                return None
            return _parsed(klass, name)
    return None


@functools.lru_cache(maxsize=None)
def _parsed(klass, name):
    try:
        source = textwrap.dedent(inspect.getsource(vars(klass)[name]))
        return ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None


def _forward_specs(module):
    """The AttributeSpecs of ``module``'s forward; ``None`` if it has no
    forward of its own (outside torch) or its source cannot be read."""
    cls = type(module)
    tree = _function(cls, 'forward')
    if tree is None:
        return None
    specs = []
    for node, guards in _calls(tree.body):
        spec = (_renorm_spec(node, module) if isinstance(node, ast.Call)
                else _helper_spec(node, cls, module))
        if spec is None:
            continue
        active = [(_guard(test, module), branch) for test, branch in guards]
        spec.off = any(value is not None and value != branch
                       for value, branch in active)
        if any(s.child == spec.child and s.tensor_name == spec.tensor_name
               and s.off == spec.off
               for s in specs):
            continue
        specs.append(spec)
    return specs


def _owner(module, child):
    for name in child:
        module = getattr(module, name, None)
        if not isinstance(module, torch.nn.Module):
            return None
    return module


def _resolve(spec, module):
    """``(tensor, Constraint, None)`` for what ``spec`` renorms on
    ``module``, or ``(None, None, reason)``."""
    owner = _owner(module, spec.child)
    if spec.reason or owner is None:
        return None, None, spec.reason or ('%s: self.%s is not a module' % (
            spec.text, '.'.join(spec.child)))
    if parametrize.is_parametrized(owner, spec.tensor_name):
        return None, None, ('%s renorms .data of a computed (parametrized) '
                            'weight: the stored tensor is never bounded'
                            % spec.text)
    tensor = getattr(owner, spec.tensor_name, None)
    if not isinstance(tensor, torch.Tensor) or tensor.dim() < 2:
        return None, None, ('%s: not a tensor of 2 or more dimensions'
                            % spec.text)
    ndim = tensor.dim()
    if spec.axes is None:
        constraint = renorm_constraint(spec.attr, spec.dim, ndim, spec.limit)
        if constraint is None:
            return None, None, '%s: dim %d of a %d-D tensor' % (
                spec.text, spec.dim, ndim)
        return tensor, constraint, None
    if not all(-ndim <= a < ndim for a in spec.axes):
        return None, None, '%s: axes %r of a %d-D tensor' % (
            spec.text, spec.axes, ndim)
    axes = tuple(sorted(a % ndim for a in spec.axes))
    return tensor, Constraint(spec.attr, 'axis' + ''.join(map(str, axes)),
                              axes, float(spec.limit)), None


def attribute_constraints(model, parameters, by_tensor):
    """Add the constraints of ``model``'s module-attribute layers to
    ``by_tensor`` (``{id(tensor): [(Constraint, source)]}``, the
    constraints found so far); returns the UnknownWeights of those left
    alone (none for a layer whose parameters were already constrained).
    ``parameters``: the ids of the model's parameters."""
    covered, unknown = set(by_tensor), []
    for prefix, module in model.named_modules():
        if isinstance(module, _SKIPPED) or \
                'parametrizations' in prefix.split('.'):
            continue
        attrs = [a for a in _LIMIT_ATTRS
                 if positive_number(getattr(module, a, None))]
        if not attrs:
            continue
        known = any(id(t) in covered for t in module.parameters())
        cls = parametrize.type_before_parametrizations(module).__name__
        attr, limit = attrs[0], getattr(module, attrs[0])
        specs = _forward_specs(module)
        if not specs:
            if not known:
                unknown.append(UnknownWeight(
                    dotted(prefix, 'weight') if hasattr(module, 'weight')
                    else prefix, cls, {attr: limit},
                    'has %s=%g, but no renorm in its forward that '
                    'normsafe_init can read (declare it with constraints=)'
                    % (attr, limit)))
            continue
        for spec in specs:
            if spec.off:   # e.g. torcheeg's weight_norm=False
                continue
            tensor, constraint, reason = _resolve(spec, module)
            if tensor is None or id(tensor) not in parameters:
                if not known:
                    unknown.append(UnknownWeight(
                        dotted(prefix, *spec.child + (spec.tensor_name,)),
                        cls, {spec.attr or attr: spec.limit},
                        reason or '%s: not a parameter' % spec.text))
                continue
            parts = by_tensor.setdefault(id(tensor), [])
            if not any(c.axes == constraint.axes for c, _ in parts):
                parts.append((constraint, '%s.%s=%g (forward: %s)' % (
                    cls, spec.attr, spec.limit, spec.text)))
    return unknown
