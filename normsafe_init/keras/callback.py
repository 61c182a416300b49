"""``NormSafeInit``: the Keras callback. Keras applies ``MaxNorm`` /
``MinMaxNorm`` only after each optimizer step; ``on_train_begin`` runs after
the model is built and before that first step, so it still sees the raw
draw. ``on_epoch_end`` adds the epoch metrics to the logs.
"""
import logging
import warnings

from .. import run
from .._logging import ensure_visible
from ..options import (DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE,
                       Options, check_flag)
from ..report import metrics as epoch_metrics
from . import _compat
from ._compat import keras
from .discovery import find_constrained

__all__ = ['NormSafeInit', 'RECORD_ATTR', 'model_looks_trained',
           'unbuilt_message']

log = logging.getLogger('normsafe_init.keras')

#: Attribute of the model holding the last record.
RECORD_ATTR = '_normsafe_init_record'


def model_looks_trained(model):
    """Why ``model`` must be treated as trained (its optimizer has taken
    steps), or None; the core also judges each weight from its values."""
    steps = _compat.optimizer_steps(getattr(model, 'optimizer', None))
    if steps:
        return 'optimizer.iterations = %d' % steps
    return None


def unbuilt_message(model):
    """Why ``model`` cannot be processed yet and how to fix it, or None
    when it has its variables."""
    if _compat.is_built(model):
        return None
    return ('normsafe_init: model %r has no variables yet (a model without '
            'an Input is built by its first call on data; in fit that is '
            'the first training step, whose constraint already clips the '
            'initial draw). Build it first: start it with keras.Input('
            'shape), or call model.build((None, ...)), or call it once on '
            'a batch (model(x[:1])) before fit / audit' % (model.name,))


class NormSafeInit(keras.callbacks.Callback):
    """Make a Keras model's initial weights respect their max-norm
    constraints, before the first optimizer step clips them.

    Example (a head like EEGNet's; the INFO lines go to stderr)::

        >>> import numpy as np
        >>> from normsafe_init.keras import NormSafeInit
        >>> from normsafe_init.keras._compat import keras   # or tf.keras
        >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
        ...     4, activation='softmax', name='head',
        ...     kernel_constraint=keras.constraints.max_norm(0.25))])
        >>> model.compile('sgd', 'sparse_categorical_crossentropy')
        >>> cb = NormSafeInit(fraction=0.5)
        >>> x = np.random.RandomState(0).randn(8, 64).astype('float32')
        >>> history = model.fit(x, np.arange(8) % 4, epochs=1, verbose=0,
        ...                     callbacks=[cb])
        >>> cb.record['changed']
        ['head']
        >>> history.history['normsafe_head_max_over_limit'][0] < 1
        True

    Parameters
    ----------
    fraction, action, confidence, mode, seed, layers, exclude, force
        As :class:`normsafe_init.options.Options`. ``reinit`` draws from
        the variable's declared initializer (an initializer without a
        known law, ``Orthogonal``, falls back to ``rescale``); ``layers``
        / ``exclude`` also take ``'<layer>/<variable>'`` names and nested
        ``'<block>/<layer>'`` names (an RNN's name selects its cell's).
    metrics : bool, default True
        Add ``normsafe_<name>_max_over_limit`` and ``normsafe_<name>_pinned``
        to the logs at every epoch end.

    Attributes
    ----------
    options : normsafe_init.options.Options
    record : dict or None
        What the last ``on_train_begin`` found and did (JSON-serialisable);
        also kept on the model as ``model._normsafe_init_record``.
    weights : list of KerasWeight
        The selected constrained variables (those the metrics follow).
    """

    def __init__(self, fraction=DEFAULT_FRACTION, action='rescale',
                 confidence=DEFAULT_CONFIDENCE, mode=DEFAULT_MODE, seed=0,
                 layers=None, exclude=None, force=False, metrics=True):
        super().__init__()
        self.options = Options(fraction, action, confidence, mode, seed,
                               layers, exclude, force)
        self.metrics = check_flag(metrics, 'metrics')
        self.record = None
        self.weights = []

    def on_train_begin(self, logs=None):
        ensure_visible()
        model = self.model
        problem = unbuilt_message(model)
        if problem is not None:
            if self.options.action != 'report':
                raise ValueError(problem)
            log.warning('%s', problem)
            warnings.warn(problem, stacklevel=2)
            return
        weights, unknown = find_constrained(model)
        result = run.run(weights, self.options, unknown=unknown,
                         trained=model_looks_trained(model),
                         previous=getattr(model, RECORD_ATTR, None),
                         log=log, framework='keras', force_hint='NormSafeInit(force=True)')
        self.weights = result.weights
        self.record = result.record
        # Not through Layer.__setattr__: the record is no tracked state.
        object.__setattr__(model, RECORD_ATTR, result.record)

    def on_epoch_end(self, epoch, logs=None):
        if self.metrics and logs is not None and self.weights:
            logs.update(epoch_metrics(self.weights))  # NaN once diverged
