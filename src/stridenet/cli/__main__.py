"""``python -m stridenet.cli``: the same as the ``stridenet`` command."""

import sys

from . import main

sys.exit(main())
