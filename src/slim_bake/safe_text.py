"""Text that quotes input, made harmless for a terminal and for a CI log.

Two rules, one module, used wherever slim prints:

1. `visible(value)`: every value from slim.yaml, a report, an image or the engine is
   passed through it before it is put in a message, a table cell or a line. It writes
   as Python escapes (\\n, \\x1b, \\u202e) the characters that act instead of showing:
   - C0 controls, DEL and C1 controls (Unicode category Cc): line breaks, backspace,
     BEL, ESC and the 8-bit CSI/OSC (U+009B, U+009D), which move the cursor, repaint
     the screen or set a window title;
   - U+2028 and U+2029 (categories Zl, Zp), line breaks to many viewers and editors;
   - the bidirectional controls (Unicode's Bidi_Control property: U+061C, U+200E,
     U+200F, U+202A-U+202E, U+2066-U+2069), which reorder what a line shows;
   - lone surrogates (category Cs: a file name that is not UTF-8, read with
     surrogateescape), which no UTF-8 stream can write: printing one would crash.
   Other format characters (zero-width joiners in emoji, soft hyphens, word joiners)
   are left alone: they cannot break a line or hide what a line says.
   A value can then never start a new line: the only line breaks are slim's own.

2. `write(text)` / `say(line)`: every line slim prints goes through them. Under GitHub
   Actions (GITHUB_ACTIONS=true) the runner reads each line of a step's stdout and
   stderr for workflow commands (actions/runner, ActionCommand.cs): `::name ...::`
   at the start of the line after leading white space is trimmed (`TryParseV2`), and
   the legacy `##[name ...]` anywhere in the line (`TryParse`). A value can still be
   first on a line (a target name in a table's first column) or anywhere in it, so
   each line is defused there: a leading `::` is written `\\x3a:` and every `##[` is
   written `##\\x5b`, in the same escape style as rule 1. Only a command slim means
   (github.actions.workflow_command) is written with `meant=True`. JSON is written with
   `json_text`, which spells `[` after `##` as the JSON escape `\\u005b`: the same
   document to a parser, and no command to the runner."""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from typing import Any, Protocol

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ACTING_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_LEGACY_COMMAND = "##["


class Stream(Protocol):
    """What slim writes to: sys.stdout, sys.stderr, a test's StringIO."""

    def write(self, text: str, /) -> object: ...


def is_acting(ch: str) -> bool:
    """True for a character a terminal or a log viewer acts on instead of showing."""
    return unicodedata.category(ch) in _ACTING_CATEGORIES or ch in _BIDI_CONTROLS


def visible(text: str) -> str:
    """`text` with every acting character written as a Python escape (\\n, \\x1b…)."""
    if text.isprintable():  # the common case; isprintable() is False for all acting ones
        return text
    return "".join(repr(ch)[1:-1] if is_acting(ch) else ch for ch in text)


def printable(text: str, limit: int = 300) -> str:
    """`visible(text)` cut to `limit` characters: server text (a URL, an API message)
    quoted in a log line."""
    out = visible(text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


def under_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def defuse(line: str) -> str:
    """`line` with nothing the Actions runner would take for a workflow command."""
    line = line.replace(_LEGACY_COMMAND, "##\\x5b")
    # The runner trims .NET white space; str.lstrip() trims a superset of it.
    rest = line.lstrip()
    if rest.startswith("::"):
        line = line[: len(line) - len(rest)] + "\\x3a" + rest[1:]
    return line


def write(text: str, stream: Stream | None = None, *, meant: bool = False) -> None:
    """Write `text` (slim's own lines, values already `visible`) to `stream` (stdout
    by default). Under GitHub Actions each line is defused unless `meant`: slim
    itself writes that workflow command."""
    out = sys.stdout if stream is None else stream
    if under_actions() and not meant:
        text = "".join(defuse(line) for line in text.splitlines(keepends=True))
    out.write(text)


def say(line: str, stream: Stream | None = None, *, meant: bool = False) -> None:
    """`print(line)` through `write`, flushed: messages interleave with buildx's."""
    out = sys.stdout if stream is None else stream
    write(line + "\n", out, meant=meant)
    flush = getattr(out, "flush", None)
    if flush is not None:
        flush()


def warn(line: str) -> None:
    """A message on stderr, its values quoted whatever slim put in it."""
    say(visible(line), sys.stderr)


def json_text(data: Any) -> str:
    """`data` as indented JSON (ASCII), with no legacy workflow command in it."""
    text = json.dumps(data, indent=2)
    return text.replace(_LEGACY_COMMAND, "##\\u005b") + "\n"
