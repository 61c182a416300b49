"""How ``normsafe-init check`` reads a YAML and builds its model with
nothing but the model (:mod:`normsafe_init.pylearn2.lazy_yaml`,
:mod:`normsafe_init.pylearn2.loading`).

The inert parse runs everywhere (PyYAML only); the builds run against real
pylearn2 and are skipped, with the reason, where it is not importable.
The weights ``check`` draws without the data are compared with a full
pylearn2 build of the same YAML where the data exist (a small dataset made
here).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import sys
import warnings

import numpy as np
import pytest

from helpers import PYLEARN2_PROBLEM, needs_pylearn2, Capture

try:
    import yaml  # noqa: F401
    HAVE_YAML = True
except ImportError:  # pragma: no cover - PyYAML is a test requirement
    HAVE_YAML = False
pytestmark = pytest.mark.skipif(not HAVE_YAML, reason='needs PyYAML')

from normsafe_init.pylearn2 import lazy_yaml  # noqa: E402




# -- the inert parse (no pylearn2) ----------------------------------------------
def test_nothing_is_imported_or_opened_while_parsing():
    top = lazy_yaml.parse(
        '!obj:mylab.train.Train {\n'
        '  dataset: &d !obj:mylab.datasets.Foo { which: train },\n'
        '  zca: !pkl: "/nowhere/zca.pkl",\n'
        '  func: !import "mylab.util.f",\n'
        '  model: !obj:collections.OrderedDict { a: 1e-3, b: !float "2" },\n'
        '  again: *d,\n'
        '}\n')
    assert isinstance(top, lazy_yaml.ObjNode)
    assert (top.tag, top.name, top.line) == ('mylab.train.Train', 'Train', 1)
    assert top.keys() == ['dataset', 'zca', 'func', 'model', 'again']
    assert top.get('again') is top.get('dataset')       # an anchor: one node
    assert top.get('zca').text == '/nowhere/zca.pkl'
    assert top.get('func').tag == 'mylab.util.f'
    assert top.get('model').pairs == [('a', 0.001), ('b', 2.0)]
    with pytest.raises(ImportError) as info:
        top.resolve()
    assert 'mylab' in str(info.value)
    assert top.try_resolve() is None
    paths = [path for path, _ in lazy_yaml.iter_nodes(top)]
    assert paths == [(), ('dataset',), ('zca',), ('func',), ('model',)]


@pytest.mark.parametrize('text, message', [
    ('!obj:a.B { x: 1, x: 2 }', 'found duplicate key (x)'),
    ('!obj:a.B [1, 2]', 'expected a mapping node'),
    ('!obj:a.B { 1: 2 }', 'found a key that is not a string'),
    ('!pkl:x.pkl', 'put a space between !pkl: and the file name'),
    ('!import "nodots"', "import tag suffix contains no '.'"),
])
def test_parse_errors_are_yaml_errors_with_marks(text, message):
    import yaml
    with pytest.raises(yaml.YAMLError) as info:
        lazy_yaml.parse(text)
    assert message in str(info.value)
    assert getattr(info.value, 'problem_mark', None) is not None


def test_builder_builds_only_what_it_is_given():
    top = lazy_yaml.parse(
        '{data: &d !obj:mylab.datasets.Foo {},\n'
        ' model: !obj:collections.OrderedDict {x: "${NSI_TEST}", d: *d,\n'
        '                                      y: [!obj:fractions.Fraction'
        ' {numerator: 1, denominator: 2}]}}\n')
    seen = []

    def adjust(node, func, pairs):
        seen.append(node.tag)
        return func, [(k, v) for k, v in pairs if k != 'd']

    builder = lazy_yaml.Builder(preprocess=lambda s: s.replace(
        '${NSI_TEST}', 'expanded'), adjust=adjust)
    built = builder.build(top['model'])
    assert dict(built) == {'x': 'expanded', 'y': [0.5]}
    assert seen == ['collections.OrderedDict', 'fractions.Fraction']
    with pytest.raises(lazy_yaml.BuildError) as info:
        lazy_yaml.Builder().build(top['data'])
    assert info.value.node is top['data']
    assert str(info.value).startswith('!obj:mylab.datasets.Foo: cannot '
                                      'import mylab.datasets')


def test_import_dotted():
    assert lazy_yaml.import_dotted('collections.OrderedDict').__name__ == \
        'OrderedDict'
    assert lazy_yaml.import_dotted('os.path.join') is os.path.join
    assert lazy_yaml.import_dotted('dict') is dict
    with pytest.raises(AttributeError) as info:
        lazy_yaml.import_dotted('collections.NoSuch')
    assert str(info.value) == 'module collections has no attribute NoSuch'


# -- builds with real pylearn2 -----------------------------------------------------
DATA_MODULE = u'''
import numpy as np
from pylearn2.datasets.dense_design_matrix import DenseDesignMatrix


def binary(seed, num_examples, dim, num_classes):
    """A team's own dataset: binary features, one-hot targets."""
    rng = np.random.RandomState(seed)
    X = (rng.uniform(size=(num_examples, dim)) > 0.3).astype('float32')
    y = np.eye(num_classes)[rng.randint(0, num_classes, num_examples)]
    return DenseDesignMatrix(X=X, y=y)
