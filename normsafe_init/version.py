"""The package's version, in a module of its own so that ``run`` (which logs
and records it) need not import the package ``__init__``."""
__version__ = '0.1.0'
