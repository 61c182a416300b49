"""Module-attribute max-norm layers of other PyTorch EEG libraries, found
without declaring them (real torcheeg, speechbrain, MetaBCI from the
``eeg`` extra): their ``forward`` renorms ``self.weight.data`` (or a
child's) in place, so the first forward silently clips the initial draw.
make_safe finds them with the axes of their own renorm and repairs the
stored tensor; enforce_constraints keeps it at or below the limit over
training steps, and the forward's renorm then has nothing left to do.

torcheeg: its models are imported from the installed package. Where the
top-level ``import torcheeg`` fails (torcheeg 1.1.3 imports
``torch_scatter``, which cannot be installed here; the ``eeg`` extra
installs 1.1.2, which does not), the model modules are loaded from the
installed package files (``torcheeg/models/cnn/*.py``) with
``importlib.util.spec_from_file_location``: the library's own code, never
a copy. CSPNet and TCNet exist only in torcheeg 1.1.3, which caps scipy
at 1.10.1 (a downgrade under torch): they are tested when installed.

speechbrain: ``nnet.linear.Linear(max_norm=...)`` (weight in the child
``w``) and ``nnet.CNN.Conv2d(max_norm=...)`` (child ``conv``). Its MOABB
EEGNet recipe lives in speechbrain's benchmarks repository, not in the
package, so it is not importable here.
"""
import importlib
import importlib.util
import os
import sys
import types
import warnings

import pytest

torch = pytest.importorskip('torch', reason='torch is not importable here')

from normsafe_init.norms import vector_norms  # noqa: E402
from normsafe_init.torch import (enforce_constraints,  # noqa: E402
                                 find_constrained, make_safe)
from normsafe_init.torch.weights import to_numpy  # noqa: E402

RTOL = 1e-6
pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


