"""``NormSafeInit``: the Keras callback (Keras 3 on any backend; Keras 2 as
TensorFlow 2.15 bundles it, or ``tf_keras`` under ``TF_USE_LEGACY_KERAS=1``).

Keras applies ``MaxNorm`` / ``MinMaxNorm`` only after each optimizer step,
so the first step silently projects every vector drawn above the limit onto
it (EEGNet's ``Dense(4, kernel_constraint=max_norm(0.25))`` on 64 features
starts with glorot_uniform norms ~1.37, 5.5x the limit). ``on_train_begin``
runs after the model is built and before that first step: it is the one
place that still sees the raw draw. There the callback measures every
max-norm-constrained variable, lets the core plan every change
(:func:`normsafe_init.session.run`, shared with the pylearn2 extension),
assigns the planned values in place, logs one line per variable and a
summary, and keeps a JSON-serialisable record. ``on_epoch_end`` adds
``normsafe_<layer>_max_over_limit`` and ``normsafe_<layer>_pinned`` to the
epoch logs (progress bar, ``History``, ``CSVLogger``, and a
``TensorBoard`` placed after this callback).

A model that has no variables at ``on_train_begin`` (with Keras 2 and
Keras 3's tensorflow backend, a ``Sequential`` without an ``Input`` is built
inside its first training step, after which that step's constraint has
already clipped the draw) cannot be repaired by a callback: it raises
``ValueError`` saying how to build the model first (with
``action='report'``: a warning).
"""
import logging
import sys
import warnings

from .._logging import ensure_visible
from ..defaults import DEFAULT_CONFIDENCE, DEFAULT_FRACTION, DEFAULT_MODE
from .. import session
from . import _compat
from ._compat import keras
from .discovery import find_constrained

__all__ = ['NormSafeInit', 'RECORD_ATTR', 'model_looks_trained',
           'options_for_model', 'unbuilt_message']

log = logging.getLogger('normsafe_init.keras')

#: Attribute of the model holding the last record (and marking it done).
RECORD_ATTR = '_normsafe_init_record'

_FORCE_HINT = 'NormSafeInit(force=True)'


def model_looks_trained(model):
    """Why ``model`` must be treated as trained, or None: its optimizer has
    taken steps (a second ``fit``, a model loaded with its optimizer state),
    or it carries a normsafe_init record already."""
    steps = _compat.optimizer_steps(getattr(model, 'optimizer', None))
    if steps:
        return 'optimizer.iterations = %d' % steps
    if getattr(model, RECORD_ATTR, None) is not None:
        return 'it already carries a normsafe_init record'
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


def options_for_model(options, weights, unknown):
    """``options`` with layer names expanded to weight names: ``layers=
    ['sep']`` selects ``'sep/depthwise_kernel'`` and
    ``'sep/pointwise_kernel'``. Names that are neither stay as given (the
    core rejects them, listing the known names)."""
    names = [w.name for w in weights] + [u.name for u in unknown]
    by_layer = {}
    for weight in weights:
        by_layer.setdefault(weight.layer_name, []).append(weight.name)

    def expand(wanted):
        if wanted is None:
            return None
        out = []
        for name in wanted:
            extra = [name] if name in names else by_layer.get(name, [name])
            out.extend(n for n in extra if n not in out)
        return out

    layers, exclude = expand(options.layers), expand(options.exclude)
    if layers == options.layers and exclude == options.exclude:
        return options
    return session.Options(options.fraction, options.action,
                           options.confidence, options.mode, options.seed,
                           layers, exclude, options.force)


def _check_flag(value, name):
    if not isinstance(value, bool):
        raise ValueError('%s must be True or False; got %r' % (name, value))
    return value


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
    fraction : float in (0, 1], default 0.5
        Target ``t = fraction x`` each constraint's ``max_value``.
    action : {'rescale', 'clip', 'reinit', 'report'}, default 'rescale'
        ``rescale``: the variable times ``t / max norm``; ``clip``: each
        vector above ``t`` onto ``t`` (others bit-identical); ``reinit``:
        redraw from the declared initializer at the largest scale keeping
        every vector under ``t`` with probability ``confidence``, from a
        dedicated ``numpy.random.RandomState(seed)`` (an initializer without
        a known law, e.g. ``Orthogonal``, falls back to ``rescale``, logged);
        ``report``: change nothing.
    confidence : float in (0, 1), default 0.99
    mode : {'max', 'mean'}, default 'max'
    seed : int in [0, 2**32), default 0
        Seed of ``reinit``'s generator; Keras's global seed generator is
        never used.
    layers, exclude : list of str, optional
        Only / not these layer names (or ``'<layer>/<variable>'`` names; an
        RNN's name selects its cell's variables; a layer inside a nested
        model as ``'<block>/<layer>'``).
    force : bool, default False
        Also act on a model whose optimizer has taken steps or that was
        already processed; without it such a model is only reported.
    metrics : bool, default True
        Add ``normsafe_<name>_max_over_limit`` and ``normsafe_<name>_pinned``
        to the logs at every epoch end.

    Attributes
    ----------
    options : normsafe_init.session.Options
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
        self.options = session.Options(fraction, action, confidence, mode,
                                       seed, layers, exclude, force)
        self.metrics = _check_flag(metrics, 'metrics')
        self.record = None
        self.result = None
        self.weights = []

    def on_train_begin(self, logs=None):
        ensure_visible(stream=sys.stderr)
        model = self.model
        problem = unbuilt_message(model)
        if problem is not None:
            if self.options.action != 'report':
                raise ValueError(problem)
            log.warning('%s', problem)
            warnings.warn(problem, stacklevel=2)
            return
        weights, unknown = find_constrained(model)
        options = options_for_model(self.options, weights, unknown)
        for weight in weights:
            for note in weight.notes:
                log.info('normsafe_init: %s: %s', weight.name, note)
        trained = model_looks_trained(model)
        result = session.run(weights, options, unknown=unknown,
                             trained=trained, log=log, framework='keras',
                             force_hint=_FORCE_HINT)
        self.result = result
        self.weights = [w for w, _, _ in result.planned]
        record = result.record
        previous = getattr(model, RECORD_ATTR, None)
        if previous is not None:
            record['previous'] = previous
        self.record = record
        # Not through Layer.__setattr__: the record is no tracked state.
        object.__setattr__(model, RECORD_ATTR, record)

    def on_epoch_end(self, epoch, logs=None):
        if self.metrics and logs is not None and self.weights:
            logs.update(session.metrics(self.weights))  # NaN once diverged

