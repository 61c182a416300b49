"""The torch items of issue 15 (real torch and skorch): the host's signals
of training (optimizer state per weight, BatchNorm counters, skorch's
load_params), tied embeddings, weights that cannot be written (named, and
nothing changed), skorch options checked at construction, a declared
constraint behind another parametrization."""
import warnings

import pytest

torch = pytest.importorskip('torch', reason='torch is not importable here')
skorch = pytest.importorskip('skorch', reason='skorch is not importable here')

from normsafe_init.torch import (NormSafeInit, enforce_constraints,  # noqa
                                 find_constrained, make_safe)
from normsafe_init.torch.signals import (BATCHNORM_TRAINED,  # noqa: E402
                                         add_evidence, batchnorm_trained)


class BNNet(torch.nn.Module):
    def __init__(self, batchnorm=True):
        super().__init__()
        self.body = torch.nn.Linear(16, 32)
        self.norm = (torch.nn.BatchNorm1d(32) if batchnorm
                     else torch.nn.Identity())
        self.head = torch.nn.Linear(32, 3)

    def forward(self, x):
        return self.head(torch.relu(self.norm(self.body(x))))


HEAD = {'head.weight': 0.1}   # rows start near 0.577 / ... > t = 0.05


def test_optimizer_state_is_evidence_per_weight():
    torch.manual_seed(0)
    net = BNNet(batchnorm=False)
    optimizer = torch.optim.Adam(net.head.parameters(), lr=1e-3)
    net(torch.randn(4, 16)).sum().backward()
    optimizer.step()
    weights, _ = find_constrained(net, {'head.weight': 0.1,
                                        'body.weight': 1.0})
    assert add_evidence(weights, optimizer) == ['head.weight']
    evidence = dict((w.name, w.evidence) for w in weights)
    assert evidence == {'body.weight': [],
                        'head.weight': ['the optimizer holds state for it']}
    before = net.head.weight.detach().clone()
    record = make_safe(net, constraints={'head.weight': 0.1,
                                         'body.weight': 0.5},
                       optimizer=optimizer)
    # per weight: the stepped head is left alone, the fresh body repaired
    assert record['trained'] is None
    assert record['changed'] == ['body.weight']
    assert torch.equal(net.head.weight, before)
    head = [layer for layer in record['layers']
            if layer['name'] == 'head.weight'][0]
    assert head['verdict']['trained'] and 'optimizer holds state' in \
        head['verdict']['evidence']


def test_batchnorm_counters_mark_a_trained_or_loaded_model():
    torch.manual_seed(0)
    trained = BNNet()
    trained.train()
    for _ in range(BATCHNORM_TRAINED):
        trained(torch.randn(8, 16))
    assert batchnorm_trained(trained) == ('BatchNorm norm has tracked 100 '
                                          'batches (>= 100)')
    # a fresh model checked with a few forwards is not "trained"
    fresh = BNNet()
    for _ in range(3):
        fresh(torch.randn(8, 16))
    assert batchnorm_trained(fresh) is None
    assert make_safe(fresh, constraints=HEAD)['changed'] == ['head.weight']
    # load_state_dict brings the counter along
    loaded = BNNet()
    loaded.load_state_dict(trained.state_dict())
    before = loaded.head.weight.detach().clone()
    record = make_safe(loaded, constraints=HEAD)
    assert record['changed'] == [] and record['trained'].startswith(
        'BatchNorm norm')
    assert torch.equal(loaded.head.weight, before)
    assert make_safe(loaded, constraints=HEAD, force=True)['changed'] == [
        'head.weight']


def skorch_net(module, callbacks=(), **kwargs):
    from skorch import NeuralNetClassifier
    params = dict(max_epochs=1, batch_size=4, train_split=None, verbose=0,
                  lr=0.05, optimizer=torch.optim.SGD,
                  optimizer__momentum=0.9)
    params.update(kwargs)
    return NeuralNetClassifier(module, callbacks=list(callbacks), **params)


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """A net trained for 100 batches, its parameters and optimizer saved."""
    torch.manual_seed(0)
    X = torch.randn(400, 16).numpy()
    y = (torch.arange(400) % 3).numpy()
    out = {}
    for bn in (True, False):
        net = skorch_net(BNNet(batchnorm=bn))
        net.fit(X, y)
        path = tmp_path_factory.mktemp('bn%d' % bn)
        net.save_params(f_params=str(path / 'p.pt'),
                        f_optimizer=str(path / 'o.pt'))
        out[bn] = path
    return X, y, out


