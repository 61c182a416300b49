"""normsafe_init.torch on plain PyTorch modules (real torch): declared
constraints with torch.renorm's meaning of dim, nn.Embedding(max_norm),
parametrizations recognised by their attributes, every action, options,
the seeded draw and torch's untouched RNG."""
import json
import logging
import math

import numpy as np
import pytest

torch = pytest.importorskip('torch', reason='torch is not importable here')

from scipy import stats  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import parametrize  # noqa: E402

from normsafe_init.laws import Uniform  # noqa: E402
from normsafe_init.torch import (  # noqa: E402
    audit, find_constrained, make_safe)

RTOL = 1e-6


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))


def row_norms(tensor, dim=0):
    """torch.renorm's norms: one per slice along ``dim``."""
    x = tensor.detach().double()
    axes = [i for i in range(x.dim()) if i != dim]
    return x.pow(2).sum(dim=axes).sqrt()


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_unchanged(before, model, except_=()):
    after = model.state_dict()
    assert sorted(before) == sorted(after)
    for key, value in before.items():
        if key not in except_:
            assert torch.equal(value, after[key]), key


class RowMaxNorm(nn.Module):
    """A max-norm parametrization that is not braindecode's (attributes
    only: max_norm, and optionally dim / p)."""

    def __init__(self, max_norm, dim=0, p=2):
        super().__init__()
        self.max_norm, self.dim, self.p = max_norm, dim, p

    def forward(self, X):
        return X.renorm(p=self.p, dim=self.dim, maxnorm=self.max_norm)


def test_declared_constraints_repair_only_what_breaks():
    net = mlp()
    before = snapshot(net)
    # 0.weight rows have norm ~0.577 < 0.95: left alone; 2.weight breaks.
    record = make_safe(net, constraints={'0.weight': 1.9,
                                         '2.weight': {'max_norm': 0.5,
                                                      'dim': 0}})
    json.dumps(record)
    assert record['framework'] == 'torch'
    assert record['changed'] == ['2.weight']
    assert row_norms(net[2].weight).max() <= 0.25 * (1 + RTOL)
    assert_unchanged(before, net, except_=('2.weight',))
    # rescale keeps the directions: one factor for the whole tensor
    ratio = net[2].weight.detach().double() / before['2.weight'].double()
    assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio),
                          rtol=1e-6)
    layer = record['layers'][1]
    assert layer['repair']['applied'] == 'rescale'
    assert layer['init_source'].startswith('assumed: torch Linear default')


@pytest.mark.parametrize('dim', [0, 1, 2, -1])
def test_dim_has_torch_renorm_meaning(dim):
    torch.manual_seed(1)
    conv = nn.Conv1d(16, 8, 3)
    limit = 0.3
    record = make_safe(conv, constraints={'weight': {'max_norm': limit,
                                                     'dim': dim}})
    assert record['changed'] == ['weight']
    w = conv.weight.detach()
    target = 0.5 * limit * (1 + 1e-5)
    # after the repair, torch.renorm at t is a no-op, and at t/2 is not
    assert torch.equal(torch.renorm(w, 2, dim, target), w)
    assert not torch.equal(torch.renorm(w, 2, dim, target / 2), w)
    axes = record['layers'][0]['constraints'][0]['axes']
    assert axes == [i for i in range(3) if i != dim % 3]


@pytest.mark.parametrize('action', ['rescale', 'clip', 'reinit'])
def test_actions_write_in_place_same_dtype_device(action):
    net = mlp().double()
    param = net[2].weight
    ptr, version = param.data_ptr(), param._version
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    before = param.detach().clone()
    record = make_safe(net, action=action, constraints={'2.weight': 0.5})
    assert net[2].weight is param and param.data_ptr() == ptr
    assert param.dtype == torch.float64 and param.device.type == 'cpu'
    assert param._version > version
    assert optimizer.param_groups[0]['params'][2] is param
    norms = row_norms(param)
    assert norms.max() <= 0.25 * (1 + RTOL)
    applied = record['layers'][0]['repair']['applied']
    assert applied.startswith(action)
    if action == 'clip':  # rows below t are bit-identical, the rest at t
        old = row_norms(before)
        keep = old <= 0.25
        assert torch.equal(param.detach()[keep], before[keep])
        assert torch.allclose(norms[~keep], torch.full_like(norms[~keep],
                                                            0.25))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_weights_keep_their_dtype(dtype):
    net = mlp().to(dtype)
    param = net[2].weight
    record = make_safe(net, action='reinit', constraints={'2.weight': 0.5})
    assert net[2].weight is param and param.dtype == dtype
    assert record['layers'][0]['torch_dtype'] == str(dtype)[6:]
    # t = 0.25; half precision rounds each entry by <= 2**-8 relative
    assert row_norms(param).max() <= 0.25 * (1 + 2 ** -7)


