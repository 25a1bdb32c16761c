"""`python -m canaria` is the `canaria` command."""

from canaria.cli import main

main()
