"""What a torch model or optimizer shows about training besides its
weight values: optimizer state for a weight's tensor (evidence on that
weight), and BatchNorm layers that tracked at least
:data:`BATCHNORM_TRAINED` batches (``num_batches_tracked`` is part of
``state_dict()``, so ``load_state_dict`` and skorch's ``load_params``
bring it along).

Why 100 batches: what runs before training (a shape check, a sanity
batch) stays far below, and a pretrained model has tracked thousands; a
lower count proves nothing either way.
"""
import torch

__all__ = ['BATCHNORM_TRAINED', 'batchnorm_trained', 'add_evidence']

#: ``num_batches_tracked`` from which a BatchNorm layer shows training.
BATCHNORM_TRAINED = 100

_STATE = 'the optimizer holds state for it'


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


def add_evidence(weights, optimizer):
    """Add "the optimizer holds state for it" to the ``evidence`` of every
    weight whose stored tensor has optimizer state (Adam moments, a
    momentum buffer); returns their names."""
    if optimizer is None:
        return []
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError('optimizer must be a torch.optim.Optimizer or None; '
                         'got %r' % type(optimizer).__name__)
    names = []
    for weight in weights:
        if optimizer.state.get(weight.tensor) and _STATE not in \
                weight.evidence:
            weight.evidence.append(_STATE)
            names.append(weight.name)
    return names
