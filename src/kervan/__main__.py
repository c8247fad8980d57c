"""`python -m kervan` runs the command line."""

from kervan.cli import main

main()
