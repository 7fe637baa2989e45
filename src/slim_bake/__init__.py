"""slim: small container images by default."""

from __future__ import annotations

__version__ = "0.1.0"
