"""What may reach a RUN line of a Dockerfile: the checks of every slim.yaml field that
holds a shell command or an image, also the backstop of render/dockerfile.py's run_script."""

from __future__ import annotations

import unicodedata

from slim_bake.config.model import RUN_TERMINATOR, STAGE_NAMES


def shell_command_problem(command: str) -> str | None:
    """Why `command` cannot be one line of a RUN heredoc script, or None. Every field
    that holds a shell command (a base's setup, a profile's post steps, a custom build's
    command) is checked here.

    - a line break or another control character: BuildKit and sh would read more lines;
    - a line equal to the heredoc's terminator would end the script there, and what
      follows would become Dockerfile instructions;
    - `<<`: a shell heredoc would swallow slim's following commands;
    - a backslash at the end, blanks or not: refused rather than neutralised. On a RUN
      line BuildKit reads `\\` + blanks as a continuation; in the script sh reads `\\ `
      as an escaped blank, which an editor or pre-commit hook trimming trailing blanks
      turns into a continuation joining slim's next command. Stripping the blanks
      ourselves would change the command's meaning behind the user's back."""
    bad = sorted({c for c in command if unicodedata.category(c) == "Cc" and c != "\t"})
    if bad:
        return f"must be one line without control characters (found {', '.join(map(repr, bad))})"
    if "<<" in command:
        return "must not contain '<<' (a heredoc would swallow slim's next commands)"
    return script_line_problem(command)


def script_line_problem(line: str) -> str | None:
    """Why `line` (a command, or a shell word in one) would not stay one line of a RUN
    heredoc, or None: the structural part of shell_command_problem, also the backstop
    of render/dockerfile.py's run_script."""
    if "\n" in line or "\r" in line:
        return "must be one line"
    if line.strip() == RUN_TERMINATOR:
        return f"{RUN_TERMINATOR!r} ends slim's RUN scripts and cannot be a command"
    if line.rstrip().endswith("\\"):
        return "must not end in a backslash (with or without blanks after it)"
    return None


def stage_name_problem(image: str) -> str | None:
    """Why `image` cannot be a base image, or None: `FROM build` means the stage."""
    if image.lower() in STAGE_NAMES:
        return (
            f"image {image!r} is the name of a stage slim writes ({', '.join(STAGE_NAMES)}):"
            f" FROM {image} would use that stage; write it with a tag or registry"
            f" (e.g. {image}:latest)"
        )
    return None
