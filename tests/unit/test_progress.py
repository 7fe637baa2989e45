"""buildx's rawjson progress: which targets broke, and the plain display slim shows.

The messages are written as buildx 0.13.1 writes them (indented JSON objects, log data
in base64); the real-engine check is in test_bake_cli.py."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from slim_bake.progress import BuildxProgress, target_of

T0 = "2026-12-02T19:57:31.218543101Z"
T1 = "2026-12-02T19:57:32.518543101Z"
CANCELLED = "process did not complete successfully: exit code: 137: context canceled"


def stream(*messages: dict[str, Any]) -> list[str]:
    """buildx's stderr: each message an indented object, then its error summary."""
    text = "".join(json.dumps(m, indent=2) + "\n" for m in messages)
    return [*text.splitlines(keepends=True), "ERROR: failed to solve: exit code: 1\n"]


def vertex(digest: str, name: str, *inputs: str, **state: Any) -> dict[str, Any]:
    return {"vertexes": [{"digest": digest, "name": name, "inputs": list(inputs), **state}]}


def run(lines: list[str]) -> tuple[BuildxProgress, list[str]]:
    shown: list[str] = []
    progress = BuildxProgress(shown.append)
    progress.read(lines)
    return progress, shown


def test_the_target_whose_vertex_failed_is_broken_and_cancelled_ones_are_not() -> None:
    progress, shown = run(
        stream(
            vertex("a", "[ok build 2/2] RUN cc", started=T0),
            vertex("b", "[bad build 2/2] RUN cc", started=T0),
            vertex("b", "[bad build 2/2] RUN cc", started=T0, completed=T1, error="exit code: 1"),
            vertex("a", "[ok build 2/2] RUN cc", started=T0, completed=T1, error=CANCELLED),
        )
    )
    assert progress.broken(["ok", "bad"]) == {"bad"}
    assert shown == [
        "#1 [ok build 2/2] RUN cc",
        "#2 [bad build 2/2] RUN cc",
        "#2 ERROR: exit code: 1",
        "#1 CANCELED",
        "ERROR: failed to solve: exit code: 1",
    ]


def test_a_process_killed_by_the_cancellation_is_not_broken_by_itself() -> None:
    """A compiler SIGKILLed when another target failed (exit code 137) is cancelled even
    where its error lacks "context canceled". Once, with --output registry, slim left two
    good targets out as broken beside the bad one; their progress was not kept, and an
    error of this form is the one way the code could have counted them."""
    killed = 'process "/bin/sh -c cc" did not complete successfully: exit code: 137'
    progress, _ = run(
        stream(
            vertex("b", "[bad build 2/2] RUN cc", started=T0, completed=T1, error="exit code: 1"),
            vertex("a", "[ok build 2/2] RUN cc", started=T0, completed=T1, error=killed),
        )
    )
    assert progress.broken(["ok", "bad"]) == {"bad"}


def test_a_failed_vertex_shared_by_several_targets_breaks_each_that_depends_on_it() -> None:
    """BuildKit shows a shared build stage under one target's name; the runtime stage of
    the other target names it among its inputs (it never started)."""
    progress, _ = run(
        stream(
            vertex("build", "[one build 4/4] RUN cc", started=T0, completed=T1, error="exit 1"),
            vertex("rt1", "[one runtime 2/2] COPY --from=build", "build"),
            vertex("rt2", "[two runtime 2/2] COPY --from=build", "base2", "build"),
            vertex("rt3", "[three runtime 2/2] COPY --from=build", "other"),
            vertex("other", "[three build 4/4] RUN cc", started=T0, completed=T1, error=CANCELLED),
        )
    )
    assert progress.broken(["one", "two", "three"]) == {"one", "two"}
    assert progress.broken(["two", "three"]) == {"two"}  # only targets of this bake


def test_a_bake_of_one_target_has_no_prefixes_and_that_target_is_the_broken_one() -> None:
    progress, _ = run(stream(vertex("x", "[build 4/4] RUN cc", completed=T1, error="exit 1")))
    assert progress.broken(["alone"]) == {"alone"}


def test_no_failed_vertex_names_no_target() -> None:
    progress, _ = run(
        stream(vertex("x", "[a build 1/1] RUN cc", started=T0, completed=T1, error=CANCELLED))
    )
    assert progress.broken(["a", "b"]) == set()


def test_the_display_is_buildx_plain_format() -> None:
    log = {"vertex": "v", "stream": 2, "data": base64.b64encode(b"warning: x\nline 2\n").decode()}
    status = {"id": "naming to example/hello:scratch", "vertex": "v", "completed": T1}
    _, shown = run(
        stream(
            vertex("v", "[t] exporting to image", started=T0),
            {"logs": [log]},
            {"statuses": [status]},
            vertex("v", "[t] exporting to image", started=T0, completed=T1),
            vertex("c", "[t build 1/2] COPY . .", started=T0, completed=T1, cached=True),
            {},
        )
    )
    assert shown == [
        "#1 [t] exporting to image",
        "#1 warning: x",
        "#1 line 2",
        "#1 naming to example/hello:scratch done",
        "#1 DONE 1.3s",
        "#2 [t build 1/2] COPY . .",
        "#2 CACHED",
        "ERROR: failed to solve: exit code: 1",
    ]


def test_prefixes() -> None:
    assert target_of("[hello-scratch-musl build 4/5] RUN x") == "hello-scratch-musl"
    assert target_of("[hello-scratch-musl] exporting to image") == "hello-scratch-musl"
    assert target_of("[internal] load local bake definitions") == "internal"
    assert target_of("exporting to image") == ""


@given(st.binary(max_size=200), st.text(max_size=60))
def test_no_build_output_can_repaint_the_terminal_or_start_a_workflow_command(
    data: bytes, name: str
) -> None:
    """Whatever a build prints or names a step, every line slim shows from the stream
    starts with `#N ` and carries no control character (tab aside)."""
    log = {"vertex": "v", "data": base64.b64encode(data).decode()}
    _, shown = run(
        stream(
            vertex("v", name, started=T0),
            {"logs": [log]},
            vertex("v", name, started=T0, completed=T1, error=name),
        )
    )
    for line in shown[:-1]:
        assert line.startswith("#1 ")
        assert all(ch == "\t" or ch.isprintable() for ch in line), line


def test_a_log_line_split_across_messages_is_shown_whole() -> None:
    """BuildKit sends a step's output in chunks that cut lines anywhere: the display
    joins them (`Compiling ripgrep v13.0.0` must not appear as three lines)."""
    lines: list[str] = []
    progress = BuildxProgress(lines.append)

    def log(data: bytes) -> str:
        record = {"vertex": "sha256:a", "stream": 1, "data": base64.b64encode(data).decode()}
        return json.dumps({"logs": [record]})

    started = {
        "digest": "sha256:a",
        "name": "[t build 2/2] RUN make",
        "started": "2026-12-02T00:00:00Z",
    }
    progress.read(
        [
            json.dumps({"vertexes": [started]}),
            log(b"   Compiling rip"),
            log(b"grep v13.0.0\nsecond "),
            log(b"line\nunfinished"),
        ]
    )
    assert lines == [
        "#1 [t build 2/2] RUN make",
        "#1    Compiling ripgrep v13.0.0",
        "#1 second line",
        "#1 unfinished",
    ]
