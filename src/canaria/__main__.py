"""`python -m canaria` is the `canaria` command."""

from canaria.cli.main import main

main()
