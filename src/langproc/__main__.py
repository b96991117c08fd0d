"""`python -m langproc` is the `langproc` command."""

from langproc.cli import main

main()
