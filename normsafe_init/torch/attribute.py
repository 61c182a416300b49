"""Max-norm layers that keep their limit as a module attribute.

Several PyTorch libraries store the limit on the module and renorm the
weight's ``.data`` in place inside ``forward``, so the first forward
silently clips the initial draw (pylearn2's behaviour), and ``make_safe``
could not see them without ``constraints=``:

=====================================  ==============================  ===================
layer (library)                        its ``forward``                 vectors (axes summed)
=====================================  ==============================  ===================
``Conv2dWithConstraint``,              ``self.weight.data =            slices along dim 0:
``LinearWithConstraint``,              torch.renorm(self.weight.data,  every axis but 0
``Conv2dNormWeight`` (torcheeg         p=2, dim=0,
EEGNet, FBCNet, FBMSNet, TCNet,        maxnorm=self.max_norm)``
CSPNet); braindecode < 1.0's
``Conv2dWithConstraint``
speechbrain ``nnet.linear.Linear``,    the same on a child:            every axis but 0
``nnet.CNN.Conv2d`` (``max_norm=``)    ``self.w.weight.data``,
                                       ``self.conv.weight.data``
MetaBCI ``MaxNormConstraintConv2d``,   ``self.weight.data =            ``(norm_axis,)``
``MaxNormConstraintLinear``            self._max_norm(...)``: norms
(``max_norm_value``, ``norm_axis``)    over ``dim=self.norm_axis``,
                                       clamped at ``max_norm_value``
=====================================  ==============================  ===================

Nothing is matched by class name: the ``forward`` of any module with a
positive numeric ``max_norm`` (or ``max_norm_value``) attribute is read
(``inspect.getsource`` + ``ast``) for a ``torch.renorm(X, p, dim,
maxnorm)`` / ``X.renorm(p, dim, maxnorm)`` / ``X.renorm_(...)`` call, or
an assignment ``self.<path>.data = self.<method>(...)`` whose method norms
over ``dim=self.<attr>`` and clamps at ``self.<limit attr>``; ``X`` is
``self.<path>.<tensor>[.data]``. ``p`` must be 2. A renorm inside ``if
self.flag:`` / ``if self.attr is not None:`` counts only when that test is
true on the module (torcheeg's ``weight_norm=False`` turns it off).

A renorm of a *computed* weight (a parametrized child, e.g. speechbrain's
``Conv2d(weight_norm=True)``) rewrites a temporary: the stored tensor is
never bounded; such a layer, and a module with a numeric ``max_norm``
whose ``forward`` cannot be read, are reported (``UnknownWeight``) and
left alone, unless another constraint already covers its weights.
"""
import ast
import inspect
import math
import numbers
import textwrap

import torch
from torch.nn.utils import parametrize

from ..weights import Constraint, UnknownWeight

__all__ = ['AttributeSpec', 'attribute_layers', 'attribute_constraints']

_LIMIT_ATTRS = ('max_norm', 'max_norm_value')
_SKIPPED = (torch.nn.Embedding, torch.nn.EmbeddingBag)
_FORWARD_CACHE = {}


class AttributeSpec:
    """What a layer's ``forward`` renorms: the child path, the tensor
    name, ``axes`` summed, ``limit``, ``attr`` (the limit's attribute),
    ``text`` (the call as read) -- or, when ``reason`` is set, why it is
    left alone."""

    def __init__(self, child, tensor_name, axes=None, limit=None, attr=None,
                 text='', reason=None, dim=None):
        self.child, self.tensor_name = tuple(child), tensor_name
        self.axes, self.limit, self.attr = axes, limit, attr
        self.text, self.reason, self.dim = text, reason, dim
        self.off = False   # inside an ``if`` that is false on the module


def _number(value):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


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
    elif isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        reason = '%s: dim is not an integer' % text
    elif not _number(limit):
        reason = '%s: maxnorm %s=%r is not a positive number' % (text, attr,
                                                                limit)
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
    if isinstance(axes, numbers.Integral) and not isinstance(axes, bool):
        axes = (int(axes),)
    reason = None
    if not _number(value):
        reason = '%s: %s=%r is not a positive number' % (text, limit[0],
                                                         value)
    elif not (isinstance(axes, tuple) and axes and all(
            isinstance(a, numbers.Integral) for a in axes)):
        reason = '%s: %s=%r is not an axis' % (text, axis[0], axes)
    return AttributeSpec(path[:-1], path[-1], axes=axes, limit=value,
                         attr=limit[0], text=text, reason=reason)


def _function(cls, name):
    """The parsed ``def name`` of the first class in ``cls``'s MRO that
    defines it outside torch, or None."""
    for klass in cls.__mro__:
        if name not in vars(klass):
            continue
        if klass.__module__.split('.')[0] == 'torch':
            return None
        key = (klass, name)
        if key not in _FORWARD_CACHE:
            try:
                source = textwrap.dedent(inspect.getsource(vars(klass)[name]))
                tree = ast.parse(source).body[0]
            except (OSError, TypeError, SyntaxError, IndexError):
                tree = False
            _FORWARD_CACHE[key] = tree
        return _FORWARD_CACHE[key] or None
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