'''

MLP_YAML = u'''{
    dataset: &train !obj:nscheck_data.binary {
        seed: 1, num_examples: 40, dim: 12, num_classes: 3 },
    model: !obj:pylearn2.models.mlp.MLP {
        nvis: 12, seed: 7,
        layers: [
            !obj:pylearn2.models.mlp.RectifiedLinear { layer_name: h0,
                dim: 9, istdev: 0.2, max_col_norm: 1.0 },
            !obj:pylearn2.models.mlp.Softmax { layer_name: y, n_classes: 3,
                irange: 0.3, max_col_norm: 1.0,
                init_bias_target_marginals: *train },
        ]
    }
}
'''

DBM_YAML = u'''{
    dataset: &train !obj:nscheck_data.binary {
        seed: 2, num_examples: 40, dim: 12, num_classes: 3 },
    model: !obj:pylearn2.models.dbm.DBM {
        batch_size: 10, niter: 2,
        visible_layer: !obj:pylearn2.models.dbm.BinaryVector {
            nvis: 12, bias_from_marginals: *train },
        hidden_layers: [
            !obj:pylearn2.models.dbm.BinaryVectorMaxPool { layer_name: h0,
                detector_layer_dim: 8, pool_size: 1, sparse_init: 3,
                max_col_norm: 1.5 },
            !obj:pylearn2.models.dbm.Softmax { layer_name: c, n_classes: 3,
                irange: 0.2, max_col_norm: 2.0 },
        ]
    }
}
'''


@pytest.fixture
def data_module(tmp_path, monkeypatch):
    (tmp_path / 'nscheck_data.py').write_text(DATA_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def write(path, text):
    with open(str(path), 'wb') as stream:
        stream.write(text.encode('utf-8'))
    return str(path)


def run_check(*argv):
    from normsafe_init import cli
    out, err = Capture(), Capture()
    code = cli.main(['check'] + list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def full_build(text):
    """pylearn2's own build of every object in ``text`` (datasets too)."""
    from pylearn2.config import yaml_parse
    from normsafe_init.pylearn2.standins import integer_dims
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with integer_dims([]):      # Python 3: pylearn2's '/' dimensions
            return yaml_parse.load(text)['model']


def check_build(text):
    from normsafe_init.pylearn2.loading import load_model
    return load_model(text, 'T.yaml')


def params(model):
    return [(p.name, p.get_value()) for p in model.get_params()]


@needs_pylearn2
@pytest.mark.parametrize('text', [MLP_YAML, DBM_YAML], ids=['mlp', 'dbm'])
def test_same_weights_as_a_full_build_without_the_data(data_module, text):
    full = full_build(text)
    loaded = check_build(text)
    weights = [(n, v) for n, v in params(full) if n.endswith('_W')]
    assert weights and [n for n, _ in weights] == [
        n for n, _ in params(loaded.model) if n.endswith('_W')]
    for (name, a), (_, b) in zip(weights, [(n, v) for n, v in
                                           params(loaded.model)
                                           if n.endswith('_W')]):
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    # The biases the data would set are not computed.
    assert [arg for _, _, arg in loaded.dropped] in (
        [['init_bias_target_marginals'], ['bias_from_marginals']])
    full_b = dict(params(full))
    check_b = dict(params(loaded.model))
    changed = [n for n in full_b if not np.array_equal(full_b[n],
                                                        check_b[n])]
    assert changed and all(not n.endswith('_W') for n in changed)
    # ... and the data module is not needed at all.
    os.remove(str(data_module / 'nscheck_data.py'))
    sys.modules.pop('nscheck_data', None)
    again = check_build(text)
    for (_, a), (_, b) in zip(params(loaded.model), params(again.model)):
        assert np.array_equal(a, b)


@needs_pylearn2
def test_report_says_biases_were_not_computed(data_module):
    path = write(data_module / 'mlp.yaml', MLP_YAML.replace(
        'nscheck_data.binary', 'mylab.datasets.NotInstalled'))
    code, out, err = run_check(path)
    assert code in (0, 1) and err == ''
    assert ('note: biases not computed (their argument needs the data; the '
            'weights are drawn as in training): y (Softmax) '
            'init_bias_target_marginals') in out
    data = json.loads(run_check(path, '--json')[1])
    assert data['biases_not_computed'] == [{
        'layer': 'y', 'class': 'Softmax',
        'argument': 'init_bias_target_marginals'}]


AGENTS = u'''
class Simulator(object):
    def __init__(self, environment, agent, save_path=None):
        self.environment, self.agent = environment, agent