def test_reinit_is_seeded_leaves_global_rngs_and_draws_the_solved_uniform():
    torch.manual_seed(123)
    np.random.seed(5)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    nets = [nn.Sequential(nn.Linear(200, 300)) for _ in range(3)]
    for net in nets[1:]:
        net.load_state_dict(nets[0].state_dict())
    torch_state = torch.get_rng_state()
    records = [make_safe(net, action='reinit', seed=seed,
                         constraints={'0.weight': 1.0})
               for net, seed in zip(nets, (7, 7, 8))]
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(a == b for a, b in zip(np.random.get_state()[1],
                                      numpy_state[1]))
    assert torch.equal(nets[0][0].weight, nets[1][0].weight)
    assert not torch.equal(nets[0][0].weight, nets[2][0].weight)
    new = records[0]['layers'][0]['repair']['new_init']
    assert new['family'] == 'uniform'
    a = new['irange']
    # the drawn entries are U(-a, a) (Kolmogorov-Smirnov on 60000 entries)
    entries = nets[0][0].weight.detach().double().flatten().numpy()
    assert np.abs(entries).max() <= a * (1 + 1e-6)
    assert stats.kstest(entries, stats.uniform(-a, 2 * a).cdf).pvalue > 1e-3
    # and the bias is untouched
    assert torch.equal(nets[0][0].bias, nets[1][0].bias)


def test_names_patterns_and_parametrized_alias():
    torch.manual_seed(2)
    model = nn.Module()
    model.head = nn.ModuleList([nn.Linear(10, 5), nn.Linear(10, 5)])
    model.body = nn.Linear(10, 10)
    parametrize.register_parametrization(model.body, 'weight',
                                         nn.Identity())
    weights, unknown = find_constrained(model, constraints={
        'head.*.weight': 0.2,
        'body.parametrizations.weight.original': {'max_norm': 0.3}})
    assert [w.name for w in weights] == ['head.0.weight', 'head.1.weight',
                                         'body.weight']
    assert weights[2].path == 'body.parametrizations.weight.original'
    assert weights[2].tensor is model.body.parametrizations.weight.original
    assert unknown == []
    make_safe(model, constraints={'body.weight': 0.3}, action='clip')
    assert row_norms(model.body.parametrizations.weight.original).max() \
        <= 0.15 * (1 + RTOL)


@pytest.mark.parametrize('constraints, message', [
    ({'nope.weight': 1.0},
     "constraints names 'nope.weight', which is not a parameter of this "
     "model; parameters: 0.weight, 0.bias, 2.weight, 2.bias"),
    ({'head.*': 1.0},
     "constraints names 'head.*', which matches no parameter of this "
     "model; parameters: 0.weight, 0.bias, 2.weight, 2.bias"),
    ({'0.weight': -1.0},
     "constraints['0.weight']: max_norm must be a finite real number > 0; "
     "got -1.0"),
    ({'0.weight': 0}, "constraints['0.weight']: max_norm must be a finite "
     "real number > 0; got 0"),
    ({'0.weight': 'big'}, "constraints['0.weight']: max_norm must be a "
     "finite real number > 0; got 'big'"),
    ({'0.weight': True}, "constraints['0.weight']: max_norm must be a "
     "finite real number > 0; got True"),
    ({'0.weight': float('nan')}, "constraints['0.weight']: max_norm must "
     "be a finite real number > 0; got nan"),
    ({'0.weight': {'max_norm': 1.0, 'dim': 2}},
     "constraints['0.weight']: dim must be an integer in [-2, 1] for "
     "0.weight of shape (32, 64); got 2"),
    ({'0.weight': {'max_norm': 1.0, 'dim': 0.5}},
     "constraints['0.weight']: dim must be an integer in [-2, 1] for "
     "0.weight of shape (32, 64); got 0.5"),
    ({'0.weight': {'maxnorm': 1.0}},
     "constraints['0.weight'] must be a number or a dict with keys "
     "'max_norm' and optionally 'dim'; got {'maxnorm': 1.0}"),
    ({'0.bias': 1.0}, "constraints['0.bias']: torch.renorm needs a tensor "
     "of at least 2 dimensions; 0.bias has shape (32,)"),
    ({'*.weight': 1.0, '0.*': 2.0},
     "constraints: 0.weight is named by both '*.weight' and '0.*'"),
    ([('0.weight', 1.0)], "constraints must be a dict of parameter names; "
     "got [('0.weight', 1.0)]"),
])
def test_bad_constraints_name_key_and_value(constraints, message):
    net = mlp()
    before = snapshot(net)
    with pytest.raises(ValueError) as info:
        make_safe(net, constraints=constraints)
    assert str(info.value) == message
    assert_unchanged(before, net)


