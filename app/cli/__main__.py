"""``python -m app.cli``: the ``ocean-explorer`` command line."""

import sys

from app.cli import main

sys.exit(main())
