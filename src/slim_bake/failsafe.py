"""What happens when slim is stopped or breaks: SIGTERM unwinds like Ctrl-C (so every
`finally` and `except BaseException` runs and temporary files are removed), and an
exception slim did not expect is written, with its traceback, to a file whose path is
printed on one line, never as a traceback in the log."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` swallows it on the way up."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def terminate_unwinds() -> Iterator[None]:
    """Within: SIGTERM raises Terminated (restored after, for callers such as tests
    that run main() in-process). Only the main thread can install a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def quiet_signals() -> None:
    """Once slim is stopping, a second Ctrl-C or SIGTERM must not interrupt its last
    words with a traceback."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def write_traceback(exc: BaseException) -> Path | None:
    """The full traceback in a new file under the cache folder (or the temporary
    folder when that cannot be written); None when neither can."""
    from slim_bake import __version__
    from slim_bake.measure import cache_dir

    text = f"slim {__version__}, Python {sys.version.split()[0]}, argv {sys.argv!r}\n\n"
    text += "".join(traceback.format_exception(exc))
    name = f"crash-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.txt"
    for folder in (cache_dir() / "crashes", Path(os.environ.get("TMPDIR", "/tmp"))):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            with path.open("x", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(text)
            return path
        except OSError:
            continue
    return None


def one_line(text: str, limit: int = 200) -> str:
    """`text` on one line of printable characters (an exception's message can quote
    anything)."""
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text[:limit]
    )
    return shown + ("…" if len(text) > limit else "")