def torcheeg_module(name):
    """``torcheeg.models.<name>`` (e.g. ``'cnn.fbcnet'``): imported, or
    loaded from the installed package file when the top-level import
    fails (torch_scatter)."""
    spec = importlib.util.find_spec('torcheeg')
    if spec is None:
        pytest.skip('torcheeg is not installed (pip install .[eeg])')
    try:
        return importlib.import_module('torcheeg.models.' + name)
    except ImportError:
        pass
    root = os.path.join(os.path.dirname(spec.origin), 'models')
    package, _, leaf = ('torcheeg.models.' + name).rpartition('.')
    alias = '_normsafe_' + package.replace('.', '_')
    if alias not in sys.modules:
        pkg = types.ModuleType(alias)
        pkg.__path__ = [os.path.join(root, *package.split('.')[2:])]
        sys.modules[alias] = pkg
    path = os.path.join(sys.modules[alias].__path__[0], leaf + '.py')
    if not os.path.exists(path):
        pytest.skip('%s is not in the installed torcheeg' % name)
    module_spec = importlib.util.spec_from_file_location(
        alias + '.' + leaf, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    return module


def torcheeg_model(label):
    module_name, cls, kwargs, shape = TORCHEEG[label]
    module = torcheeg_module(module_name)
    if not hasattr(module, cls):
        pytest.skip('torcheeg has no %s' % cls)
    torch.manual_seed(0)
    return getattr(module, cls)(**kwargs), shape


# label: (module, class, constructor kwargs, input shape)
TORCHEEG = {
    'EEGNet': ('cnn.eegnet', 'EEGNet',
               dict(chunk_size=128, num_electrodes=8, num_classes=2),
               (4, 1, 8, 128)),
    'FBCNet': ('cnn.fbcnet', 'FBCNet',
               dict(num_electrodes=8, chunk_size=256, in_channels=9,
                    num_classes=2), (4, 9, 8, 256)),
    'FBMSNet': ('cnn.fbmsnet', 'FBMSNet',
                dict(num_electrodes=8, chunk_size=256, in_channels=9,
                     num_classes=2), (4, 9, 8, 256)),
    'CSPNet': ('cnn.cspnet', 'CSPNet',
               dict(chunk_size=128, num_electrodes=8, num_classes=2),
               (4, 1, 8, 128)),
    'TCNet': ('transformer.tcnet', 'TCNet',
              dict(num_classes=2, num_electrodes=8, chunk_size=128),
              (4, 1, 8, 128)),
}
# What torcheeg's source says (torch.renorm(self.weight.data, p=2, dim=0,
# maxnorm=self.max_norm)): name -> (class, max_norm); axes: all but 0.
TORCHEEG_FOUND = {
    'EEGNet': {'block1.2.weight': ('Conv2dWithConstraint', 1.0)},
    'FBCNet': {'scb.0.weight': ('Conv2dWithConstraint', 2.0),
               'last_layer.0.weight': ('LinearWithConstraint', 0.5)},
    'FBMSNet': {'scb.0.weight': ('Conv2dWithConstraint', 2.0),
                'fc.0.weight': ('LinearWithConstraint', 0.5)},
}


def stored_ratio(weight):
    return max(vector_norms(to_numpy(weight.tensor), c.axes).max() / c.limit
               for c in weight.constraints)


def forward(model, x):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        out = model(x)
    return out.flatten(1) if out.dim() > 2 else out


def check_training(model, x, classes, steps=3, lr=1.0):
    """make_safe, then SGD steps with enforce: stored <= limit after every
    step, and one more forward (whose renorm rewrites weight.data) changes
    the stored tensors by at most rounding."""
    record = make_safe(model, fraction=0.5)
    weights, unknown = find_constrained(model)
    for weight in weights:
        assert stored_ratio(weight) <= 0.5 * (1 + RTOL), weight.name
    before = [w.tensor.detach().clone() for w in weights]
    model.train()
    forward(model, x)   # the forward's renorm: nothing to do below t
    for weight, value in zip(weights, before):
        assert torch.equal(weight.tensor.detach(), value), weight.name
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    handle = enforce_constraints(model, optimizer)
    assert handle.names == [w.name for w in weights]
    y = torch.arange(x.shape[0]) % classes
    worst = 0.0
    for _ in range(steps):
        optimizer.zero_grad()
        out = forward(model, x)
        torch.nn.functional.cross_entropy(out[:, :classes], y).backward()
        optimizer.step()
        for weight in weights:
            ratio = stored_ratio(weight)
            worst = max(worst, ratio)
            assert ratio <= 1 + RTOL, weight.name
        after_step = [w.tensor.detach().clone() for w in weights]
        forward(model, x)
        for weight, value in zip(weights, after_step):
            assert torch.allclose(weight.tensor.detach(), value, rtol=1e-6,
                                  atol=1e-9), weight.name
    handle.remove()
    return record, worst


@pytest.mark.parametrize('label', sorted(TORCHEEG))
def test_torcheeg_models(label):
    model, shape = torcheeg_model(label)
    weights, unknown = find_constrained(model)
    assert unknown == []
    found = dict((w.name, (w.class_name, w.constraints[0].limit))
                 for w in weights)
    if label in TORCHEEG_FOUND:
        assert found == TORCHEEG_FOUND[label]
    assert weights
    for weight in weights:
        (constraint,) = weight.constraints
        assert constraint.attr == 'max_norm'
        assert constraint.axes == tuple(range(1, len(weight.shape)))
        assert 'torch.renorm(self.weight.data' in weight.sources[0]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    record, worst = check_training(model, x, classes=2)
    assert record['layers']


def test_torcheeg_fbcnet_head_is_clipped_by_the_first_forward():
    """Without normsafe_init: FBCNet's head starts above its 0.5 limit
    and the first forward projects it onto the limit in place."""
    model, shape = torcheeg_model('FBCNet')
    head = [w for w in find_constrained(model)[0]
            if w.name == 'last_layer.0.weight'][0]
    assert 1.1 < stored_ratio(head) < 1.25
    forward(model, torch.randn(*shape))
    assert stored_ratio(head) == pytest.approx(1.0, rel=1e-5)


def test_torcheeg_weight_norm_false_is_not_a_constraint():
    fbcnet = torcheeg_module('cnn.fbcnet')
    layer = fbcnet.LinearWithConstraint(16, 4, max_norm=0.5,
                                        weight_norm=False)
    assert find_constrained(layer) == ([], [])


def speechbrain_nnet():
    pytest.importorskip('speechbrain', reason='speechbrain is not installed '
                        '(pip install .[eeg])')
    from speechbrain.nnet import CNN, linear
    return linear, CNN


def test_speechbrain_linear_and_conv():
    linear, CNN = speechbrain_nnet()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        CNN.Conv2d(out_channels=4, kernel_size=(3, 3), in_channels=2,
                   max_norm=1.0),
        torch.nn.Flatten(1),
        linear.Linear(n_neurons=32, input_size=4 * 10 * 6, max_norm=1.0),
        torch.nn.ReLU(),
        linear.Linear(n_neurons=3, input_size=32, max_norm=0.25))
    weights, unknown = find_constrained(model)
    assert unknown == []
    assert [(w.name, w.class_name, w.constraints[0].axes,
             w.constraints[0].limit) for w in weights] == [
        ('0.conv.weight', 'Conv2d', (1, 2, 3), 1.0),
        ('2.w.weight', 'Linear', (1,), 1.0),
        ('4.w.weight', 'Linear', (1,), 0.25)]
    assert 'self.w.weight.data' in weights[1].sources[0]
    # speechbrain's Conv2d takes (batch, time, freq, channels)
    x = torch.randn(4, 10, 6, 2, generator=torch.Generator().manual_seed(0))
    record, _ = check_training(model, x, classes=3)
    assert '4.w.weight' in record['changed']   # 0.577 > t = 0.125


