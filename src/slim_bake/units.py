"""Sizes with explicit units: kB/MB/GB are powers of 1000 (as `docker images` prints),
KiB/MiB/GiB powers of 1024, a bare integer is bytes. Anything else is an error."""

from __future__ import annotations

import re

_UNITS = {
    "B": 1,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_size(value: object) -> int:
    """Bytes for `value`; raises ValueError with a message fit for a user."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a size")
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a size (use e.g. 20kB, 1.5MB, 64MiB or bytes)")
    number, unit = match.group(1), match.group(2) or "B"
    if unit not in _UNITS:
        hint = " (kB is spelled with a lower-case k)" if unit.lower() == "kb" else ""
        raise ValueError(
            f"{value!r}: unknown unit {unit!r}; use B, kB, MB, GB, KiB, MiB or GiB{hint}"
        )
    if unit == "B" and "." in number:
        raise ValueError(f"{value!r}: a byte count is a whole number")
    return round(float(number) * _UNITS[unit])


def parse_growth(value: object) -> tuple[str, float]:
    """("percent", p) or ("bytes", n) for a max_growth value such as '5%' or '10kB'."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return "percent", float(match.group(1))
    return "bytes", float(parse_size(value))


def format_size(n: float) -> str:
    """A decimal size as `docker images` prints it: 17.8kB, 682.7kB, 164MB."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if n >= factor:
            value = n / factor
            text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
            return f"{sign}{text}{unit}"
    return f"{sign}{int(n)}B"
