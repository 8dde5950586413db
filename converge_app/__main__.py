"""``python -m converge_app``: the ``converge`` command (see :mod:`converge_app.cli`)."""

import sys

from converge_app.cli import main

sys.exit(main())
