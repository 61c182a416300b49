"""Parse a pylearn2 training YAML without building or importing anything.

pylearn2's own loader imports every ``!obj:`` tag's module and loads every
``!pkl:`` while it parses. :func:`parse` reads the same YAML into inert
nodes (imported only by :meth:`ObjNode.resolve`); a :class:`Builder` then
instantiates only the subtree asked for, as pylearn2 would.

>>> top = parse('!obj:mylab.Train {model: !obj:collections.OrderedDict '
...             '{a: 1}, dataset: !pkl: "/far/away.pkl"}')
>>> print(top.tag, top.get('dataset').text)
mylab.Train /far/away.pkl
>>> top.keys() == ['model', 'dataset']
True
>>> Builder().build(top.get('model'))
OrderedDict([('a', 1)])
"""
from __future__ import absolute_import, division, print_function

import collections
import importlib
import re
import sys

from .errors import text_of

__all__ = ['ObjNode', 'PklNode', 'ImportNode', 'BuildError', 'Builder',
           'parse', 'iter_nodes']

#: pylearn2's ``yaml_parse.SCIENTIFIC_NOTATION_REGEXP``: ``1e-3`` is a float.
SCIENTIFIC = r'^[\-\+]?(\d+\.?\d*|\d*\.?\d+)?[eE][\-\+]?\d+$'
_STRINGS = (str, type(u''))

#: ``builtins`` (Python 3) or ``__builtin__`` (Python 2).
_builtins = importlib.import_module(dict.__module__)


class _Node(object):
    """A tagged YAML node, not built; ``line`` is 1-based."""

    def __init__(self, yaml_node, tag=None):
        self.yaml_node, self.tag = yaml_node, tag
        self.line = yaml_node.start_mark.line + 1
        self._resolved = None

    def resolve(self):
        """The callable the tag names (imported now); ImportError or
        AttributeError when it cannot be had."""
        if self._resolved is None:
            self._resolved = import_dotted(self.tag)
        return self._resolved

    def try_resolve(self):
        """The callable, or None when it cannot be imported."""
        try:
            return self.resolve()
        except Exception:  # any failure to import a user's module
            return None


class ObjNode(_Node):
    """``!obj:TAG {key: value, ...}``: ``tag`` (the dotted name), ``pairs``
    (``[(key, value), ...]`` in the file's order, values parsed)."""

    def __init__(self, yaml_node, tag, pairs):
        _Node.__init__(self, yaml_node, tag)
        self.pairs = pairs

    @property
    def name(self):
        """The last component of the tag (``'MLP'``)."""
        return self.tag.split('.')[-1]

    def keys(self):
        return [key for key, _ in self.pairs]

    def get(self, key, default=None):
        return dict(self.pairs).get(key, default)


class PklNode(_Node):
    """``!pkl: "path"``: ``text`` is the path as written (``${VAR}`` not
    expanded)."""

    def __init__(self, yaml_node, text):
        _Node.__init__(self, yaml_node)
        self.text = text


class ImportNode(_Node):
    """``!import 'a.b.c'`` or ``!import:a.b.c``: the object ``tag`` names."""


def import_dotted(dotted):
    """The object ``a.b.C`` names: the longest importable module prefix,
    then attributes (what pylearn2's ``try_to_import`` finds)."""
    parts = dotted.split('.')
    if len(parts) == 1:
        try:
            return getattr(_builtins, dotted)
        except AttributeError:
            raise AttributeError('%s is not a builtin (write module.%s)'
                                 % (dotted, dotted))
    first_error = None
    for cut in range(len(parts) - 1, 0, -1):
        module_name = '.'.join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ImportError as exc:
            if first_error is None:
                first_error = (module_name, exc)
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            if first_error is not None:
                break  # a.b.C where a.b itself failed to import
            raise AttributeError('module %s has no attribute %s'
                                 % (module_name, '.'.join(parts[cut:])))
        return obj
    raise ImportError('cannot import %s (%s)' % first_error)


