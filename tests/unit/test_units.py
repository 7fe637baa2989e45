from __future__ import annotations

import pytest

from slim_bake.units import format_size, parse_growth, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (17808, 17808),
        ("17808", 17808),
        ("20kB", 20_000),
        ("20 kB", 20_000),
        ("1.5MB", 1_500_000),
        ("1GB", 1_000_000_000),
        ("32KiB", 32_768),
        ("64MiB", 64 * 1024 * 1024),
        ("2GiB", 2 * 1024**3),
        ("100B", 100),
    ],
)
def test_sizes_mean_exactly_one_thing(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("20kb", "lower-case k"),
        ("20KB", "lower-case k"),
        ("20 megabytes", "unknown unit"),
        ("MB", "not a size"),
        ("1.5B", "whole number"),
        (-1, "negative"),
        (True, "not a size"),
        ("5%", "not a size"),
    ],
)
def test_ambiguous_sizes_are_errors(text: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_size(text)


def test_growth_is_a_percentage_or_a_size() -> None:
    assert parse_growth("5%") == ("percent", 5.0)
    assert parse_growth("10kB") == ("bytes", 10_000.0)
    assert parse_growth(300) == ("bytes", 300.0)


def test_sizes_print_like_docker_images() -> None:
    assert format_size(17_808) == "17.8kB"
    assert format_size(682_696) == "683kB"
    assert format_size(164_000_000) == "164MB"
    assert format_size(999) == "999B"
    assert format_size(-2_500) == "-2.5kB"
