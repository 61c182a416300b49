"""The pylearn2 adapter: layer knowledge, the ``NormSafeInit`` training
extension, its monitor channels and the ``check`` command.

Nothing here imports pylearn2 or Theano at import time, so
``!obj:normsafe_init.NormSafeInit`` resolves in any environment.
"""
from __future__ import absolute_import, division, print_function

from .extension import NormSafeInit

__all__ = ['NormSafeInit']
