"""Build only the model of a training YAML (:func:`load_model`: parsed by
:mod:`.lazy_yaml`, data-bias arguments left out, :mod:`.standins` where this
machine cannot build as pylearn2 would), and read the options of its
``NormSafeInit`` (:func:`extension_options`).
"""
from __future__ import absolute_import, division, print_function

import collections
import contextlib
import os
import sys
import warnings

from . import lazy_yaml, standins
from .errors import CheckError, one_line, text_of
from .extension import NormSafeInit
from .layers import DATA_BIAS_ARGS, spec_of_class, walk_layers

__all__ = ['Loaded', 'load_model', 'extension_options', 'parse_yaml']

#: The options ``check`` takes from the command line, else the YAML.
OPTIONS = ('fraction', 'confidence', 'mode', 'layers', 'exclude')

#: The model, ``where`` it is, ``dropped`` (``[(layer, class, argument)]``
#: left out), ``no_gpu`` (``{layer: why}``), ``py2_dims`` (layers built with
#: Python 2's integer dimension) and ``top`` (the parsed graph).
Loaded = collections.namedtuple('Loaded',
                                'model where dropped no_gpu py2_dims top')


class _Sink(object):
    """Drops what pylearn2 prints while the model is built."""

    encoding = 'utf-8'

    def write(self, *text):
        pass

    flush = write

    def isatty(self):
        return False


@contextlib.contextmanager
def quiet(debug, err):
    """pylearn2 prints (``Input shape: ...``) and warns while a model is
    built; keep stdout for the report: send it to ``err`` with ``--debug``,
    else drop it (and the warnings)."""
    saved = sys.stdout
    sys.stdout = err if debug else _Sink()
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.simplefilter('ignore')
            yield
    finally:
        sys.stdout = saved


def _import_pylearn2():
    try:
        from pylearn2.config import yaml_parse  # noqa: F401 (Theano, too)
        from pylearn2.models.model import Model
        from pylearn2.utils import serial
        from pylearn2.utils.call_check import checked_call
        from pylearn2.utils.string_utils import preprocess
    except Exception as exc:  # ImportError, or Theano failing at import
        raise CheckError('pylearn2 is not importable in this Python (%s): '
                         '"check" needs pylearn2 and Theano (%s)'
                         % (one_line(exc), sys.executable), sys.exc_info())
    return Model, serial, checked_call, preprocess


def parse_yaml(text, path):
    """The :mod:`.lazy_yaml` graph of ``text``; CheckError (one line) if
    invalid."""
    import yaml
    try:
        return lazy_yaml.parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        problem = getattr(exc, 'problem', None)
        if mark is None or problem is None:
            message = '%s: invalid YAML: %s' % (path, ' '.join(
                str(exc).split()))
        else:
            message = '%s:%d:%d: invalid YAML: %s' % (
                path, mark.line + 1, mark.column + 1, problem)
            context_mark = getattr(exc, 'context_mark', None)
            if getattr(exc, 'context', None):
                message += ' (%s%s)' % (exc.context, '' if context_mark is None
                                        else ' at line %d'
                                        % (context_mark.line + 1))
        raise CheckError(message, sys.exc_info())
    except Exception as exc:
        raise CheckError('%s: cannot parse: %s' % (path, one_line(exc)),
                         sys.exc_info())


def _train_environ(path):
    """The ``${PYLEARN2_TRAIN_*}`` values pylearn2's ``train.py`` sets."""
    stem = path[:-len('.yaml')] if path.endswith('.yaml') else path
    directory = '/'.join(path.split('/')[:-1])
    return {'PYLEARN2_TRAIN_FILE_FULL_STEM': stem,
            'PYLEARN2_TRAIN_DIR': directory + '/' if directory else '',
            'PYLEARN2_TRAIN_BASE_NAME': path.split('/')[-1],
            'PYLEARN2_TRAIN_FILE_STEM': stem.split('/')[-1]}


