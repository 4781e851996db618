"""`python -m linkcheck`: the same command line as the `linkcheck` script."""
from .cli import main

main()
