"""What the host shows about training: signals a torch model or optimizer
carries besides its weight values.

- per weight: the optimizer holds state for its tensor (Adam moments, an
  SGD momentum buffer; ``optimizer.state[param]`` non-empty) ->
  ``evidence`` "the optimizer holds state for it" on that weight;
- per model: the optimizer holds state for any parameter; a BatchNorm
  layer whose ``num_batches_tracked`` is at least
  :data:`BATCHNORM_TRAINED` (it is part of ``state_dict()``, so it also
  comes with ``load_state_dict`` and skorch's ``load_params``).

Why 100 batches: each forward in train mode adds 1, and what runs before
training (a shape check, a summary, a sanity batch or two) stays far
below; 100 is a fraction of one epoch of most training sets, and a
pretrained model has tracked thousands. A count below it proves nothing
either way, so it is not reported.

skorch: ``initialize()`` + ``load_params(f_params=...)`` leaves no mark of
its own (the module's tensors are overwritten in place, the history stays
empty); what it loads carries the signals above (BatchNorm counters,
optimizer state with ``f_optimizer``). A model without either is judged
from its weight values alone.
"""
import torch

__all__ = ['BATCHNORM_TRAINED', 'optimizer_trained', 'batchnorm_trained',
           'model_trained', 'add_evidence']

#: ``num_batches_tracked`` from which a BatchNorm layer shows training.
BATCHNORM_TRAINED = 100

_STATE = 'the optimizer holds state for it'


def _check_optimizer(optimizer):
    if optimizer is not None and not isinstance(optimizer,
                                                torch.optim.Optimizer):
        raise ValueError('optimizer must be a torch.optim.Optimizer or None; '
                         'got %r' % type(optimizer).__name__)


def optimizer_trained(optimizer):
    """Why ``optimizer`` shows training (a non-empty state: Adam moments,
    SGD momentum buffers), or None."""
    _check_optimizer(optimizer)
    if optimizer is None:
        return None
    state = [s for s in optimizer.state.values() if s]
    if state:
        return ('the optimizer holds state for %d parameter(s)'
                % len(state))
    return None


def batchnorm_trained(model, threshold=BATCHNORM_TRAINED):
    """Why ``model``'s BatchNorm counters show training, or None."""
    best = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.modules.batchnorm._NormBase) and \
                getattr(module, 'num_batches_tracked', None) is not None:
            count = int(module.num_batches_tracked)
            if count >= threshold and (best is None or count > best[1]):
                best = (name, count)
    if best is None:
        return None
    return ('BatchNorm %s has tracked %d batches (>= %d)'
            % (best[0] or '(model)', best[1], threshold))


def model_trained(model, optimizer=None):
    """The first model-level signal of training, or None: BatchNorm
    counters, and (only when given: skorch's ``load_params(f_optimizer=
    ...)`` restores state for parameters that may not be constrained)
    optimizer state."""
    return batchnorm_trained(model) or optimizer_trained(optimizer)


def add_evidence(weights, optimizer):
    """Add "the optimizer holds state for it" to the ``evidence`` of every
    weight whose stored tensor has optimizer state; returns their names."""
    _check_optimizer(optimizer)
    if optimizer is None:
        return []
    names = []
    for weight in weights:
        if optimizer.state.get(weight.tensor) and _STATE not in \
                weight.evidence:
            weight.evidence.append(_STATE)
            names.append(weight.name)
    return names
