"""NormSafeInit, the skorch callback, inside braindecode's EEGClassifier
(real skorch, braindecode and torch; tiny fits on the synthetic EEG-like
data of examples/synthetic_eeg.py): acts in on_train_begin, records the
norms per epoch, leaves a trained net alone unless forced."""
import json
import os
import pickle
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip('torch', reason='torch is not importable here')
pytest.importorskip('skorch', reason='skorch is not importable here')
pytest.importorskip('braindecode', reason='braindecode is not importable '
                    'here')

from braindecode import EEGClassifier  # noqa: E402
from braindecode.models import EEGNeX  # noqa: E402
from sklearn.base import clone  # noqa: E402

from normsafe_init.norms import vector_norms  # noqa: E402
from normsafe_init.torch import NormSafeInit  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'examples'))
from synthetic_eeg import make_eeg  # noqa: E402

N_TIMES, SFREQ = 256, 128.0
HEAD = 'final_layer.weight'
KEY = 'normsafe_final_layer.weight_max_over_limit'
pytestmark = pytest.mark.filterwarnings('ignore::UserWarning')


@pytest.fixture(scope='module')
def data():
    return make_eeg(48, n_times=N_TIMES, sfreq=SFREQ, seed=0)


def classifier(callback, module=None, **kwargs):
    torch.manual_seed(0)
    if module is None:
        module = EEGNeX(n_chans=22, n_outputs=4, n_times=N_TIMES)
    params = dict(max_epochs=2, batch_size=16, train_split=None,
                  optimizer=torch.optim.AdamW, lr=1e-3, verbose=0)
    params.update(kwargs)
    return EEGClassifier(module, callbacks=[('normsafe', callback)],
                         **params)


def head_norm_ratio(net):
    original = net.module_.final_layer.parametrizations.weight.original
    norms = vector_norms(original.detach().numpy(), (1,))
    return norms.max() / 0.25


def fit(clf, X, y, method='fit'):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return getattr(clf, method)(X, y)


def test_callback_repairs_then_records_every_epoch(data):
    X, y = data
    callback = NormSafeInit(fraction=0.5)
    clf = classifier(callback)
    clf.initialize()
    assert head_norm_ratio(clf) > 2.0  # EEGNeX's head starts at ~2.4x
    fit(clf, X, y)
    record = callback.record
    json.dumps(record)
    assert record['framework'] == 'torch' and record['trained'] is None
    assert HEAD in record['changed']
    head = [l for l in record['layers'] if l['name'] == HEAD][0]
    assert head['constraints'][0]['before']['max'] / 0.25 > 2.0
    assert head['repair']['after'][0]['max'] <= 0.125 * (1 + 1e-6)
    values = clf.history[:, KEY]
    assert len(values) == 2
    # at the end of each epoch: measured on the stored tensor, which AdamW
    # (lr 1e-3, 6 steps) moves a little from 0.5
    assert all(0.4 < v < 0.8 for v in values)
    assert values[-1] == pytest.approx(head_norm_ratio(clf), rel=1e-6)
    pinned = clf.history[:, 'normsafe_final_layer.weight_pinned']
    assert pinned == [0.0, 0.0]


def test_trained_net_is_left_alone_unless_forced(data):
    X, y = data
    callback = NormSafeInit()
    clf = classifier(callback, max_epochs=1)
    fit(clf, X, y)
    # put the head above t again, as a long run may
    original = clf.module_.final_layer.parametrizations.weight.original
    with torch.no_grad():
        original.mul_(3.0)
    before = original.detach().clone()
    fit(clf, X, y, 'partial_fit')
    assert callback.record['action'] == 'report'
    assert callback.record['trained'] == ('net.history has 1 epoch(s) '
                                           '(partial_fit or warm_start)')
    assert callback.record['changed'] == []
    assert head_norm_ratio(clf) > 0.9  # only the training step moved it
    # warm_start: fit keeps the module and the history
    clf.set_params(warm_start=True)
    fit(clf, X, y)
    assert callback.record['action'] == 'report'
    # force: acts on the trained net
    clf.set_params(callbacks__normsafe__force=True)
    with torch.no_grad():
        original.copy_(before)
    fit(clf, X, y, 'partial_fit')
    assert callback.record['action'] == 'rescale'
    assert callback.record['trained'].startswith('net.history has')
    assert HEAD in callback.record['changed']


def test_second_fit_of_a_module_instance_counts_as_trained(data):
    """skorch keeps a module *instance* on a new fit() and resets the
    history: the callback remembers the module it saw train."""
    X, y = data
    callback = NormSafeInit()
    module = EEGNeX(n_chans=22, n_outputs=4, n_times=N_TIMES)
    clf = classifier(callback, module=module, max_epochs=1)
    fit(clf, X, y)
    assert callback.record['action'] == 'rescale'
    fit(clf, X, y)
    assert len(clf.history) == 1
    assert clf.module_ is module
    assert callback.record['action'] == 'report'
    assert callback.record['trained'] == ('its module instance was trained '
                                           'for 1 epoch(s) by an earlier fit')


def test_bad_options_fail_at_construction_and_set_params():
    with pytest.raises(ValueError) as info:
        NormSafeInit(fraction=0)
    assert str(info.value) == 'fraction must be in (0, 1]; got 0.0'
    with pytest.raises(ValueError) as info:
        NormSafeInit(action='fix')
    assert "action must be one of" in str(info.value)
    callback = NormSafeInit()
    callback.set_params(mode='median')
    with pytest.raises(ValueError) as info:
        callback.initialize()
    assert str(info.value) == "mode must be one of 'max', 'mean'; got " \
        "'median'"


def test_params_clone_and_pickle(data):
    X, y = data
    callback = NormSafeInit(fraction=0.4, seed=3, action='reinit',
                            constraints=None, init=None)
    params = callback.get_params()
    assert params['fraction'] == 0.4 and params['seed'] == 3
    assert 'record' not in params and 'record_' not in params and 'seen_' not in params
    twin = clone(callback)
    assert twin.get_params() == params
    clf = classifier(callback, max_epochs=1)
    fit(clf, X, y)
    assert callback.record['layers'][-1]['repair']['applied'].startswith(
        'reinit')
    # (a net with parametrized modules pickles only through state_dict,
    # torch's rule; the callback pickles)
    restored = pickle.loads(pickle.dumps(callback))
    assert restored.record == callback.record
    assert restored.get_params() == params
