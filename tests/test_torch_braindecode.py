"""Every model of the installed braindecode (real braindecode, real torch):
build it (n_chans=22, n_outputs=4, n_times=1000, sfreq=250, or what the
model needs), find its max-norm parametrizations without importing
braindecode in the adapter, make it safe, and check the stored tensors
(<= t), every other tensor (bit-identical), that the parametrization is
now the identity (no gradient scaling) and that the model still runs."""
import inspect
import warnings

import pytest

torch = pytest.importorskip('torch', reason='torch is not importable here')
braindecode = pytest.importorskip('braindecode',
                                  reason='braindecode is not importable here')
mne = pytest.importorskip('mne', reason='mne (a braindecode dependency) is '
                          'not importable here')

import braindecode.models  # noqa: E402
from braindecode.modules import LinearWithConstraint  # noqa: E402

from normsafe_init.norms import vector_norms  # noqa: E402
from normsafe_init.torch import find_constrained, make_safe  # noqa: E402
from normsafe_init.torch.weights import to_numpy  # noqa: E402

RTOL = 1e-6
BASE = dict(n_chans=22, n_outputs=4, n_times=1000, sfreq=250)
# 22 channels of the 10-20 system (as in BCI Competition IV 2a), for the
# models that need channel positions (chs_info).
CHANNELS = ['Fz', 'FC3', 'FC1', 'FCz', 'FC2', 'FC4', 'C5', 'C3', 'C1', 'Cz',
            'C2', 'C4', 'C6', 'CP3', 'CP1', 'CPz', 'CP2', 'CP4', 'P1', 'Pz',
            'P2', 'POz']
NEEDS_CHS = ('DANCE', 'DGCNN', 'EEGSym', 'InterpolatedBENDR',
             'InterpolatedBIOT', 'InterpolatedEEGPT', 'InterpolatedLaBraM',
             'InterpolatedSignalJEPA', 'SignalJEPA', 'SignalJEPA_Contextual',
             'ZUNA')
# What a model needs beyond BASE (None removes a BASE argument).
OVERRIDES = {
    'AttnSleep': dict(d_model=28, n_attn_heads=4),
    'EEGDINO': dict(n_chans=19),
    'EMG2QwertyNet': dict(n_chans=32),
    'SensingDynamics': dict(n_chans=16),
    'TCN': dict(n_times=None, sfreq=None),
    'USleep': dict(time_conv_size_s=9 / 250.0),
    'VEMG2Pose': dict(n_times=2000),
    'MetaNeuromotorHand': dict(n_times=2000, sfreq=2000),
    'ZUNA': dict(n_times=1024),
}
NOT_BUILT = {
    'REVE': 'downloads a position bank from a model hub when constructed',
}
# Variants that switch optional max-norm layers on.
VARIANTS = {
    'EEGNet[final_layer_with_constraint]': (
        'EEGNet', dict(final_layer_with_constraint=True)),
    'ATCNet[conv_max_norm_const]': ('ATCNet', dict(conv_max_norm_const=0.6)),
}
# Models whose source uses braindecode's max-norm layers (grep of
# braindecode/models for Conv*WithConstraint, LinearWithConstraint,
# MaxNormLinear, MaxNormParametrize in 1.8).
EXPECTED = {'ATCNet', 'EEGITNet', 'EEGNeX', 'EEGNet', 'EEGPT', 'EEGTCNet',
            'FBCNet', 'FBMSNet', 'IFNet', 'TCFormer', 'InterpolatedEEGPT'}


def model_names():
    names = sorted(
        name for name, obj in vars(braindecode.models).items()
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module)
        and not name.startswith('_'))
    return names + sorted(VARIANTS)


def chs_info():
    info = mne.create_info(CHANNELS, 250.0, 'eeg')
    with warnings.catch_warnings():  # renamed colin27_1020 in newer mne
        warnings.simplefilter('ignore')
        info.set_montage('standard_1020')
    return info['chs']


def build(label):
    if label in NOT_BUILT:
        pytest.skip('%s: %s' % (label, NOT_BUILT[label]))
    name, extra = VARIANTS.get(label, (label, {}))
    kwargs = dict(BASE)
    kwargs.update(OVERRIDES.get(name, {}))
    kwargs.update(extra)
    kwargs = dict((k, v) for k, v in kwargs.items() if v is not None)
    if name in NEEDS_CHS:
        kwargs['chs_info'] = chs_info()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            return getattr(braindecode.models, name)(**kwargs), kwargs
        except Exception as exc:  # pragma: no cover - depends on version
            pytest.skip('%s cannot be built with %r: %s: %s'
                        % (label, sorted(kwargs), type(exc).__name__, exc))


FOUND = {}