@pytest.mark.parametrize('kwargs, message', [
    (dict(fraction=1.5), 'fraction must be in (0, 1]; got 1.5'),
    (dict(action='shrink'), "action must be one of 'report', 'rescale', "
     "'clip', 'reinit'; got 'shrink'"),
    (dict(layers=['nope']), 'layers names nope, which is not a constrained '
     'layer of this model; constrained layers: 2.weight'),
    (dict(init={'0.weight': ('uniform', 0.1)}),
     "init names '0.weight', which is not a constrained weight of this "
     "model; constrained weights: 2.weight"),
    (dict(init={'2.weight': ('gauss', 0.1)}), "init['2.weight']: init name "
     "must be one of uniform, normal, xavier_uniform, xavier_normal, "
     "kaiming_uniform, kaiming_normal, default; got 'gauss'"),
    (dict(init={'2.weight': ('uniform',)}), "init['2.weight']: 'uniform' "
     "takes exactly one value; got ('uniform',)"),
    (dict(init={'2.weight': ('uniform', -1)}), "init['2.weight']: the "
     "uniform bound a must be a finite real number >= 0; got -1"),
    (dict(optimizer='sgd'), "optimizer must be a torch.optim.Optimizer or "
     "None; got 'str'"),
])
def test_bad_options_fail_before_any_change(kwargs, message):
    net = mlp()
    before = snapshot(net)
    with pytest.raises(ValueError) as info:
        make_safe(net, constraints={'2.weight': 0.5}, **kwargs)
    assert str(info.value) == message
    assert_unchanged(before, net)


def test_non_finite_weight_raises_with_nothing_changed():
    net = mlp()
    with torch.no_grad():
        net[2].weight[1, 3] = float('nan')
    before = snapshot(net)
    with pytest.raises(ValueError) as info:
        make_safe(net, constraints={'0.weight': 0.5, '2.weight': 0.5})
    assert '2.weight' in str(info.value)
    assert 'NaN or Inf' in str(info.value)
    # 0.weight breaks too (rows ~0.577 > 0.25) and planned first: not written
    assert torch.equal(before['0.weight'], net[0].weight)
    assert torch.equal(before['0.bias'], net[0].bias)
    assert torch.isnan(net[2].weight[1, 3])


def test_embedding_max_norm_rows_and_padding():
    torch.manual_seed(3)
    emb = nn.Embedding(50, 16, max_norm=1.0, padding_idx=0)
    record = make_safe(emb, action='reinit')
    assert record['changed'] == ['weight']
    layer = record['layers'][0]
    assert layer['init_source'] == ('assumed: Embedding default normal_() '
                                    '= N(0, 1)')
    assert layer['masked'] is True
    norms = row_norms(emb.weight)
    assert norms.max() <= 0.5 * (1 + RTOL)
    assert torch.equal(emb.weight[0], torch.zeros(16))
    # the forward renorm (in place, for looked-up rows) now changes nothing
    before = emb.weight.detach().clone()
    emb(torch.arange(50))
    assert torch.equal(emb.weight.detach(), before)
    # a norm_type that is not 2 is reported and left alone
    other = nn.Embedding(10, 4, max_norm=1.0, norm_type=1.0)
    weight = other.weight.detach().clone()
    record = make_safe(other)
    assert record['changed'] == []
    assert record['unknown'][0]['reason'] == ('norm_type=1.0; only 2 is '
                                              'supported')
    assert torch.equal(other.weight, weight)


def test_parametrizations_by_attributes():
    torch.manual_seed(4)
    model = nn.Module()
    model.a = nn.Linear(30, 6)
    model.b = nn.Linear(30, 6)
    model.c = nn.Linear(30, 6)
    model.d = nn.Linear(30, 6)
    parametrize.register_parametrization(model.a, 'weight', RowMaxNorm(0.4))
    parametrize.register_parametrization(model.b, 'weight',
                                         RowMaxNorm(0.4, dim=1))
    parametrize.register_parametrization(model.c, 'weight',
                                         RowMaxNorm(0.4, p=1))
    parametrize.register_parametrization(model.d, 'weight', nn.Identity())
    parametrize.register_parametrization(model.d, 'weight', RowMaxNorm(0.4))
    weights, unknown = find_constrained(model)
    assert [(w.name, w.constraints[0].axes) for w in weights] == [
        ('a.weight', (1,)), ('b.weight', (0,))]
    assert weights[0].class_name == 'Linear'
    assert [(u.name, u.reason) for u in unknown] == [
        ('c.weight', 'RowMaxNorm norms with p=1; only p=2 is supported'),
        ('d.weight', 'the max-norm is not first in the parametrization '
         'chain (Identity, RowMaxNorm): it does not act on the stored '
         'tensor')]
    make_safe(model)
    for name in 'ab':
        module = getattr(model, name)
        original = module.parametrizations.weight.original
        dim = 0 if name == 'a' else 1
        assert row_norms(original, dim).max() <= 0.2 * (1 + RTOL)
        # the parametrization is now the identity: no gradient scaling
        assert torch.equal(module.weight, original)