class Agent(object):
    def __init__(self, mlp, learning_rate):
        self.mlp = mlp
'''

SIMULATOR_YAML = u'''!obj:nscheck_agents.Simulator {
    environment: !obj:mylab.bandits.Env { dataset: !pkl: "/far/data.pkl" },
    agent: !obj:nscheck_agents.Agent {
        learning_rate: .1,
        mlp: !obj:pylearn2.models.mlp.MLP {
            nvis: 6,
            layers: [ !obj:pylearn2.models.mlp.Softmax { layer_name: y,
                n_classes: 2, irange: 0.1, max_col_norm: 1.0 } ] } },
}
'''


@needs_pylearn2
def test_the_model_is_found_where_the_top_object_keeps_it(tmp_path,
                                                          monkeypatch):
    (tmp_path / 'nscheck_agents.py').write_text(AGENTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path / 'sim.yaml', SIMULATOR_YAML)
    code, out, err = run_check(path)
    assert code == 0, err
    assert out.startswith('%s: the MLP at agent.mlp of the top Simulator '
                          '(--model to choose);' % path)
    code, out, err = run_check(path, '--model', 'agent.mlp')
    assert code == 0 and 'the MLP at agent.mlp (--model)' in out
    code, out, err = run_check(path, '--model', 'agent.net')
    assert code == 2 and out == ''
    assert err == ("normsafe-init check: %s: --model agent.net: agent (Agent)"
                   " has no 'net'; it has: learning_rate, mlp\n" % path)
    code, out, err = run_check(path, '--model', 'environment')
    assert code == 2 and 'cannot import mylab.bandits' in err


def pickled_mlp(path):
    from pylearn2.models import mlp
    from pylearn2.utils import serial
    from pylearn2.monitor import Monitor
    model = mlp.MLP(nvis=4, layers=[mlp.Softmax(
        layer_name='y', n_classes=2, irange=0.9, max_col_norm=1.0)])
    model.monitor = Monitor.get_monitor(model)   # push_monitor needs one
    serial.save(str(path), model)
    return model


@needs_pylearn2
def test_weights_from_a_file(tmp_path):
    missing = str(tmp_path / 'dae_l1.pkl')
    path = write(tmp_path / 'pre.yaml', u'''!obj:pylearn2.train.Train {
    dataset: !pkl: "%s/zca.pkl",
    model: !obj:pylearn2.models.mlp.MLP {
        nvis: 4,
        layers: [
            !obj:pylearn2.models.mlp.PretrainedLayer { layer_name: h1,
                layer_content: !pkl: "%s" },
            !obj:pylearn2.models.mlp.Softmax { layer_name: y, n_classes: 2,
                irange: 0.1, max_col_norm: 1.0 } ] } }
''' % (tmp_path, missing))
    code, out, err = run_check(path)
    assert code == 2 and out == ''
    assert err == ("normsafe-init check: %s: layer 'h1' (PretrainedLayer) "
                   "takes layer_content from %s (!pkl: at line 7), which is "
                   "not on this machine; the check needs that file: its "
                   "weights are not an initial draw\n" % (path, missing))
    # A model from a file: named when missing, checked when there.
    resume = write(tmp_path / 'resume.yaml', u'''!obj:pylearn2.train.Train {
    dataset: !obj:mylab.datasets.Foo {},
    model: !obj:pylearn2.monitor.push_monitor {
        model: !pkl: "%s", name: old } }
''' % (tmp_path / 'trained.pkl'))
    code, out, err = run_check(resume)
    assert code == 2
    assert ("the model's weights come from %s (!pkl: at line 4, the model of "
            "push_monitor), which is not on this machine"
            % (tmp_path / 'trained.pkl')) in err
    model = pickled_mlp(tmp_path / 'trained.pkl')
    code, out, err = run_check(resume, '--json')
    assert code == 1, err                  # irange 0.9 over 4 inputs
    (y,) = json.loads(out)['layers']
    norms = np.sqrt((model.layers[0].W.get_value() ** 2).sum(axis=0))
    assert y['constraints'][0]['before']['max'] == pytest.approx(
        float(norms.max()), rel=1e-6)


@needs_pylearn2
def test_a_missing_class_in_the_model_is_named(tmp_path):
    path = write(tmp_path / 'x.yaml', u'''!obj:pylearn2.train.Train {
    dataset: !obj:mylab.datasets.Foo {},
    model: !obj:pylearn2.models.mlp.MLP { nvis: 3, layers: [
        !obj:mylab.layers.Fancy { layer_name: f } ] } }
''')
    code, out, err = run_check(path)
    assert code == 2
    assert err.startswith(
        "normsafe-init check: %s: cannot build the 'model' of the top Train: "
        "line 4: !obj:mylab.layers.Fancy: cannot import mylab.layers" % path)

