"""`python -m eqlearn` runs the command-line tool."""
import sys

from eqlearn.cli import main

sys.exit(main())
