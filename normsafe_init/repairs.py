"""Repairs that bring a weight tensor's vector norms under a target ``t``
(what each does: :mod:`normsafe_init.plan`).

Each is a *plan* computed from the norms (:func:`plan_rescale`,
:func:`plan_clip`), applied by :func:`apply_factors`, so a caller can plan
every layer before changing any; the one-call forms (:func:`rescale`,
:func:`clip`, :func:`reinit`) work in place on a numpy array, keeping its
dtype and shape. A zero-norm vector is never divided by.
"""
from __future__ import absolute_import, division, print_function

import numpy as np

from ._validation import check_positive
from .norms import vector_norms

__all__ = ['EPSILON', 'plan_rescale', 'plan_clip', 'apply_factors',
           'rescale', 'clip', 'reinit']

#: Floor of the divisor, as in pylearn2's ``T.maximum(1e-7, norms)``.
EPSILON = 1e-7


def _check_weight(W, name):
    if not isinstance(W, np.ndarray):
        raise TypeError('%s must be a numpy array; got %s'
                        % (name, type(W).__name__))
    if W.dtype.kind != 'f':
        raise TypeError('%s must be a floating-point array; got dtype %s'
                        % (name, W.dtype))
    if not W.flags.writeable:
        raise ValueError('%s is read-only; repairs work in place' % name)


def plan_rescale(norms, target):
    """The factor ``t / max(norms)`` (1.0 for an all-zero tensor)."""
    target = check_positive(target, 'target')
    top = float(np.max(norms)) if np.size(norms) else 0.0
    if top <= 0.0:
        return 1.0
    return target / top


def plan_clip(norms, target):
    """Per-vector factors: ``t / max(norm, 1e-7)`` where ``norm > t``, else
    exactly 1.0 (float64, the shape of ``norms``)."""
    target = check_positive(target, 'target')
    norms = np.asarray(norms, dtype=np.float64)
    factors = np.ones_like(norms)
    above = norms > target
    factors[above] = target / np.maximum(norms[above], EPSILON)
    return factors


def apply_factors(W, axes, factors):
    """``W *= factors`` in place, ``factors`` being a scalar or one value per
    vector (the shape of ``W`` without ``axes``), rounded to ``W``'s dtype
    (one pass in that dtype). A factor of exactly 1.0 leaves its vector
    bit-identical."""
    if np.ndim(factors) == 0:
        if float(factors) != 1.0:
            W *= W.dtype.type(factors)
        return W
    factors = np.asarray(factors, dtype=np.float64).astype(W.dtype)
    # Re-insert the summed axes as length-1 axes so factors broadcast.
    shape = list(W.shape)
    for axis in np.atleast_1d(axes):  # an int axis too, as vector_norms
        shape[axis] = 1
    W *= factors.reshape(shape)
    return W


def rescale(W, axes, target, name='W', mask=None):
    """Scale ``W`` in place so that its largest vector norm is ``target``;
    returns the factor (:func:`plan_rescale`). ``mask`` (pylearn2
    ``mask_weights``) only affects which norms are measured."""
    _check_weight(W, name)
    factor = plan_rescale(vector_norms(W, axes, mask=mask, name=name), target)
    apply_factors(W, axes, factor)
    return factor


def clip(W, axes, target, name='W', mask=None):
    """Project every vector of ``W`` whose norm exceeds ``target`` onto
    ``target``, in place. Returns the per-vector factors (1.0 = unchanged).
    """
    _check_weight(W, name)
    factors = plan_clip(vector_norms(W, axes, mask=mask, name=name), target)
    apply_factors(W, axes, factors)
    return factors


def reinit(W, family, axes, rng, name='W', mask=None):
    """Overwrite ``W`` in place with a fresh draw of ``family`` (pylearn2's
    draw semantics, see :meth:`InitFamily.draw`), using ``rng`` (a dedicated
    ``numpy.random.RandomState``; never the model's own)."""
    _check_weight(W, name)
    if not isinstance(rng, np.random.RandomState):
        raise TypeError('rng must be a numpy.random.RandomState; got %s'
                        % type(rng).__name__)
    family.draw(W.shape, axes, rng, mask=mask, out=W)
    return W
