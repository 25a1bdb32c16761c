"""The `dashboard:` section of canaria.yaml: where the dashboard listens and who may act through it.

Tokens have names so the event log says *who* approved or rolled back; the secrets are SecretStr so
they never appear in a config dump or a traceback.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from canaria.foundation.addresses import parse_address

__all__ = ["MIN_TOKEN_LENGTH", "DashboardConfig"]

MIN_TOKEN_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def _check_tokens(tokens: dict[str, SecretStr]) -> dict[str, SecretStr]:
    for name, secret in tokens.items():
        if not _NAME.match(name):
            raise ValueError(f"token name '{name}' must be letters, digits, '_', '.', '@' or '-' (max 64)")
        if len(secret.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"token '{name}' is shorter than {MIN_TOKEN_LENGTH} characters; use a long random "
                             "value, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(24))'`")
    return tokens


class DashboardConfig(BaseModel):
    """`tokens` may read and act; `read_tokens` may only read (a 403 on actions)."""

    model_config = ConfigDict(extra="forbid")

    listen: str = Field(default="127.0.0.1:8080", description="HOST:PORT; loopback unless you mean otherwise")
    tokens: dict[str, SecretStr] = Field(default_factory=dict, description="name -> bearer token (act + read)")
    read_tokens: dict[str, SecretStr] = Field(default_factory=dict, description="name -> bearer token (read)")
    read_token_required: bool = False

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:

        parse_address(value)
        return value

    _tokens = field_validator("tokens", "read_tokens")(_check_tokens)

    @model_validator(mode="after")
    def _distinct(self) -> DashboardConfig:
        both = {**{f"tokens.{k}": v for k, v in self.tokens.items()},
                **{f"read_tokens.{k}": v for k, v in self.read_tokens.items()}}
        seen: dict[str, str] = {}
        for where, secret in both.items():
            value = secret.get_secret_value()
            if value in seen:
                raise ValueError(f"{where} has the same secret as {seen[value]}; every person needs their own token")
            seen[value] = where
        overlap = set(self.tokens) & set(self.read_tokens)
        if overlap:
            raise ValueError(f"token name(s) {sorted(overlap)} appear in both tokens and read_tokens")
        return self
