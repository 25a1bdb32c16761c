"""Layer: the composition root and the drivers.

`app` builds the object graph (config → store, platform, metrics provider, controller, notifications);
`runner` drives `canaria run`; `demo` drives `canaria demo`; `preflight` is `canaria check`.
The CLI and the dashboard call these; nothing below imports them.
"""
