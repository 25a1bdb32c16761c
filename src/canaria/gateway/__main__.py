"""`python -m canaria.gateway -c canaria.yaml`: the gateway in the foreground, without the CLI's imports."""

from __future__ import annotations

import argparse
import logging
import sys

from canaria.config import load_config
from canaria.errors import CanariaError
from canaria.gateway.server import run_gateway


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m canaria.gateway", description=__doc__)
    parser.add_argument("-c", "--config", default="canaria.yaml", help="config file (default canaria.yaml)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from canaria.state.gateway_feed import store_providers

        config = load_config(args.config)
        status, metrics = store_providers(config)
        run_gateway(config, status_provider=status, metrics_provider=metrics)
    except CanariaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
