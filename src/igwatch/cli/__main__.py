"""``python -m igwatch.cli``: the igwatch command."""

from igwatch.cli import main

main()
