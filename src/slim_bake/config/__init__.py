"""slim.yaml → the typed model, in three phases, each its own module:

    parse     (parse.py, on loader.py)   YAML with the file:line:column of every value
    validate  (validate.py)              the JSON Schema (schema.py), then the checks it
                                         cannot express (checks.py, paths.py, shell.py),
                                         every problem collected (problems.py) and told at once
    resolve   (resolve.py)               presets, profiles and defaults applied, lists merged
                                         or replaced, into frozen records (model.py)

The package imports only presets, loader, units and errors: never plan or render. The
later stages import what they need from here (`from slim_bake.config import Config`)."""

from __future__ import annotations

from pathlib import Path

from slim_bake.config.model import (
    CUSTOM_LANGUAGE,
    DEBUG_SUFFIX,
    GENERATED_SUFFIXES,
    RUN_TERMINATOR,
    STAGE_NAMES,
    Artifact,
    Assertions,
    Attest,
    Base,
    Budget,
    BuildSettings,
    Config,
    CopySpec,
    CustomBuild,
    Files,
    Profile,
    RuntimeContents,
    Secret,
    Smoke,
    split_runtime,
)
from slim_bake.config.parse import parse
from slim_bake.config.paths import repository_root
from slim_bake.config.problems import did_you_mean
from slim_bake.config.resolve import merge_list, resolve
from slim_bake.config.schema import schema_check
from slim_bake.config.shell import script_line_problem, shell_command_problem, stage_name_problem
from slim_bake.config.validate import validate
from slim_bake.errors import ConfigError
from slim_bake.loader import Document

__all__ = [
    "CUSTOM_LANGUAGE",
    "DEBUG_SUFFIX",
    "GENERATED_SUFFIXES",
    "RUN_TERMINATOR",
    "STAGE_NAMES",
    "Artifact",
    "Assertions",
    "Attest",
    "Base",
    "Budget",
    "BuildSettings",
    "Config",
    "CopySpec",
    "CustomBuild",
    "Files",
    "Profile",
    "RuntimeContents",
    "Secret",
    "Smoke",
    "did_you_mean",
    "load_config",
    "merge_list",
    "parse_config",
    "schema_check",
    "script_line_problem",
    "shell_command_problem",
    "split_runtime",
    "stage_name_problem",
]


def load_config(path: Path) -> Config:
    """slim.yaml at `path` → the model; ConfigError (exit 2) with every problem."""
    return parse_config(parse(path), path)


def parse_config(doc: Document, path: Path) -> Config:
    """An already parsed slim.yaml (e.g. `slim init`'s draft) → the model."""
    path = path.resolve()
    root = repository_root(path.parent)
    problems = validate(doc, path, root)
    if problems:
        raise ConfigError(problems)
    return resolve(doc, path, root)
