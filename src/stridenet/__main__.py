"""``python -m stridenet``: the same as the ``stridenet`` command."""

import sys

from .cli import main

sys.exit(main())
