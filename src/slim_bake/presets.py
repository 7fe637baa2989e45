"""The runtime, base and language presets: data files shipped in slim_bake/presets."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _text(folder: str, name: str) -> str:
    return resources.files("slim_bake").joinpath(folder, name).read_text(encoding="utf-8")


@cache
def _yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load(_text("presets", name))
    assert isinstance(data, dict)
    return data


def runtimes() -> dict[str, Any]:
    return _yaml("runtimes.yaml")


def bases() -> dict[str, Any]:
    return _yaml("bases.yaml")


def languages() -> dict[str, Any]:
    return _yaml("languages.yaml")


@cache
def closure_script() -> str:
    return _text("presets", "closure.sh")


@cache
def schema(name: str = "slim") -> dict[str, Any]:
    data = json.loads(schema_text(name))
    assert isinstance(data, dict)
    return data


def schema_text(name: str = "slim") -> str:
    return _text("schemas", f"{name}.schema.json")


def packagers() -> dict[str, Any]:
    return _yaml("packagers.yaml")


def detection() -> dict[str, Any]:
    """How `slim init` recognises a repository (presets/init.yaml)."""
    return _yaml("init.yaml")