def test_speechbrain_conv_with_weight_norm_is_reported():
    """Conv2d(weight_norm=True, max_norm=c) renorms .data of the computed
    weight: the stored tensors are never bounded; reported, left alone."""
    linear, CNN = speechbrain_nnet()
    conv = CNN.Conv2d(out_channels=4, kernel_size=(3, 3), in_channels=2,
                      max_norm=1.0, weight_norm=True)
    weights, unknown = find_constrained(conv)
    assert weights == []
    assert [u.name for u in unknown] == ['conv.weight']
    assert 'computed (parametrized) weight' in unknown[0].reason
    assert make_safe(conv)['changed'] == []


def test_speechbrain_max_norm_none_is_no_constraint():
    linear, _ = speechbrain_nnet()
    assert find_constrained(linear.Linear(n_neurons=3, input_size=8)) == (
        [], [])


def test_metabci_eegnet():
    """MetaBCI's MaxNormConstraintConv2d / Linear: max_norm_value, norms
    over dim=norm_axis (Keras semantics: the summed axis) -- axis 2 of a
    conv weight, axis 0 (columns) of a Linear weight. Its EEGNet comes
    wrapped in a skorch net (float64)."""
    pytest.importorskip('metabci', reason='metabci is not installed '
                        '(pip install .[eeg])')
    eegnet = importlib.import_module(
        'metabci.brainda.algorithms.deep_learning.eegnet')
    torch.manual_seed(0)
    model = eegnet.EEGNet(8, 128, 2).module
    weights, unknown = find_constrained(model)
    assert unknown == []
    found = [(w.class_name, w.constraints[0].attr, w.constraints[0].axes,
              w.constraints[0].limit) for w in weights]
    assert ('MaxNormConstraintConv2d', 'max_norm_value', (2,), 1.0) in found
    assert ('MaxNormConstraintLinear', 'max_norm_value', (0,), 0.25) in found
    assert all(w.tensor.dtype == torch.float64 for w in weights)
    x = torch.randn(4, 8, 128, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(0))
    check_training(model, x, classes=2)


def test_a_users_own_constraint_layer_and_an_unreadable_one():
    """braindecode < 1.0's Conv2dWithConstraint pattern written by a user
    (renorm with positional arguments, a guard on max_norm), and a module
    with a numeric max_norm whose forward renorms nothing known: reported,
    named."""

    class UserConv(torch.nn.Conv2d):
        def __init__(self, *args, max_norm=1.0, **kwargs):
            self.max_norm = max_norm
            super().__init__(*args, **kwargs)

        def forward(self, x):
            if self.max_norm is not None:
                self.weight.data = torch.renorm(self.weight.data, 2, 0,
                                                self.max_norm)
            return super().forward(x)

    class Opaque(torch.nn.Linear):
        max_norm = 2.0

        def forward(self, x):
            return super().forward(x).clamp(max=self.max_norm)

    model = torch.nn.Sequential(UserConv(1, 4, (1, 5), max_norm=0.5),
                                UserConv(4, 4, (1, 5), max_norm=None),
                                torch.nn.Flatten(1), Opaque(8, 2))
    weights, unknown = find_constrained(model)
    assert [(w.name, w.constraints[0].axes, w.constraints[0].limit)
            for w in weights] == [('0.weight', (1, 2, 3), 0.5)]
    assert [u.name for u in unknown] == ['3.weight']
    assert 'max_norm=2' in unknown[0].reason