def _describe(node):
    if isinstance(node, lazy_yaml.ObjNode):
        return node.name
    if isinstance(node, lazy_yaml.PklNode):
        return '!pkl: %s' % node.text
    if isinstance(node, dict):
        return 'mapping'
    return type(node).__name__


def _is_model(node, model_class):
    if not isinstance(node, lazy_yaml.ObjNode):
        return False
    func = node.try_resolve()
    return isinstance(func, type) and issubclass(func, model_class)


def _follow(top, dotted, path):
    """The node at ``--model DOTTED.PATH`` (keys, and list indices)."""
    node, done = top, []
    for part in dotted.split('.'):
        if isinstance(node, lazy_yaml.ObjNode) and part in node.keys():
            node = node.get(part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() \
                and int(part) < len(node):
            node = node[int(part)]
        else:
            here = '.'.join(done) or 'the top object'
            keys = (node.keys() if isinstance(node, lazy_yaml.ObjNode) else
                    sorted(node) if isinstance(node, dict) else
                    [str(i) for i in range(len(node))]
                    if isinstance(node, list) else [])
            raise CheckError('%s: --model %s: %s (%s) has no %r; it has: %s'
                             % (path, dotted, here, _describe(node), part,
                                ', '.join(str(k) for k in keys) or
                                'nothing to descend into'))
        done.append(part)
    return node


def _select(top, model_path, path, model_class):
    """``(node, where)`` of the model."""
    if model_path:
        node = _follow(top, model_path, path)
        return node, 'the %s at %s (--model)' % (_describe(node), model_path)
    if top is None:
        raise CheckError('%s: the YAML is empty' % path)
    if isinstance(top, lazy_yaml.ObjNode):
        if 'model' in top.keys():
            return top.get('model'), "the 'model' of the top %s" % top.name
        if _is_model(top, model_class):
            return top, 'the top %s' % top.name
    elif isinstance(top, dict) and 'model' in top:
        return top['model'], "the 'model' of the top mapping"
    elif isinstance(top, lazy_yaml.PklNode):
        return top, 'the top !pkl:'
    elif not isinstance(top, dict):
        return top, 'the top object'
    for keys, node in lazy_yaml.iter_nodes(top):
        if keys and _is_model(node, model_class):
            return node, 'the %s at %s of the top %s (--model to choose)' % (
                node.name, '.'.join(str(k) for k in keys), _describe(top))
    if isinstance(top, dict):
        raise CheckError("%s: the top mapping has no 'model' key" % path)
    return top, 'the top %s' % top.name


def _owner(root, target):
    """The ObjNode under ``root`` with ``target`` as a value, or None."""
    for _, node in lazy_yaml.iter_nodes(root):
        if isinstance(node, lazy_yaml.ObjNode):
            for key, value in node.pairs:
                if value is target:
                    return node, key
    return None, None


def _missing_file(path, root, node, filename):
    owner, key = _owner(root, node)
    where = '!pkl: at line %d' % node.line
    if owner is not None and owner.get('layer_name') is not None:
        who = "layer '%s' (%s) takes %s from" % (owner.get('layer_name'),
                                                 owner.name, key)
    else:
        who = "the model's weights come from"
        if owner is not None:
            where += ', the %s of %s' % (key, owner.name)
    return CheckError('%s: %s %s (%s), which is not on this machine; the '
                      'check needs that file: its weights are not an initial '
                      'draw' % (path, who, filename, where))


def _is_pylearn2(func):
    return any(cls.__module__.startswith('pylearn2.')
               for cls in getattr(func, '__mro__', (func,)))


def _adjust(dropped, no_gpu):
    """The ``adjust`` hook of the model's build: leaves out the arguments
    that only set biases from data (recorded in ``dropped``), gives
    GPU-only layers their CPU stand-in where there is no GPU (``no_gpu``)."""

    def adjust(node, func, pairs):
        if not _is_pylearn2(func):
            return func, pairs
        name = node.get('layer_name') or node.name
        kept = []
        for key, value in pairs:
            if key in DATA_BIAS_ARGS and value is not None:
                dropped.append((name, node.name, key))
            else:
                kept.append((key, value))
        spec = spec_of_class(func)
        if spec is not None and spec.gpu and _needs_gpu(spec, pairs):
            available, why = standins.gpu_available()
            if not available:
                no_gpu[name] = why
                func = standins.standin(func, why)
        return func, kept
    return adjust


def load_model(text, path='YAML', model_path=None, debug=False, err=None):
    """Build only the model of the training YAML ``text`` (already
    substituted): a :class:`Loaded`. Raises :class:`CheckError` (one line)
    when pylearn2 is missing or the model cannot be built."""
    with quiet(debug, err or sys.stderr):
        model_class, serial, checked_call, preprocess = _import_pylearn2()
        top = parse_yaml(text, path)
        target, where = _select(top, model_path, path, model_class)
        if not isinstance(target, (lazy_yaml.ObjNode, lazy_yaml.PklNode)):
            raise CheckError('%s: %s is a %s, not a model with layers'
                             % (path, where, _describe(target)))
        environ = _train_environ(path)

        def load_pickle(node):
            filename = preprocess(node.text, environ)
            if not os.path.exists(filename):
                raise _missing_file(path, target, node, filename)
            return serial.load(filename)

        dropped, no_gpu, dims = [], {}, []
        builder = lazy_yaml.Builder(
            call=checked_call, preprocess=lambda s: preprocess(s, environ),
            load_pickle=load_pickle, adjust=_adjust(dropped, no_gpu))
        try:
            with standins.integer_dims(dims):
                model = builder.build(target)
        except CheckError:
            raise
        except lazy_yaml.BuildError as exc:
            raise CheckError('%s: cannot build %s: line %d: %s'
                             % (path, where, exc.node.line, text_of(exc)),
                             exc.cause)
        except Exception as exc:
            raise CheckError('%s: cannot build %s: %s'
                             % (path, where, one_line(exc)), sys.exc_info())
    if not list(walk_layers(model)):
        raise CheckError('%s: %s is a %s, not a model with layers'
                         % (path, where, type(model).__name__))
    return Loaded(model, where, dropped, no_gpu, _py2_dim_layers(model, dims),
                  top)


def _needs_gpu(spec, pairs):
    if spec.gpu == 'always':
        return True
    pool = dict(pairs).get('pool_shape')
    return isinstance(pool, list) and any(p != 1 for p in pool)


def _py2_dim_layers(model, spaces):
    ids = set(id(s) for s in spaces)
    return [getattr(layer, 'layer_name', None) or path
            for path, layer in walk_layers(model)
            if id(getattr(layer, 'output_space', None)) in ids]


def extension_options(path, top):
    """``({option: value}, line)`` of the first ``NormSafeInit`` in the
    parsed YAML ``top`` (the :data:`OPTIONS` it writes, validated by the
    extension itself), or ``({}, None)``. CheckError naming the option
    when the extension would refuse them."""
    from pylearn2.utils.call_check import checked_call
    for _, node in lazy_yaml.iter_nodes(top):
        if not isinstance(node, lazy_yaml.ObjNode) or \
                not node.tag.endswith('NormSafeInit') or \
                node.try_resolve() is not NormSafeInit:
            continue
        try:
            values = lazy_yaml.Builder(call=checked_call).build(
                node).options.as_dict()
        except (TypeError, ValueError) as exc:
            raise CheckError('%s:%d: !obj:%s: %s' % (path, node.line,
                                                     node.tag, text_of(exc)),
                             sys.exc_info())
        except lazy_yaml.BuildError as exc:
            raise CheckError('%s:%d: %s' % (path, exc.node.line,
                                            text_of(exc)),
                             exc.cause)
        return dict((name, values[name]) for name in OPTIONS
                    if name in node.keys()), node.line
    return {}, None
