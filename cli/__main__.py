"""`python -m ledgerdesk.cli` runs the same command as `ledgerdesk`."""

import sys

from ledgerdesk.cli import main

sys.exit(main())