def _join(prefix, name):
    return prefix + '.' + name if prefix else name


def _owner(module, child):
    for name in child:
        module = getattr(module, name, None)
        if not isinstance(module, torch.nn.Module):
            return None
    return module


def attribute_layers(model):
    """``[(prefix, module, limit attribute, [AttributeSpec] or None)]`` for
    every module of ``model`` with a positive numeric ``max_norm`` /
    ``max_norm_value`` attribute (not an Embedding, not a
    parametrization); ``None`` when its forward cannot be read.

    Each spec's ``owner`` is the module holding the renormed tensor and
    ``tensor`` the tensor itself (or None, with a ``reason``)."""
    found = []
    for prefix, module in model.named_modules():
        if isinstance(module, _SKIPPED) or \
                'parametrizations' in prefix.split('.'):
            continue
        attrs = [a for a in _LIMIT_ATTRS
                 if _number(getattr(module, a, None))]
        if not attrs:
            continue
        specs = _forward_specs(module)
        for spec in specs or ():
            if spec.off:
                continue
            spec.owner = owner = _owner(module, spec.child)
            spec.tensor = None
            if owner is None or spec.reason:
                spec.reason = spec.reason or ('%s: self.%s is not a module'
                                              % (spec.text,
                                                 '.'.join(spec.child)))
                continue
            if parametrize.is_parametrized(owner, spec.tensor_name):
                spec.reason = (
                    '%s renorms .data of a computed (parametrized) weight: '
                    'the stored tensor is never bounded' % spec.text)
                continue
            tensor = getattr(owner, spec.tensor_name, None)
            if not isinstance(tensor, torch.Tensor) or tensor.dim() < 2:
                spec.reason = '%s: not a tensor of 2 or more dimensions' \
                    % spec.text
                continue
            if spec.axes is None:
                dim = spec.dim
                if not -tensor.dim() <= dim < tensor.dim():
                    spec.reason = '%s: dim %d of a %d-D tensor' % (
                        spec.text, dim, tensor.dim())
                    continue
                dim %= tensor.dim()
                spec.dim = dim
                spec.axes = tuple(i for i in range(tensor.dim()) if i != dim)
            elif not all(-tensor.dim() <= a < tensor.dim()
                         for a in spec.axes):
                spec.reason = '%s: axes %r of a %d-D tensor' % (
                    spec.text, spec.axes, tensor.dim())
                continue
            else:
                spec.axes = tuple(sorted(a % tensor.dim() for a in spec.axes))
            spec.tensor = tensor
        found.append((prefix, module, attrs[0], specs))
    return found


def attribute_constraints(model, entries, by_tensor):
    """``({id(tensor): [(Constraint, source)]}, [UnknownWeight])`` for
    the module-attribute layers of ``model``; ``entries`` are
    :func:`normsafe_init.torch.discovery.parameter_index`'s, ``by_tensor``
    the constraints already found (a layer they cover is not reported)."""
    found, unknown = {}, []
    index = dict((id(e.tensor), e) for e in entries)
    for prefix, module, attr, specs in attribute_layers(model):
        covered = any(id(t) in by_tensor for t in module.parameters())
        cls = parametrize.type_before_parametrizations(module).__name__
        limit = getattr(module, attr)
        if not specs:
            if not covered:
                name = (_join(prefix, 'weight') if hasattr(module, 'weight')
                        else prefix)
                unknown.append(UnknownWeight(
                    name, cls, {attr: limit},
                    'has %s=%g, but no renorm in its forward that '
                    'normsafe_init can read (declare it with constraints=)'
                    % (attr, limit)))
            continue
        for spec in specs:
            if spec.off:   # e.g. torcheeg's weight_norm=False
                continue
            name = _join(_join(prefix, '.'.join(spec.child)),
                         spec.tensor_name)
            entry = index.get(id(spec.tensor)) if spec.tensor is not None \
                else None
            if entry is None:
                if not covered:
                    unknown.append(UnknownWeight(
                        name, cls, {spec.attr or attr: spec.limit},
                        spec.reason or '%s: not a parameter' % spec.text))
                continue
            if spec.dim is not None:
                kind = 'dim%d' % spec.dim
            else:
                kind = 'axis' + ''.join(str(a) for a in spec.axes)
            parts = found.setdefault(id(spec.tensor), [])
            if any(c.axes == spec.axes for c, _ in parts):
                continue
            parts.append((Constraint(spec.attr, kind, spec.axes,
                                     float(spec.limit)),
                          '%s.%s=%g (forward: %s)' % (cls, spec.attr,
                                                      spec.limit, spec.text)))
    return found, unknown
