"""Layer: the command line (Typer + Rich), the top of the house.

One module per command group (`rollout`, `records`, `notify`, `demo`, `dashboard`), each with `register(app)`;
`main` assembles the app; `common` holds the shared options and error handling. Nothing outside `canaria.cli`
imports it.
"""