def _loader_class():
    """The PyYAML loader with pylearn2's tags."""
    import yaml
    from yaml.constructor import ConstructorError

    base = getattr(yaml, 'FullLoader', yaml.Loader)

    class Loader(base):
        pass

    def construct_obj(loader, suffix, node):
        if not isinstance(node, yaml.MappingNode):
            raise ConstructorError(None, None, 'expected a mapping node for '
                                   '!obj:%s, but found %s' % (suffix, node.id),
                                   node.start_mark)
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == u'tag:yaml.org,2002:merge':
                continue
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, _STRINGS):
                raise ConstructorError(
                    'while constructing !obj:%s' % suffix, node.start_mark,
                    'found a key that is not a string (%r)' % (key,),
                    key_node.start_mark)
            if key in seen:
                raise ConstructorError(
                    'while constructing !obj:%s' % suffix, node.start_mark,
                    'found duplicate key (%s)' % key, key_node.start_mark)
            seen.add(key)
        loader.flatten_mapping(node)
        pairs = collections.OrderedDict()  # a merged key's place, last value
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            pairs[key] = loader.construct_object(value_node, deep=True)
        return ObjNode(node, suffix, list(pairs.items()))

    def construct_pkl(loader, suffix, node):
        if suffix:
            raise ConstructorError(None, None, 'put a space between !pkl: and '
                                   'the file name (got !pkl:%s)' % suffix,
                                   node.start_mark)
        return PklNode(node, loader.construct_scalar(node))

    def construct_import(loader, node, suffix=None):
        dotted = loader.construct_scalar(node) if suffix is None else suffix
        if '.' not in dotted:
            raise ConstructorError(None, None, "%s tag suffix contains no '.'"
                                   % ('import' if suffix is None else
                                      '!import:'), node.start_mark)
        return ImportNode(node, dotted)

    def construct_float(loader, node):
        return float(loader.construct_scalar(node))

    Loader.add_multi_constructor(u'!obj:', construct_obj)
    Loader.add_multi_constructor(u'!pkl:', construct_pkl)
    Loader.add_multi_constructor(u'!import:', lambda loader, suffix, node:
                                 construct_import(loader, node, suffix))
    Loader.add_constructor(u'!import', construct_import)
    Loader.add_constructor(u'!float', construct_float)
    Loader.add_implicit_resolver(u'!float', re.compile(SCIENTIFIC), None)
    return Loader


def parse(text):
    """The graph of ``text``: nodes, dicts, lists and scalars. Raises
    ``yaml.YAMLError`` (with marks) on invalid YAML."""
    import yaml
    return yaml.load(text, Loader=_loader_class())


def iter_nodes(value, path=()):
    """Yield ``(path, node)`` for every :class:`ObjNode`, :class:`PklNode`
    and :class:`ImportNode` under ``value``, depth first in file order
    (each node once, even when aliased); ``path`` is the tuple of keys and
    list indices leading to it."""
    seen, stack = set(), [(path, value)]
    while stack:
        path, value = stack.pop()
        children = []
        if isinstance(value, _Node):
            if id(value) in seen:
                continue
            seen.add(id(value))
            yield path, value
            if isinstance(value, ObjNode):
                children = value.pairs
        elif isinstance(value, dict):
            children = list(value.items())
        elif isinstance(value, list):
            children = list(enumerate(value))
        stack.extend((path + (key,), child)
                     for key, child in reversed(children))


class BuildError(Exception):
    """Building a node failed: ``node`` (the one that failed, for its line)
    and ``cause`` (``sys.exc_info()``)."""

    def __init__(self, message, node=None, cause=None):
        Exception.__init__(self, message)
        self.node = node
        self.cause = cause


class Builder(object):
    """Instantiate nodes as pylearn2 would (anchored nodes once), with
    ``call(callable, kwargs)`` (pylearn2's ``checked_call``),
    ``preprocess(text)`` (its ``${VAR}``), ``load_pickle(node)`` and
    ``adjust(node, callable, pairs)``, which may return another ``(callable,
    pairs)`` before the values are built."""

    def __init__(self, call=None, preprocess=None, load_pickle=None,
                 adjust=None):
        self.call = call or (lambda func, kwargs: func(**kwargs))
        self.preprocess = preprocess or (lambda text: text)
        self.load_pickle = load_pickle
        self.adjust = adjust
        self.bindings = {}

    def build(self, value):
        if isinstance(value, _Node):
            key = id(value)
            if key not in self.bindings:
                self.bindings[key] = self._build_node(value)
            return self.bindings[key]
        if isinstance(value, dict):
            return dict((self.build(k), self.build(v))
                        for k, v in value.items())
        if isinstance(value, list):
            return [self.build(v) for v in value]
        if isinstance(value, _STRINGS):
            return self.preprocess(value)
        return value

    def _build_node(self, node):
        if isinstance(node, PklNode):
            if self.load_pickle is None:
                raise BuildError('cannot load %s (no loader)' % node.text,
                                 node)
            return self.load_pickle(node)
        try:
            func = node.resolve()
        except Exception as exc:
            tag = '!obj:' if isinstance(node, ObjNode) else '!import '
            raise BuildError('%s%s: %s' % (tag, node.tag, text_of(exc)), node,
                             sys.exc_info())
        if isinstance(node, ImportNode):
            return func
        pairs = node.pairs
        if self.adjust is not None:
            func, pairs = self.adjust(node, func, pairs)
        obj = self.call(func, dict((key, self.build(value))
                                   for key, value in pairs))
        try:
            import yaml
            obj.yaml_src = yaml.serialize(node.yaml_node)
        except (AttributeError, TypeError):  # some classes won't allow it
            pass
        return obj
