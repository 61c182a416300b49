"""A PyTorch tensor described for the core: read as numpy, written in
place; and the small helpers every torch discovery path shares."""
import math
import numbers

import numpy as np
import torch
from torch.nn.utils.parametrize import type_before_parametrizations

from ..weights import Constraint, ConstrainedWeight

__all__ = ['TorchWeight', 'to_numpy', 'positive_number', 'integer',
           'renorm_constraint', 'dotted']

# dtypes numpy has no type for are read as float32 and written back cast.
_NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64)


def positive_number(value):
    """Whether ``value`` is a finite real number > 0 (not a bool)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def integer(value):
    """Whether ``value`` is an integer (not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def renorm_constraint(attr, dim, ndim, limit):
    """The Constraint of ``renorm(p=2, dim=dim, maxnorm=limit)`` on an
    ``ndim``-D tensor (the slices along ``dim`` are normed: every other
    axis summed), or None if ``dim`` is not an integer axis of it."""
    if not integer(dim) or not -ndim <= dim < ndim:
        return None
    dim = int(dim) % ndim
    return Constraint(attr, 'dim%d' % dim,
                      tuple(i for i in range(ndim) if i != dim), float(limit))


def dotted(*parts):
    """``'a.b.c'`` from the non-empty ``parts``."""
    return '.'.join(p for p in parts if p)


def to_numpy(tensor):
    """A numpy array of ``tensor``'s value (a view of a CPU tensor when the
    dtype allows; never written through)."""
    value = tensor.detach()
    if value.dtype not in _NUMPY_DTYPES:
        value = value.to(torch.float32)
    if value.device.type != 'cpu':
        value = value.cpu()
    return value.numpy()


class TorchWeight(ConstrainedWeight):
    """One constrained tensor of a ``torch.nn.Module``: ``name`` as the
    model exposes it (``'final_layer.weight'``), ``path`` the stored
    tensor's name (``'final_layer.parametrizations.weight.original'``),
    ``tensor`` the stored ``nn.Parameter`` (written with ``copy_`` under
    ``torch.no_grad()``), ``module`` its owner, ``init_source`` what the
    family rests on (an assumed default, ``init=``, or None), ``sources``
    where each constraint was found.
    """

    def __init__(self, name, path, tensor, module, constraints, sources,
                 family=None, family_note=None, init_source=None, mask=None):
        dtype = (tensor.dtype if tensor.dtype in _NUMPY_DTYPES
                 else torch.float32)
        ConstrainedWeight.__init__(
            self, name, constraints, tuple(tensor.shape),
            torch.empty((), dtype=dtype).numpy().dtype, family=family,
            family_note=family_note, mask=mask, path=path,
            class_name=type_before_parametrizations(module).__name__,
            label=name.rsplit('.', 1)[-1],
            assumed=(init_source or '').startswith('assumed'),
            eps=(torch.finfo(tensor.dtype).eps
                 if tensor.dtype.is_floating_point else None))
        self.tensor = tensor
        self.module = module
        self.sources = list(sources)
        self.init_source = init_source

    def check_writable(self):
        """``ValueError`` naming this weight if its stored tensor cannot be
        written in place (an inference tensor, the ``meta`` device)."""
        tensor = self.tensor
        if tensor.device.type == 'meta':
            raise ValueError('%s (%s) is on the meta device: it has no values '
                             'to read or write (materialise the model, e.g. '
                             'to_empty() and its init, first)'
                             % (self.name, self.path))
        if tensor.is_inference():
            raise ValueError('%s (%s) is an inference tensor (created under '
                             'torch.inference_mode()): it cannot be changed '
                             'in place; rebuild or clone the model outside '
                             'inference mode' % (self.name, self.path))

    def read(self):
        if self.tensor.device.type == 'meta':
            self.check_writable()
        return to_numpy(self.tensor)

    def write(self, value):
        value = np.ascontiguousarray(value)
        if tuple(value.shape) != tuple(self.tensor.shape):
            raise ValueError('value for %s has shape %r; the tensor has %r'
                             % (self.name, value.shape,
                                tuple(self.tensor.shape)))
        with torch.no_grad():
            self.tensor.copy_(torch.from_numpy(value))

    def as_dict(self):
        out = ConstrainedWeight.as_dict(self)
        out.update({'torch_dtype': str(self.tensor.dtype).replace(
                        'torch.', ''),
                    'device': str(self.tensor.device),
                    'init_source': self.init_source,
                    'sources': self.sources})
        return out
