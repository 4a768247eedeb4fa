"""``python -m worker.cli``: the same command line as ``herald``."""

from worker.cli import main

main()
