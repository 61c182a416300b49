"""The run's promises on plain numpy weights: nothing half-done, half
precision lands under t, an earlier record counts, logging is lent and
never taken."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import numpy as np
import pytest

from normsafe_init import run
from normsafe_init.options import Options
from normsafe_init.weights import (Constraint, ConstrainedWeight, bad_limit,
                                   machine_eps)
from normsafe_init.norms import vector_norms

from test_run import ArrayWeight, gaussian_weight

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RefusingWeight(ArrayWeight):
    """A weight whose host refuses the write (an inference tensor, say)."""

    def check_writable(self):
        raise ValueError('%s cannot be written: read-only' % self.name)


class FailingWeight(ArrayWeight):
    """A weight whose write fails although the check passed."""

    def write(self, value):
        raise RuntimeError('device lost while writing %s' % self.name)


class Bfloat16Weight(ArrayWeight):
    """float32 storage rounded to bfloat16's 8 significant bits on write,
    as a host that reads a bfloat16 tensor as float32 does."""

    def __init__(self, *args, **kwargs):
        ArrayWeight.__init__(self, *args, **kwargs)
        self.eps = 2.0 ** -7

    def write(self, value):
        bits = np.asarray(value, np.float32).view(np.uint32)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000)
        ArrayWeight.write(self, rounded.astype(np.uint32).view(np.float32))


def test_a_refused_target_is_named_before_anything_is_written():
    good = gaussian_weight('a')
    bad = RefusingWeight('b', gaussian_weight('b', seed=1).array, 1.0,
                         family=good.family)
    before = good.array.copy()
    with pytest.raises(ValueError, match='b cannot be written'):
        run.run([good, bad], Options())
    assert good.writes == 0 and np.array_equal(good.array, before)


def test_a_failed_write_puts_back_what_was_written():
    small = gaussian_weight('small', n=100, m=10)
    big = FailingWeight('big', gaussian_weight('big', n=400, m=30,
                                               seed=1).array, 1.0,
                        family=small.family)
    before = small.array.copy()
    with pytest.raises(RuntimeError, match='device lost'):
        run.run([big, small], Options())
    # the smaller weight was written first, then restored bit for bit
    assert small.writes == 2 and np.array_equal(small.array, before)


@pytest.mark.parametrize('action', ['rescale', 'clip', 'reinit'])
@pytest.mark.parametrize('kind', ['float16', 'bfloat16'])
def test_half_precision_lands_under_t_and_a_second_run_changes_nothing(
        kind, action):
    rng = np.random.RandomState(5)
    W = (rng.randn(64, 16) * 0.3).astype(np.float32)   # norms ~ 2.4
    if kind == 'float16':
        w = ArrayWeight('h', W.astype(np.float16), 1.0,
                        family=gaussian_weight().family.with_scale(0.3))
    else:
        w = Bfloat16Weight('h', W, 1.0,
                           family=gaussian_weight().family.with_scale(0.3))
    result = run.run([w], Options(fraction=0.5, action=action))
    stored = vector_norms(w.array, (0,))
    assert stored.max() <= 0.5           # measured on the stored values
    after = result.record['layers'][0]['repair']['after'][0]
    assert after['max'] == pytest.approx(stored.max(), rel=1e-12)
    assert after['above_target'] == 0
    writes, saved = w.writes, w.array.copy()
    again = run.run([w], Options(fraction=0.5, action=action, force=True))
    assert again.changed == [] and w.writes == writes
    assert np.array_equal(w.array, saved)


def test_the_margin_is_invisible_in_float32():
    w = gaussian_weight()
    result = run.run([w], Options(fraction=0.5))
    plan = result.planned[0][2]
    target = 0.5 / vector_norms(w.array, (0,)).max() * plan.factor
    assert plan.factor == pytest.approx(target, rel=1e-6)
    assert vector_norms(w.array, (0,)).max() == pytest.approx(0.5, rel=1e-6)


def test_an_earlier_record_marks_its_weights_only():
    body = gaussian_weight('body')
    first = run.run([body], Options())
    assert first.changed == ['body']
    head = gaussian_weight('head', seed=3)
    body.array *= 4                      # trained past the limit since
    before = body.array.copy()
    second = run.run([body, head], Options(), previous=first.record)
    assert second.changed == ['head']
    assert np.array_equal(body.array, before)
    (verdict_body, verdict_head) = [layer['verdict'] for layer in
                                    second.record['layers']]
    assert verdict_body['trained'] and not verdict_head['trained']
    assert 'already processed' in verdict_body['evidence']
    assert second.record['previous'] is first.record


def test_host_evidence_per_weight_and_force():
    body = gaussian_weight('body')
    body.evidence = ['the optimizer holds state for it']
    head = gaussian_weight('head', seed=3)
    result = run.run([body, head], Options())
    assert result.changed == ['head']
    assert result.record['judged_trained'] == ['body']
    forced = run.run([body], Options(force=True))
    assert forced.changed == ['body']


def test_layer_names_select_every_weight_of_the_layer():
    a = gaussian_weight('sep/depthwise_kernel')
    b = gaussian_weight('sep/pointwise_kernel', seed=1)
    c = gaussian_weight('head', seed=2)
    for weight in (a, b):
        weight.layer_name = 'sep'
    assert [w.name for w in run.select([a, b, c], Options(layers=['sep']))] \
        == ['sep/depthwise_kernel', 'sep/pointwise_kernel']
    assert [w.name for w in run.select([a, b, c], Options(exclude=['sep']))] \
        == ['head']
    with pytest.raises(ValueError, match='constrained layers: head, sep'):
        run.select([a, b, c], Options(layers=['nope']))


@pytest.mark.parametrize('value, ok', [
    (0.25, True), (2, True), (0, False), (-1.0, False), (float('nan'), False),
    (float('inf'), False), ('abc', False), (None, False), (True, False)])
def test_bad_limit(value, ok):
    assert (bad_limit(value, 'max_value') is None) is ok
    if not ok:
        assert 'max_value=' in bad_limit(value, 'max_value')


def test_machine_eps():
    assert machine_eps(np.float32) == 2.0 ** -23
    assert machine_eps(np.float16) == 2.0 ** -10


def test_min_limit_warning_names_the_option(caplog):
    w = gaussian_weight(s=0.1, limit=1.9, min_limit=1.2)
    w.constraints[0].min_attr = 'min_col_norm'
    run.run([w], Options(fraction=0.5))
    assert 'fraction x max_col_norm = 0.95 is below min_col_norm = 1.2' \
        in caplog.text


LOGGING_SCRIPT = r'''
import logging, sys
sys.path.insert(0, %r)
sys.path.insert(0, %r)
import numpy as np
from normsafe_init import run
from normsafe_init._logging import ensure_visible
from normsafe_init.options import Options
from test_run import gaussian_weight
ensure_visible()
run.run([gaussian_weight('first')], Options())
logging.basicConfig(level=logging.WARNING, force=True,
                    format='ROOT %%(levelname)s %%(message)s')
ensure_visible()
run.run([gaussian_weight('second')], Options(), trained='it has steps')
'''


@pytest.mark.skipif(sys.version_info < (3, 8),
                    reason='logging.basicConfig(force=True) needs Python 3.8+')
def test_logging_is_lent_while_unconfigured_and_given_back():
    script = LOGGING_SCRIPT % (REPO, os.path.join(REPO, 'tests'))
    process = subprocess.Popen([sys.executable, '-c', script],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
    _, err = process.communicate()
    assert process.returncode == 0, err
    # unconfigured: the INFO lines show, plainly, on stderr
    assert 'normsafe_init: first -> rescale' in err
    # configured at WARNING: the user's handler alone decides
    assert 'normsafe_init: second' not in err.replace(
        'ROOT WARNING normsafe_init: model looks trained', '')
    assert 'ROOT WARNING normsafe_init: model looks trained (it has steps)' \
        in err
