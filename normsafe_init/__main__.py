"""``python -m normsafe_init``: the command line (see :mod:`normsafe_init.cli`)."""
from __future__ import absolute_import

import sys

from normsafe_init.cli import main

if __name__ == '__main__':
    sys.exit(main())
