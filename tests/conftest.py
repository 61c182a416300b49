"""Shared pytest configuration.

Theano reads THEANO_FLAGS once, when it is first imported, so the default is
set here, before any test module can import it: no BLAS library to link
(blas.ldflags= empty), float32 like pylearn2 models usually are, and one fixed
compile cache shared with .ci/run so that compiled graphs are reused between
runs.  A THEANO_FLAGS already set in the environment wins.
"""
import os

os.environ.setdefault(
    'THEANO_FLAGS',
    'blas.ldflags=,floatX=float32,base_compiledir='
    + os.path.join(os.path.expanduser('~'), '.cache', 'normsafe_init', 'theano'))
