"""What happens when slim is stopped or breaks, in one handler (`guarded`) that turns
every way a command can end into an exit code and at most a few lines on stderr:

- a SlimError (errors.py): its message, its exit code (a ConfigError: every diagnostic);
- stdout closed by its reader (`slim report … | head`): one line, exit 2;
- another OSError (a file in the way, a permission): its message, exit 2;
- any other exception, a bug in slim: one line, exit 4, the traceback in a file whose
  path is printed, never a traceback in the log;
- Ctrl-C: exit 130; SIGTERM unwinds like Ctrl-C (so every `finally` and `except
  BaseException` runs and temporary files are removed): exit 143."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from slim_bake.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ConfigError,
    SlimError,
)
from slim_bake.safe_text import say, warn


def guarded(body: Callable[[], int]) -> int:
    """Run `body` (a command) and return its exit code, or the one its ending maps to."""
    try:
        with terminate_unwinds():
            return _handled(body)
    except KeyboardInterrupt:
        quiet_signals()
        warn("slim: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        quiet_signals()
        warn("slim: terminated")
        return EXIT_TERMINATED


def _handled(body: Callable[[], int]) -> int:
    try:
        result = body()
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return result
    except ConfigError as exc:
        for diagnostic in exc.diagnostics:
            say(str(diagnostic), sys.stderr)  # each one line, its values quoted
        return exc.exit_code
    except SlimError as exc:
        warn(f"slim: {exc}")
        return exc.exit_code
    except BrokenPipeError:  # our reader went away (`slim report … | head`)
        _drop_stdout()
        warn("slim: output closed early (broken pipe)")
        return EXIT_USAGE
    except OSError as exc:  # a file or folder in the way, a permission: not a bug to trace
        warn(f"slim: {exc}")
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line, the traceback in a file
        path = write_traceback(exc)
        where = f"; traceback in {path}" if path else ""
        what = one_line(f"{type(exc).__name__}: {exc}")
        warn(f"slim: internal error (a bug in slim): {what}{where}")
        return EXIT_INTERNAL


def _drop_stdout() -> None:
    """Point stdout at /dev/null: Python's flush at exit would fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):  # not a real file (in tests)
        pass


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
    from slim_bake.cachedir import cache_dir

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
