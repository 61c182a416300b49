"""Helpers shared by the tests that run real pylearn2 (Python 2.7 and 3).

Importing this module imports neither pylearn2 nor Theano, so any test
module may import it. A module that needs pylearn2 starts with::

    from pylearn2_helpers import require_pylearn2
    require_pylearn2()   # skips the whole module, with a stated reason,
                         # where pylearn2 (or Theano) is not importable

pytest puts ``tests/`` on ``sys.path`` (there is no ``tests/__init__.py``),
and ``tests/conftest.py`` sets the default ``THEANO_FLAGS`` before anything
imports Theano.

Contents
--------
* skip reasons and :func:`require_pylearn2`, :func:`pylearn2_flavour`;
* :func:`train_yaml` -- a small, fast ``Train`` (bc01 conv + dense +
  Softmax, every layer norm-constrained and above its limit at init) used by
  the integration tests, with the extensions and algorithm filled in;
* :class:`LogCapture` (records of the ``normsafe_init`` logger),
  :func:`make_probe` (a ``TrainExtension`` that records the weights and
  ``model.rng`` when its ``setup`` runs), weight snapshots and norms;
* paths: :data:`REPO_ROOT`, :data:`EXAMPLES_DIR`, :func:`train_script`,
  :func:`subprocess_env`.
"""
from __future__ import absolute_import, division, print_function

import logging
import os
import sys

import numpy as np
import pytest
from helpers import subprocess_env

PY2 = sys.version_info[0] == 2
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
EXAMPLES_DIR = os.path.join(REPO_ROOT, 'yaml_examples')

#: Relative tolerance of "norm <= t" checks: pylearn2's projection leaves
#: norms at the limit +- float32 rounding.
RTOL = 1e-6

PYLEARN2_MISSING = (
    'pylearn2 is not importable in this environment (it is on no package '
    'index; install it by hand to run these tests): %s')
PYLEARN2_BROKEN = (
    'pylearn2 is installed but its models cannot be imported (it needs '
    'Theano 0.9.0, or 0.8.2 for an early-2015 pylearn2; see '
    '.ci/requirements-*.txt): %s')
MAXOUT_NEEDS_PY2 = (
    'pylearn2.models.maxout.Maxout stacks build only on Python 2: under '
    'Python 3 Maxout computes its output dimension with "/" (a float), so '
    'the layer after it fails to build (TypeError in rng.uniform)')
NEEDS_CUDA = (
    'pylearn2.models.maxout.MaxoutConvC01B needs CUDA (cuda-convnet); '
    'pylearn2 refuses to build it without a GPU: %s')


def require_pylearn2():
    """Import pylearn2 (and Theano) or skip the calling test module.

    Returns the ``pylearn2`` package."""
    try:
        import pylearn2
    except ImportError as exc:
        pytest.skip(PYLEARN2_MISSING % exc, allow_module_level=True)
    try:
        import theano  # noqa: F401
        import pylearn2.models.mlp  # noqa: F401
    except ImportError as exc:
        pytest.skip(PYLEARN2_BROKEN % exc, allow_module_level=True)
    return pylearn2


def pylearn2_flavour():
    """``'head'`` for pylearn2 with ``ConstrainFilterL2Norm`` (after August
    2015: every constraint is a model extension), else ``'2015'`` (early
    2015: constraints in ``_modify_updates``)."""
    from pylearn2.model_extensions import norm_constraint
    if hasattr(norm_constraint, 'ConstrainFilterL2Norm'):
        return 'head'
    return '2015'


# -- norms and snapshots --------------------------------------------------
def norms_of(value, axes, mask=None):
    """Norms of the vectors of ``value`` summed over ``axes`` (float64,
    flattened), of ``value * mask`` when a mask is given."""
    value = np.asarray(value, dtype=np.float64)
    if mask is not None:
        value = value * np.asarray(mask, dtype=np.float64)
    return np.sqrt(np.square(value).sum(axis=tuple(axes))).ravel()


def constrained_norms(model):
    """``[(weight, constraint, norms)]`` for every constrained weight of
    ``model``, from the current values (see :mod:`normsafe_init.pylearn2.layers`)."""
    from normsafe_init.pylearn2.layers import find_constrained
    weights, _, _ = find_constrained(model)
    out = []
    for weight in weights:
        value = weight.variable.get_value()
        for constraint in weight.constraints:
            out.append((weight, constraint,
                        norms_of(value, constraint.axes, weight.mask)))
    return out