def test_assumed_init_is_checked_and_init_overrides(caplog):
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(100, 20), nn.Linear(100, 20))
    nn.init.xavier_normal_(net[0].weight)
    nn.init.normal_(net[1].weight, std=0.1)     # as declared below
    caplog.set_level(logging.INFO, logger='normsafe_init')
    record = make_safe(net, action='reinit',
                       constraints={'*.weight': 0.2},
                       init={'1.weight': ('normal', 0.1)})
    first, second = record['layers']
    assert first['init'] is None
    assert first['init_note'].startswith(
        'assumed torch Linear default kaiming_uniform_(a=sqrt(5)) = '
        'U(+-1/sqrt(fan_in)), fan_in=100, but an entry is')
    assert first['repair']['applied'] == 'rescale'
    assert 'reinit impossible' in first['repair']['reason']
    assert second['init'] == {'family': 'gaussian', 'istdev': 0.1}
    assert second['init_source'] == "init['1.weight']"
    assert second['repair']['applied'].startswith('reinit')
    text = caplog.text
    assert 'normsafe_init: 0.weight (Linear) weight[20, 100] dim0 norms ' \
        'axes (1,) n=100 m=20 max_norm=0.2 t=0.1' in text
    assert 'normsafe_init: 0.weight -> rescale x' in text


def test_declared_init_formulas_match_torch():
    from normsafe_init.torch.inits import declared_family
    shape = (40, 30, 5)
    fan_in, fan_out = 30 * 5, 40 * 5
    cases = [
        (('xavier_uniform', 2.0), 'uniform',
         2.0 * math.sqrt(6.0 / (fan_in + fan_out))),
        ('xavier_normal', 'gaussian', math.sqrt(2.0 / (fan_in + fan_out))),
        (('kaiming_uniform', 0.0), 'uniform', math.sqrt(6.0 / fan_in)),
        ('kaiming_normal', 'gaussian', math.sqrt(2.0 / fan_in)),
        ('default', 'uniform', 1 / math.sqrt(fan_in)),
    ]
    torch.manual_seed(6)
    for spec, kind, scale in cases:
        family = declared_family(spec, shape, 'init')
        assert family.kind == kind
        assert family.scale == pytest.approx(scale, rel=1e-12)
    # against a real torch draw: the bound of kaiming_uniform_
    w = torch.empty(shape)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    assert float(w.abs().max()) <= 1 / math.sqrt(fan_in)
    assert declared_family(Uniform(0.3), shape, 'init') == Uniform(0.3)


def test_trained_by_optimizer_state_reports_unless_forced():
    net = mlp()
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.randn(3, 64)).sum().backward()
    optimizer.step()
    before = snapshot(net)
    record = make_safe(net, constraints={'2.weight': 0.5},
                       optimizer=optimizer)
    # per weight (issue 15): the optimizer's state for 2.weight is the
    # evidence on that weight; the model as a whole is not declared trained
    assert record['trained'] is None
    (layer,) = record['layers']
    assert layer['verdict']['trained']
    assert layer['verdict']['evidence'] == 'the optimizer holds state for it'
    assert record['changed'] == []
    assert_unchanged(before, net)
    record = make_safe(net, constraints={'2.weight': 0.5},
                       optimizer=optimizer, force=True)
    assert record['changed'] == ['2.weight']


def test_layers_exclude_and_audit_change_nothing():
    net = mlp()
    before = snapshot(net)
    constraints = {'0.weight': 0.5, '2.weight': 0.5}
    report = audit(net, constraints=constraints)
    assert report.breaking == ['0.weight', '2.weight']
    text = str(report)
    assert text.splitlines()[0].split()[:3] == ['weight', 'shape', 'n']
    assert max(len(line) for line in text.splitlines()) <= 100
    assert '2.weight' in text and 'BREAKS' in text
    json.dumps(report.as_dict())
    assert_unchanged(before, net)
    record = make_safe(net, constraints=constraints, exclude=['0.weight'])
    assert record['changed'] == ['2.weight']
    assert_unchanged(before, net, except_=('2.weight',))
    record = make_safe(net, constraints=constraints, layers=['0.weight'],
                       action='report')
    assert record['changed'] == []