@pytest.mark.parametrize('label', model_names())
def test_every_braindecode_model(label):
    model, kwargs = build(label)
    weights, unknown = find_constrained(model)
    assert unknown == []
    FOUND[label] = [w.name for w in weights]
    if not weights:
        assert label.split('[')[0] not in EXPECTED
        return
    state = dict((k, v.clone()) for k, v in model.state_dict().items())
    record = make_safe(model, fraction=0.5, action='rescale')
    params = dict(model.named_parameters())
    changed = set()
    for layer in record['layers']:
        tensor = params[layer['path']]
        assert layer['path'].endswith('parametrizations.weight.original')
        for c in layer['constraints']:
            norms = vector_norms(to_numpy(tensor), tuple(c['axes']))
            assert norms.max() <= c['target'] * (1 + RTOL), layer['name']
        breaks = layer['breaks']
        assert (layer['name'] in record['changed']) == breaks
        if breaks:
            changed.add(layer['path'])
        # the effective weight is the stored one: no scaling of gradients
        module = tensor
        owner = model.get_submodule(layer['name'].rsplit('.', 1)[0])
        effective = owner.weight.detach()
        if layer['constraints'][0]['attr'] == 'max_norm':   # renorm
            assert torch.equal(effective, module.detach())
        else:   # braindecode MaxNorm: X * n / (n + eps), n >= limit / 2
            assert torch.allclose(effective, module.detach(), rtol=1e-3)
    after = model.state_dict()
    for key, value in state.items():
        if key not in changed:
            assert torch.equal(value, after[key]), key
    x = torch.randn(2, kwargs['n_chans'], kwargs['n_times'],
                    generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        out = model(x)
    assert out.shape[0] == 2 and bool(torch.isfinite(out).all())


def test_found_every_expected_model():
    if len(FOUND) < len(model_names()) - len(NOT_BUILT):
        pytest.skip('needs the whole model sweep in the same run')
    found = set(label.split('[')[0] for label, names in FOUND.items()
                if names)
    print('\nbraindecode %s models with max-norm tensors:'
          % braindecode.__version__)
    for label in sorted(FOUND):
        if FOUND[label]:
            print('  %s: %s' % (label, ', '.join(FOUND[label])))
    assert found == EXPECTED
    assert FOUND['EEGNeX'] == ['block_3.0.weight', 'final_layer.weight']
    assert FOUND['EEGNet[final_layer_with_constraint]'] == [
        'conv_spatial.weight', 'final_layer.linearconstraint.weight']


@pytest.mark.parametrize('name, kwargs, limit, low, high', [
    ('EEGNeX', {}, 0.25, 2.3, 2.45),
    ('EEGITNet', {}, 0.25, 2.3, 2.45),
    ('EEGNet', dict(final_layer_with_constraint=True), 0.25, 2.3, 2.45),
    ('FBCNet', {}, 0.5, 1.12, 1.2),
    ('FBMSNet', {}, 0.5, 1.12, 1.2),
    ('IFNet', {}, 0.5, 1.12, 1.2),
])
def test_heads_start_above_their_limit(name, kwargs, limit, low, high):
    """The issue's measurement: PyTorch's default init gives rows of norm
    ~0.577 whatever the fan-in."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = getattr(braindecode.models, name)(**dict(BASE, **kwargs))
    weights, _ = find_constrained(model)
    head = weights[-1]
    assert head.constraints[0].limit == limit
    ratio = vector_norms(head.read(), head.constraints[0].axes).max() / limit
    assert low <= ratio <= high


def test_gradient_scaling_before_and_after():
    """A row of norm r > c gets a gradient scaled by c / r (and projected
    orthogonally to itself); after make_safe the stored row gets the full
    gradient of the effective weight."""
    torch.manual_seed(0)
    layer = LinearWithConstraint(248, 4, max_norm=0.25)
    x = torch.randn(16, 248)
    target = torch.randn(16, 4)

    def grads():
        layer.zero_grad()
        weight = layer.weight
        weight.retain_grad()
        torch.nn.functional.mse_loss(
            torch.nn.functional.linear(x, weight, layer.bias),
            target).backward()
        return (layer.parametrizations.weight.original.grad.clone(),
                weight.grad.clone())

    original = layer.parametrizations.weight.original
    r = original.detach().norm(dim=1)
    g_orig, g_eff = grads()
    w = original.detach() / r[:, None]
    projected = g_eff - (g_eff * w).sum(1, keepdim=True) * w
    expected = projected * (0.25 / r)[:, None]
    assert torch.allclose(g_orig, expected, rtol=1e-4, atol=1e-7)
    make_safe(layer)
    g_orig, g_eff = grads()
    assert torch.equal(g_orig, g_eff)


@pytest.mark.parametrize('label', sorted(EXPECTED) + sorted(VARIANTS))
def test_reinit_every_max_norm_model(label):
    """reinit where the init is known (a fresh draw at the solved scale),
    rescale with the reason where the tensor contradicts the assumed init
    (TCFormer re-draws its head with xavier_uniform_)."""
    model, kwargs = build(label)
    record = make_safe(model, action='reinit', seed=1)
    params = dict(model.named_parameters())
    for layer in record['layers']:
        repair = layer['repair']
        if not layer['breaks']:
            assert repair['applied'] == 'none'
            continue
        if layer['init'] is None:
            assert repair['applied'] == 'rescale'
            assert repair['reason'].startswith('reinit impossible')
        else:
            assert repair['applied'] in ('reinit', 'reinit+rescale')
            bound = repair['new_init']['irange']
            assert float(params[layer['path']].detach().abs().max()) <= \
                bound * (1 + RTOL)
        for c, after in zip(layer['constraints'], repair['after']):
            assert after['max'] <= c['target'] * (1 + RTOL)
    if label == 'TCFormer':
        head = record['layers'][-1]
        assert head['init'] is None and 'beyond the assumed' in \
            head['init_note']
    x = torch.randn(2, kwargs['n_chans'], kwargs['n_times'],
                    generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert bool(torch.isfinite(model(x)).all())
