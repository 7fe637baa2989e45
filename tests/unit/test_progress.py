"""buildx's rawjson progress: which targets broke, and the plain display slim shows.

The messages are written as buildx 0.13.1 writes them (indented JSON objects, log data
in base64); the real-engine check is in test_bake_cli.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
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


def test_a_push_step_that_ends_with_another_targets_failure_is_not_broken() -> None:
    """With --output registry and the docker driver, buildx pushes each built image in a
    step of its own (`[T] pushing … with docker`); when another target broke, those steps
    end with the whole solve's error, the other target's failure quoted (seen on
    CI-like runs: every good target that had reached its push was left out as broken)."""
    other = 'failed to solve: process "/bin/sh -c cc" did not complete successfully: exit code: 1'
    connect = f'error during connect: Post "http://%2Fvar%2Frun%2Fdocker.sock/push": {other}'
    progress, _ = run(
        stream(
            vertex("b", "[bad build 2/2] RUN cc", started=T0, completed=T1, error="exit code: 1"),
            vertex("p", "[ok] pushing r/ok:1 with docker", started=T0, completed=T1, error=other),
            vertex(
                "q", "[ok2] pushing r/ok:2 with docker", started=T0, completed=T1, error=connect
            ),
        )
    )
    assert progress.broken(["ok", "ok2", "bad"]) == {"bad"}


def test_a_build_cache_not_read_or_not_written_breaks_no_target() -> None:
    """`slim bake --cache registry`: on a first run each target's cache import fails, and a
    cache that cannot be written fails its export (ignore-error=true), as buildx 0.13.1
    shows them; BuildKit builds and exports on. Only the target whose own step failed is
    broken, in a bake of several targets and of one."""
    missing = "failed to configure registry cache importer: r/ok:a-buildcache: not found"
    refused = 'error writing layer blob: failed to do request: Head "https://r/v2/…": refused'
    progress, _ = run(
        stream(
            vertex("i", "[ok] importing cache manifest from r/ok:a-buildcache", error=missing),
            vertex("j", "[bad] importing cache manifest from r/ok:b-buildcache", error=missing),
            vertex("e", "[ok] exporting cache to registry", started=T0, error=refused),
            vertex("b", "[bad build 2/2] RUN cc", started=T0, completed=T1, error="exit code: 1"),
        )
    )
    assert progress.broken(["ok", "bad"]) == {"bad"}
    alone, _ = run(stream(vertex("i", "importing cache manifest from r/ok:a", error=missing)))
    assert alone.broken(["ok"]) == set()


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


# --- When a target's image is in the store ---------------------------------------------------

RECORDED = Path(__file__).parent.parent / "data" / "rawjson"
# What the engine gives as the image ID (docker image inspect's .Id, checked when the
# streams were recorded with buildx 0.13.1 on docker 26.1): the config digest in the
# classic store, the index digest in the containerd store.
IMAGE_ID = {
    "classic": "containerimage.config.digest",
    "alone": "containerimage.config.digest",
    "containerd": "containerimage.digest",
}


def recorded(name: str) -> tuple[list[str], dict[str, Any]]:
    lines = (RECORDED / f"{name}.rawjson").read_text().splitlines(keepends=True)
    return lines, json.loads((RECORDED / f"{name}.metadata.json").read_text())


@pytest.mark.parametrize("name", sorted(IMAGE_ID))
def test_each_target_is_announced_when_its_image_is_exported_with_its_image_id(
    name: str,
) -> None:
    """Recorded `docker buildx bake --load --progress=rawjson` streams: every target is
    announced once, and the digests its export wrote hold the ID the engine gives the
    image (that is what slim compares the tag with before it measures early)."""
    lines, metadata = recorded(name)
    announced: list[tuple[str, tuple[str, ...]]] = []
    progress = BuildxProgress(lambda _: None, lambda t, w: announced.append((t, w)), metadata)
    progress.read(lines)
    assert sorted(t for t, _ in announced) == sorted(metadata)
    for target, wrote in announced:
        assert metadata[target][IMAGE_ID[name]] in wrote
    assert progress.exports == dict(announced)


def test_a_target_is_announced_while_the_others_still_build() -> None:
    """Announced as its export ends, not when the stream does: the first target's
    announcement comes while the other's export has not ended."""
    lines, metadata = recorded("classic")
    ended_then: list[set[str]] = []
    progress = BuildxProgress(lambda _: None, lambda t, w: ended_then.append(set(progress.exports)))
    read = 0
    for line in lines:
        progress.feed(line)
        read += 1
        if ended_then and read < len(lines):
            break
    assert len(ended_then) == 1 and len(ended_then[0]) == 1 and read < len(lines)
    (first,) = ended_then[0]
    (other,) = set(metadata) - {first}
    assert not any(
        v.name == f"[{other}] exporting to image" and v.completed
        for v in progress.vertices.values()
    )


def test_the_display_is_the_same_whether_exports_are_watched_or_not() -> None:
    lines, metadata = recorded("containerd")
    plain: list[str] = []
    watched: list[str] = []
    BuildxProgress(plain.append).read(lines)
    BuildxProgress(watched.append, lambda t, w: None, metadata).read(lines)
    assert watched == plain and any("exporting to image" in line for line in plain)


def export_status(vertex_digest: str, text: str) -> dict[str, Any]:
    return {"statuses": [{"id": text, "vertex": vertex_digest, "completed": T1}]}


IMAGE = "sha256:" + "ab" * 32


def test_an_export_that_failed_or_was_cancelled_is_not_announced() -> None:
    announced: list[str] = []
    progress = BuildxProgress(lambda _: None, lambda t, w: announced.append(t), ["a", "b"])
    progress.read(
        stream(
            export_status("ea", f"writing image {IMAGE}"),
            vertex("ea", "[a] exporting to image", started=T0, completed=T1, error=CANCELLED),
            vertex("eb", "[b] exporting to image", started=T0, completed=T1, error="no space"),
        )
    )
    assert announced == [] and progress.exports == {}


def test_only_an_export_of_a_target_of_this_bake_is_announced() -> None:
    announced: list[str] = []
    progress = BuildxProgress(lambda _: None, lambda t, w: announced.append(t), ["a", "b"])
    progress.read(
        stream(
            vertex("i", "[internal] exporting to image", started=T0, completed=T1),
            vertex("o", "[other] exporting to image", started=T0, completed=T1),
            vertex("x", "exporting to image", started=T0, completed=T1),  # whose? not said
            vertex("r", "[a build 2/2] RUN exporting to image", started=T0, completed=T1),
            vertex("b", "[b] exporting to image", started=T0, completed=T1),
        )
    )
    assert announced == ["b"]


def test_the_digests_written_are_kept_when_the_export_ends_in_the_same_message() -> None:
    """A message can carry an export's last statuses and its end together."""
    announced: list[tuple[str, tuple[str, ...]]] = []
    progress = BuildxProgress(lambda _: None, lambda t, w: announced.append((t, w)), ["a", "b"])
    end = vertex("e", "[a] exporting to image", started=T0, completed=T1)
    both = {**end, **export_status("e", f"exporting manifest list {IMAGE}")}
    progress.read(stream(both))
    assert announced == [("a", (IMAGE,))]
