"""``python -m depthstyle`` runs the command-line interface."""

import sys

from depthstyle.cli import main

if __name__ == "__main__":
    sys.exit(main())
