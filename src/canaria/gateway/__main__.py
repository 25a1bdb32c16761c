"""`python -m canaria.gateway -c canaria.yaml`: the gateway in the foreground, without the CLI's imports.

An error it stops on is the same line `canaria gateway` prints (canaria.i18n.error_line), in the same language:
--lang, else the config's `lang` (read from the raw YAML when the file does not load), else LANG."""

from __future__ import annotations

import argparse
import logging
import sys

from canaria.config import CanariaConfig, load_config
from canaria.config.lang_hint import declared_lang
from canaria.errors import CanariaError, ConfigError
from canaria.gateway.server import run_gateway
from canaria.i18n import LANGS, resolve_lang
from canaria.i18n.error_line import error_line


def _error_lang(flag: str | None, exc: CanariaError, config: CanariaConfig | None, path: str) -> str:
    if flag is None and config is None and isinstance(exc, ConfigError):
        declared = declared_lang(path)
        if declared is not None:
            return declared
    return resolve_lang(flag, config.lang if config else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m canaria.gateway", description=__doc__)
    parser.add_argument("-c", "--config", default="canaria.yaml", help="config file (default canaria.yaml)")
    parser.add_argument("--lang", choices=LANGS, default=None, help="language of messages (default: the config's "
                        "lang, else LANG)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config: CanariaConfig | None = None
    try:
        from canaria.state.gateway_feed import store_providers

        config = load_config(args.config)
        status, metrics = store_providers(config)
        run_gateway(config, status_provider=status, metrics_provider=metrics)
    except CanariaError as exc:
        print(error_line(exc, _error_lang(args.lang, exc, config, args.config)), file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
