"""Packaging for normsafe_init.

The core (norms, the laws of initial norms, solver, repairs, the run every
adapter shares, the ``solve`` command) needs only numpy and scipy.  The
pylearn2 extension and the ``check`` command need pylearn2 and Theano, which
the user already has in their training environment; they are not declared
here because pylearn2 is on no package index.  The Keras and PyTorch
adapters come with the ``keras`` and ``torch`` extras (Python 3.10+).
"""
import io
import os
import re

from setuptools import find_packages, setup

HERE = os.path.abspath(os.path.dirname(__file__))


def read_version():
    path = os.path.join(HERE, 'normsafe_init', 'version.py')
    with io.open(path, encoding='utf-8') as handle:
        match = re.search(r"^__version__ = '([^']+)'", handle.read(), re.M)
    return match.group(1)


def read_readme():
    with io.open(os.path.join(HERE, 'README.md'), encoding='utf-8') as handle:
        return handle.read()


setup(
    name='normsafe_init',
    version=read_version(),
    description=('Initial weights consistent with their max-norm constraints, '
                 'in pylearn2, Keras and PyTorch.'),
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=['tests', 'tests.*', 'benchmarks']),
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    install_requires=['numpy', 'scipy'],
    extras_require={
        'test': ['pytest', 'hypothesis', 'pyyaml'],
        'plot': ['matplotlib'],
        # The Keras and PyTorch adapters need Python 3.10+.  Keras runs on
        # the torch backend here (torch installs from the package index and
        # runs on CPU); any Keras 3 backend works.
        'keras': ['keras>=3; python_version >= "3.10"',
                  'torch; python_version >= "3.10"'],
        'torch': ['torch; python_version >= "3.10"',
                  'braindecode; python_version >= "3.10"',
                  'skorch; python_version >= "3.10"'],
        # Other PyTorch EEG libraries whose max-norm layers the torch
        # adapter finds (their tests skip without them).  torcheeg 1.1.3
        # caps scipy at 1.10.1, which would downgrade scipy (and numpy)
        # under torch; 1.1.2 has the same models without that cap.
        'eeg': ['torcheeg!=1.1.3; python_version >= "3.10"',
                'speechbrain; python_version >= "3.10"',
                'metabci; python_version >= "3.10"'],
    },
    entry_points={
        'console_scripts': ['normsafe-init = normsafe_init.cli:main'],
    },
    classifiers=[
        'Programming Language :: Python :: 2.7',
        'Programming Language :: Python :: 3',
        'Intended Audience :: Science/Research',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
