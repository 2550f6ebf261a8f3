"""`python -m daemon` is `instantly-sync`."""

import sys

from daemon.cli import main

sys.exit(main())
