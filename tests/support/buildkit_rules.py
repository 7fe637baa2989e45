"""A Dockerfile reader that follows BuildKit's parser (moby/buildkit frontend/dockerfile/parser
parser.go): lines split at \\n (scanLines); an instruction line has its trailing \\r/\\n trimmed;
blank lines and `#` comment lines skipped, also inside a continuation; a line ending in the escape
character followed by blanks continues on the next; RUN/COPY/ADD read heredoc words
(`<<[-]["']NAME["']`) from their line and take the following lines verbatim up to one that,
with its trailing \\r and \\n trimmed (trimNewline), equals NAME. dockerfile-parse knows
no heredocs, so the tests use this to see what BuildKit sees."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_CONTINUATION = re.compile(r"\\[ \t]*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)(.*)$")  # parser.go reHeredoc: ^(\d*)<<(-?)([^<]*)$


@dataclass
class Instruction:
    keyword: str  # upper case
    line: str  # the instruction's text, continuations joined
    heredocs: list[tuple[str, str]] = field(default_factory=list)  # (name, content)


def _heredoc_names(line: str) -> list[tuple[str, bool]]:
    names = []
    try:
        words = shlex.split(line, posix=True)
    except ValueError:
        return []
    raw_words = line.split()
    for word, raw in zip(words, raw_words, strict=False):
        match = _HEREDOC.match(raw)
        if match and "<" not in match.group(3) and match.group(3):
            name = _HEREDOC.match(word)
            names.append((name.group(3) if name else match.group(3), match.group(2) == "-"))
    return names


def parse(text: str) -> list[Instruction]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    result: list[Instruction] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r").lstrip(" \t")
        i += 1
        if not line or line.startswith("#"):
            continue
        while _CONTINUATION.search(line) and i < len(lines):
            line = _CONTINUATION.sub("", line)
            nxt = lines[i].rstrip("\r").lstrip(" \t")
            i += 1
            if not nxt or nxt.startswith("#"):
                continue
            line += nxt
        line = _CONTINUATION.sub("", line)
        keyword = line.split(None, 1)[0].upper()
        ins = Instruction(keyword, line)
        if keyword in ("RUN", "COPY", "ADD"):
            for name, chomp in _heredoc_names(line):
                body = []
                while i < len(lines):
                    candidate = lines[i].rstrip("\r")
                    candidate = candidate.lstrip("\t") if chomp else candidate
                    i += 1
                    if candidate == name:
                        break
                    body.append(lines[i - 1] + "\n")
                else:
                    raise ValueError(f"unterminated heredoc {name}")
                ins.heredocs.append((name, "".join(body)))
        result.append(ins)
    return result


def stage_names(instructions: list[Instruction]) -> list[str]:
    names = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.line.split()
            names.append(words[3] if len(words) == 4 and words[2].upper() == "AS" else "")
    return names


def as_dicts(text: str) -> list[dict[str, str]]:
    """The instructions in dockerfile-parse's shape (instruction, value, content), with a
    RUN heredoc's script in `script` and in `content` (so equal contents mean equal RUNs)."""
    result = []
    for ins in parse(text):
        value = ins.line.split(None, 1)[1] if " " in ins.line.strip() else ""
        script = "".join(content for _, content in ins.heredocs)
        content = ins.line + ("\n" + script if script else "")
        result.append(
            {"instruction": ins.keyword, "value": value, "content": content, "script": script}
        )
    return result


def run_commands(script: str) -> list[str]:
    """A RUN heredoc's commands: one a line, after slim's `set -e`/`set -eu`."""
    lines = script.removesuffix("\n").split("\n")  # sh splits at \n only, not at \u2028
    assert lines and lines[0] in ("set -e", "set -eu"), lines[:1]
    return lines[1:]
