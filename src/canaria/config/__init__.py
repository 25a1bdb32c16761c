"""Layer: canaria.yaml — the validated configuration model, one module per section.

`model` is the root (`CanariaConfig`, `load_config`, errors that name the field and the YAML line); the section
models live beside it (`platform`, `analysis`, `prometheus`, `notify`, `observability`, `dashboard`, `custom_metrics`).
Imports only `canaria.errors` and `canaria.foundation`, so every layer may read its settings from here.
"""

from canaria.config import model
from canaria.config.model import *  # noqa: F403 — the root model's public names are the package's

__all__ = list(model.__all__)
