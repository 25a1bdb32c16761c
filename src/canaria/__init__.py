"""canaria: autonomous canary deployments with a statistical judge."""

__version__ = "0.1.0"
__all__ = ["__version__"]
