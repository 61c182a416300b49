"""Monitor channels showing how close each constrained layer sits to its
limit during training (imports Theano and pylearn2; used at setup), for each
constraint of each selected layer, on the first monitoring dataset:
``normsafe_<layer>_<kind>_max_over_limit`` (``max ||w|| / limit``) and
``normsafe_<layer>_<kind>_pinned`` (the fraction of vectors within
``PINNED_RTOL`` of the limit, i.e. held there by the constraint).

Unlike the Keras and PyTorch epoch metrics, these names always carry the
constraint's kind (``col``, ``row``, ``kernel``), as pylearn2's own
``<layer>_col_norms_max`` channels do: they were published that way, and
users' monitor histories and ``MonitorBasedSaveBest(channel_name=...)``
configs name them.

A name already present is left as it is (a second ``setup`` does not fail)
unless the monitor resolves conflicts itself (``push_monitor(...,
save_records=True)`` copies the old channels without their graphs and sets
``on_channel_conflict='copy_history'``): then it is added again.
"""
from __future__ import absolute_import, division, print_function

from ..norms import PINNED_RTOL

__all__ = ['channel_names', 'add_channels']


def channel_names(weight, constraint):
    """The two channel names for one constraint of one layer."""
    stem = 'normsafe_%s_%s' % (weight.name, constraint.kind)
    return stem + '_max_over_limit', stem + '_pinned'


def add_channels(model, weights, log):
    """Add the channels of ``weights`` to ``model.monitor``; returns the
    names added."""
    monitor = getattr(model, 'monitor', None)
    datasets = getattr(monitor, '_datasets', None) if monitor else None
    if not datasets:
        log.info('normsafe_init: the monitor has no dataset; no channels '
                 'added')
        return []
    import theano.tensor as T
    from pylearn2.space import NullSpace
    from pylearn2.utils import as_floatX

    skip_existing = getattr(monitor, 'on_channel_conflict', 'error') == 'error'
    added = []
    for weight in weights:
        W = weight.variable
        if weight.mask is not None:
            W = W * as_floatX(weight.mask)
        for constraint in weight.constraints:
            names = channel_names(weight, constraint)
            if skip_existing and any(name in monitor.channels
                                     for name in names):
                continue
            norms = T.sqrt(T.sqr(W).sum(axis=constraint.axes))
            limit = as_floatX(constraint.limit)
            max_over = norms.max() / limit
            pinned = T.mean(T.le(abs(norms - limit),
                                 as_floatX(PINNED_RTOL * constraint.limit)))
            for name, value in zip(names, (max_over, pinned)):
                monitor.add_channel(name=name, ipt=None,
                                    val=T.cast(value, W.dtype),
                                    data_specs=(NullSpace(), ''),
                                    dataset=datasets[0])
                added.append(name)
    if added:
        log.info('normsafe_init: added monitor channels %s', ', '.join(added))
    return added