def weight_snapshot(model):
    """``{layer name: copy of W}`` for every constrained weight."""
    from normsafe_init.pylearn2.layers import find_constrained
    weights, _, _ = find_constrained(model)
    return dict((w.name, w.variable.get_value().copy()) for w in weights)


def param_snapshot(model):
    """Copies of all ``model.get_params()`` values, in order."""
    return [p.get_value().copy() for p in model.get_params()]


def variables_of(model):
    """``{layer name: the weight's shared variable object}``."""
    from normsafe_init.pylearn2.layers import find_constrained
    weights, _, _ = find_constrained(model)
    return dict((w.name, w.variable) for w in weights)


def bit_identical(a, b):
    """Same dtype, shape and bits (arrays, or lists/dicts of arrays)."""
    if isinstance(a, dict):
        return (sorted(a) == sorted(b)
                and all(bit_identical(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return (len(a) == len(b)
                and all(bit_identical(x, y) for x, y in zip(a, b)))
    a, b = np.asarray(a), np.asarray(b)
    return (a.dtype == b.dtype and a.shape == b.shape
            and a.tobytes() == b.tobytes())


def rng_state(model):
    """``model.rng``'s state, comparable with :func:`same_rng_state`."""
    return model.rng.get_state()


def same_rng_state(a, b):
    return (a[0] == b[0] and np.array_equal(a[1], b[1])
            and tuple(a[2:]) == tuple(b[2:]))


def channel_value(model, name, epoch=0):
    """``model.monitor.channels[name].val_record[epoch]`` as a float."""
    channels = model.monitor.channels
    if name not in channels:
        raise KeyError('no channel %r; channels: %s'
                       % (name, ', '.join(sorted(channels))))
    return float(channels[name].val_record[epoch])


# -- logging ----------------------------------------------------------------
class LogCapture(logging.Handler):
    """Collect the records of the ``normsafe_init`` logger (and children).

    A handler directly on that logger, so capture does not depend on
    propagation to the root logger (the extension switches propagation off
    when it has to add a handler itself). Use as a context manager; sets
    the logger level to INFO meanwhile."""

    def __init__(self, name='normsafe_init'):
        logging.Handler.__init__(self, level=logging.DEBUG)
        self.logger = logging.getLogger(name)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        self._level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self._level)
        return False

    @property
    def messages(self):
        return [r.getMessage() for r in self.records]

    def lines(self, contains, level=None):
        """Messages containing ``contains`` (at ``level``, if given)."""
        return [r.getMessage() for r in self.records
                if contains in r.getMessage()
                and (level is None or r.levelno == level)]

    def text(self):
        return '\n'.join(self.messages)


# -- a probe extension ------------------------------------------------------
def make_probe(store, key):
    """A pylearn2 ``TrainExtension`` that stores, in ``store[key]``, when its
    ``setup`` runs: ``weights`` (:func:`weight_snapshot`), ``params``
    (:func:`param_snapshot`), ``variables`` (:func:`variables_of`) and
    ``rng`` (:func:`rng_state`); and in ``store[key + '@epoch0']`` the
    weights seen by the first ``on_monitor`` (after
    ``enforce_constraints``, before any training step)."""
    from pylearn2.train_extensions import TrainExtension

    class Probe(TrainExtension):
        def setup(self, model, dataset, algorithm):
            store[key] = {'weights': weight_snapshot(model),
                          'params': param_snapshot(model),
                          'variables': variables_of(model),
                          'rng': rng_state(model)}

        def on_monitor(self, model, dataset, algorithm):
            store.setdefault(key + '@epoch0', weight_snapshot(model))

    return Probe()


# -- a small Train ----------------------------------------------------------
#: Limits and init of :func:`train_yaml`'s layers. Every layer breaks
#: ``t = 0.5 * limit`` at init; h1 (sparse_init 15: chi_15, ~3.8) and y's
#: columns (istdev 0.5, 8 inputs: ~1.4) are all above their limit 1.0
#: (pinned by pylearn2 without the extension); h2's rows (irange 0.35, 8
#: entries: ~0.57) straddle t (so ``clip`` leaves some as drawn).
SMALL_LAYERS = {
    'h0': ('ConvRectifiedLinear', 'max_kernel_norm', 1.0),
    'h1': ('RectifiedLinear', 'max_col_norm', 1.0),
    'h2': ('Tanh', 'max_row_norm', 1.0),
    'y': ('Softmax', 'max_col_norm', 1.0),
}

_SMALL_TRAIN = """
!obj:pylearn2.train.Train {
    dataset: &train !obj:pylearn2.testing.datasets.random_one_hot_topological_dense_design_matrix {
        rng: !obj:numpy.random.RandomState { seed: 3 },
        num_examples: 40,
        shape: [7, 7],
        channels: 1,
        axes: ['b', 0, 1, 'c'],
        num_classes: 3,
    },
    model: %(model)s,
    algorithm: %(algorithm)s,
    extensions: [%(extensions)s],
}
"""

_SMALL_MODEL = """!obj:pylearn2.models.mlp.MLP {
        seed: %(model_seed)d,
        batch_size: 10,
        input_space: !obj:pylearn2.space.Conv2DSpace {
            shape: [7, 7],
            num_channels: 1,
            axes: ['b', 0, 1, 'c'],
        },
        layers: [
            !obj:pylearn2.models.mlp.ConvRectifiedLinear {
                layer_name: 'h0',
                output_channels: 6,
                kernel_shape: [3, 3],
                pool_shape: [2, 2],
                pool_stride: [2, 2],
                irange: 0.5,
                max_kernel_norm: 1.0,
            },
            !obj:pylearn2.models.mlp.RectifiedLinear {
                layer_name: 'h1',
                dim: 10,
                sparse_init: 15,
                max_col_norm: 1.0,
            },
            !obj:pylearn2.models.mlp.Tanh {
                layer_name: 'h2',
                dim: 8,
                irange: 0.35,
                max_row_norm: 1.0,
            },
            !obj:pylearn2.models.mlp.Softmax {
                layer_name: 'y',
                n_classes: 3,
                istdev: 0.5,
                max_col_norm: 1.0,
            },
        ],
    }"""

SGD = """!obj:pylearn2.training_algorithms.sgd.SGD {
        learning_rate: .01,
        batch_size: 10,
        monitoring_dataset: { 'train': *train },
        termination_criterion: !obj:pylearn2.termination_criteria.EpochCounter {
            max_epochs: %(max_epochs)d,
        },
    }"""


def push_monitor_model(pkl_path, transfer_experience=True,
                       save_records=False, name='old'):
    """The ``model:`` value that resumes ``pkl_path`` the pylearn2 way."""
    return ("""!obj:pylearn2.monitor.push_monitor {
        model: !pkl: '%s',
        name: '%s',
        transfer_experience: %s,
        save_records: %s,
    }""" % (pkl_path.replace("'", "''"), name, bool(transfer_experience),
            bool(save_records)))


def extension_yaml(**options):
    """``!obj:normsafe_init.NormSafeInit {...}`` with ``options`` (values
    written with ``repr``-like YAML: str quoted, bool/None as YAML)."""
    items = []
    for key in sorted(options):
        value = options[key]
        if isinstance(value, bool):
            text = 'true' if value else 'false'
        elif value is None:
            text = 'null'
        elif isinstance(value, (list, tuple)):
            text = '[%s]' % ', '.join("'%s'" % v for v in value)
        elif isinstance(value, str):
            text = "'%s'" % value
        else:
            text = repr(value)
        items.append('%s: %s' % (key, text))
    return '!obj:normsafe_init.NormSafeInit { %s }' % ', '.join(items)


def train_yaml(extensions=(), algorithm=True, max_epochs=1, model_seed=5,
               model=None):
    """YAML of the small ``Train``.

    ``extensions``: YAML snippets (see :func:`extension_yaml`);
    ``algorithm``: True for SGD with a ``'train'`` monitoring dataset
    (channels are then named ``train_<layer>_...``), False for
    ``algorithm: null`` (``Train.setup`` compiles only
    ``enforce_constraints``; the monitor has no dataset, so no channels);
    ``model``: a YAML snippet replacing the MLP (e.g.
    :func:`push_monitor_model`)."""
    if model is None:
        model = _SMALL_MODEL % {'model_seed': model_seed}
    return _SMALL_TRAIN % {
        'model': model,
        'algorithm': (SGD % {'max_epochs': max_epochs}) if algorithm
        else 'null',
        'extensions': ', '.join(extensions)}


def load_train(yaml_text, extensions_before=(), extensions_after=()):
    """``yaml_parse.load`` a ``Train`` and put extra extension objects
    (e.g. probes) before and after the YAML ones."""
    from pylearn2.config import yaml_parse
    train = yaml_parse.load(yaml_text)
    train.extensions = (list(extensions_before) + list(train.extensions)
                        + list(extensions_after))
    return train


# -- processes ----------------------------------------------------------------
def train_script():
    """Path of pylearn2's ``scripts/train.py``."""
    import pylearn2
    return os.path.join(os.path.dirname(pylearn2.__file__), 'scripts',
                        'train.py')


