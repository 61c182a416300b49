"""``normsafe-init check`` on pylearn2's own experiment YAMLs, as a new user
would run it: every ``pylearn2/scripts/**`` and ``pylearn2/sandbox/**``
YAML (not ``tests/``) of the installed pylearn2 that carries a norm
constraint, with ``PYLEARN2_DATA_PATH`` unset and no GPU.

Each gets a report (exit 0 or 1) with a row for every constrained layer the
file declares (found here by an independent reading of the YAML), except
the tutorial whose weights come from pickles trained by earlier steps: it
stops with exit 2 naming the file it needs. Only models are built (no
dataset, no Theano function); the whole module takes seconds.
"""
from __future__ import absolute_import, division, print_function

import json
import os

import pytest

from helpers import Capture
from pylearn2_helpers import pylearn2_flavour, require_pylearn2

pylearn2 = require_pylearn2()

from normsafe_init import cli  # noqa: E402
# Imported before any test changes directory (the package may have been
# found through a relative sys.path entry).
import normsafe_init.pylearn2.check  # noqa: E402,F401

PACKAGE = os.path.dirname(os.path.abspath(pylearn2.__file__))
CONSTRAINTS = ('max_col_norm', 'max_row_norm', 'max_kernel_norm')


def _experiment_files():
    found = []
    for top in ('scripts', 'sandbox'):
        for folder, dirs, files in os.walk(os.path.join(PACKAGE, top)):
            dirs[:] = sorted(d for d in dirs if d != 'tests')
            for name in sorted(files):
                if not name.endswith('.yaml'):
                    continue
                path = os.path.join(folder, name)
                with open(path, 'rb') as stream:
                    text = stream.read().decode('utf-8')
                if any(c in text for c in CONSTRAINTS):
                    found.append(os.path.relpath(path, PACKAGE))
    return found


FILES = _experiment_files()

#: Template values, as the tutorials' notebooks set them.
DEFINES = {
    'conv.yaml': {'train_stop': '50000', 'valid_stop': '60000',
                  'test_stop': '10000', 'batch_size': '100',
                  'output_channels_h2': '64', 'output_channels_h3': '64',
                  'max_epochs': '500', 'save_path': '.'},
    'dae_mlp.yaml': {'train_stop': '50000', 'valid_stop': '60000',
                     'batch_size': '100', 'max_epochs': '500',
                     'save_path': '.'},
}
#: Files whose weights come from pickles of earlier training steps.
NEEDS_FILE = {'dae_mlp.yaml': './dae_l1.pkl'}
#: Files the installed pylearn2 itself cannot build (so neither can its
#: training run): the early-2015 pylearn2's max_pool names an unnamed
#: Theano variable ('...' + None) when the pool needs no padding.
PYLEARN2_FAILS = {('2015', 'conv.yaml'):
                  "TypeError: cannot concatenate 'str' and 'NoneType' objects"}


def declared_constrained_layers(text):
    """``[(layer_name, n_constraints)]`` of every mapping with a
    ``layer_name`` and a max-norm key, read with a plain PyYAML loader that
    turns any tag into its mapping (independent of normsafe_init)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor('!', any_tag)
    found = []

    def walk(value):
        if isinstance(value, dict):
            limits = [k for k in CONSTRAINTS if value.get(k) is not None]
            if 'layer_name' in value and limits:
                found.append((value['layer_name'], len(limits)))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(yaml.load(text, Loader=Loader))
    return found


def run_check(path, defines):
    argv = ['check', path, '--json']
    for name, value in sorted(defines.items()):
        argv += ['-D', '%s=%s' % (name, value)]
    out, err = Capture(), Capture()
    code = cli.main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_files_are_found():
    assert len(FILES) >= 20, FILES
    assert not [f for f in FILES if '/tests/' in f]


@pytest.mark.parametrize('relpath', FILES)
def test_check_reports_every_constrained_layer(relpath, monkeypatch):
    monkeypatch.delenv('PYLEARN2_DATA_PATH', raising=False)
    monkeypatch.chdir(os.path.dirname(os.path.join(PACKAGE, relpath)))
    name = os.path.basename(relpath)
    defines = DEFINES.get(name, {})
    path = os.path.join(PACKAGE, relpath)
    code, out, err = run_check(path, defines)
    known = PYLEARN2_FAILS.get((pylearn2_flavour(), name))
    if known:
        assert code == 2 and err.rstrip().endswith(known), err
        return
    if name in NEEDS_FILE:
        assert code == 2 and out == ''
        assert NEEDS_FILE[name] in err and 'PretrainedLayer' in err, err
        return
    assert code in (0, 1), err
    data = json.loads(out)
    with open(path, 'rb') as stream:
        text = stream.read().decode('utf-8')
    if defines:
        text = text % dict((k, int(v) if v.isdigit() else v)
                           for k, v in defines.items())
    declared = declared_constrained_layers(text)
    assert declared
    layers = dict((layer['name'], layer) for layer in data['layers'])
    for layer_name, count in declared:
        layer = layers[layer_name]
        assert layer['status'] in ('ok', 'breaks'), layer
        assert len(layer['constraints']) == count
        for part in layer['constraints']:
            assert part['expected_max'] is not None
            if layer['expected']:        # GPU-only layer: the law only
                assert part['before'] is None
                assert layer['class'] in ('MaxoutConvC01B', 'MaxoutLocalC01B')
                assert layer_name in [g['layer'] for g in data['no_gpu']]
            else:
                assert part['before']['max'] >= 0   # irange: 0 is zero
    assert data['exit_code'] == code == (1 if data['breaks'] else 0)
    assert sorted(data['breaks']) == sorted(
        n for n, layer in layers.items() if layer['status'] == 'breaks')