@pytest.mark.parametrize('bn, with_optimizer, expected', [
    (True, False, 'BatchNorm norm has tracked 100 batches'),
    (False, True, None),
    (False, False, None),
])
def test_skorch_initialize_and_load_params(saved, bn, with_optimizer,
                                           expected):
    """initialize() + load_params() + partial_fit: load_params leaves no
    mark of its own (empty history); what it loads does (BatchNorm
    counters, optimizer state). Without either, nothing host-side says the
    net trained: the weight values are all that is left (the core's
    judgment)."""
    X, y, paths = saved
    callback = NormSafeInit(constraints=HEAD)
    net = skorch_net(BNNet(batchnorm=bn), [('normsafe', callback)])
    net.initialize()
    files = dict(f_params=str(paths[bn] / 'p.pt'))
    if with_optimizer:
        files['f_optimizer'] = str(paths[bn] / 'o.pt')
    net.load_params(**files)
    assert len(net.history) == 0
    net.partial_fit(X[:8], y[:8])
    trained = callback.record['trained']
    (head,) = callback.record['layers']
    if expected is None:
        assert trained is None
    else:
        assert trained.startswith(expected)
        assert callback.record['changed'] == []
    if with_optimizer:   # optimizer state: evidence on the weight
        assert head['verdict']['trained']
        assert head['verdict']['evidence'] == \
            'the optimizer holds state for it'
        assert callback.record['changed'] == []
    assert callback.options is callback.options_
    assert callback.record is callback.record_


class Tied(torch.nn.Module):
    """A decoder registered before the embedding it shares its weight
    with (language-model style weight tying)."""

    def __init__(self):
        super().__init__()
        self.decoder = torch.nn.Linear(8, 50, bias=False)
        self.embed = torch.nn.Embedding(50, 8, max_norm=0.5)
        self.decoder.weight = self.embed.weight


def test_tied_embedding_is_found_and_repaired():
    torch.manual_seed(0)
    model = Tied()
    assert [n for n, _ in model.named_parameters()] == ['decoder.weight']
    weights, unknown = find_constrained(model)
    assert unknown == []
    (weight,) = weights
    assert (weight.name, weight.path, weight.class_name) == (
        'embed.weight', 'decoder.weight', 'Embedding')
    assert 'tied to decoder.weight' in weight.sources[0]
    assert weight.family is not None   # N(0, 1): the embedding's init
    record = make_safe(model)
    assert record['changed'] == ['embed.weight']
    rows = model.embed.weight.detach().norm(dim=1)
    assert float(rows.max()) <= 0.25 * (1 + 1e-6)
    assert model.decoder.weight is model.embed.weight


def test_inference_tensor_is_named_and_nothing_changes():
    torch.manual_seed(0)
    first = torch.nn.Linear(16, 4)
    with torch.inference_mode():
        second = torch.nn.Linear(16, 4)
    net = torch.nn.Sequential(first, second)
    before = first.weight.detach().clone()
    with pytest.raises(ValueError, match=r'1\.weight .*inference tensor'):
        make_safe(net, constraints={'*.weight': 0.1})
    assert torch.equal(first.weight, before)
    # report-only still works: nothing is written
    assert make_safe(net, constraints={'*.weight': 0.1},
                     action='report')['changed'] == []
    optimizer = torch.optim.SGD(first.parameters(), lr=0.1)
    optimizer.add_param_group({'params': list(second.parameters())})
    with pytest.raises(ValueError, match='inference tensor'):
        enforce_constraints(net, optimizer, constraints={'*.weight': 0.1})
    assert not optimizer._optimizer_step_post_hooks


def test_meta_device_is_named():
    net = torch.nn.Sequential(torch.nn.Linear(16, 4, device='meta'))
    with pytest.raises(ValueError, match=r'0\.weight .*meta device'):
        make_safe(net, constraints={'0.weight': 0.1})
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r'0\.weight .*meta device'):
        enforce_constraints(net, optimizer, constraints={'0.weight': 0.1})


@pytest.mark.parametrize('kwargs, message', [
    (dict(constraints=[1, 2]), 'constraints must be a dict'),
    (dict(constraints={3: 1.0}), 'constraints keys must be'),
    (dict(constraints={'w': 0}), r"constraints\['w'\]: max_norm"),
    (dict(constraints={'w': {'max_norm': 1, 'axis': 0}}), "'max_norm'"),
    (dict(init={'x': 'bogus'}), r"init\['x'\]: init name must be one of"),
    (dict(init=['uniform']), 'init must be a dict'),
    (dict(enforce=1), 'enforce must be True or False'),
])
def test_skorch_options_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NormSafeInit(**kwargs)


def test_declared_constraint_behind_another_parametrization_warns():
    torch.manual_seed(0)
    layer = torch.nn.utils.parametrizations.spectral_norm(
        torch.nn.Linear(16, 4))
    with pytest.warns(UserWarning, match=r"constraints\['weight'\]: weight "
                      r'is computed by a parametrization \(_SpectralNorm\)'):
        find_constrained(layer, {'weight': 0.5})
    plain = torch.nn.Linear(16, 4)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        find_constrained(plain, {'weight': 0.5})
