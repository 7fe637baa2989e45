"""The sticky pull-request comment, over real HTTP against a GitHub-API stand-in on
127.0.0.1 (tests/github_api_standin.py): found again by its marker, updated in place,
never duplicated; the fork case (403) falls back to the job summary with a notice.
Then the same stand-in misbehaving on purpose: redirects elsewhere, dripping and endless
answers, malformed bodies, rate limits, forged markers, hostile text, long reports."""

from __future__ import annotations

import ast
import email.utils
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cmarkgfm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.github_api_standin import TOO_LONG, GitHubStandin, Misbehaviour

from slim_bake import safe_text
from slim_bake.github import actions, client, comment

REPO = "octo/app"
PR = 7
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
REPORT = "### slim\n\n| target | size |\n|---|---|\n| hello-scratch-musl | 17.8 kB |\n"


@pytest.fixture
def api() -> Iterator[GitHubStandin]:
    standin = GitHubStandin().start()
    yield standin
    standin.stop()


def pr_event(tmp_path: Path, number: int = PR) -> Path:
    event = {
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "head": {"sha": HEAD_SHA}},
        "repository": {"full_name": REPO},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


def runner_env(tmp_path: Path, api: GitHubStandin, **extra: str) -> dict[str, str]:
    summary = tmp_path / "summary.md"
    summary.touch()
    env = {
        "GITHUB_EVENT_PATH": str(pr_event(tmp_path)),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": api.token,
        "GITHUB_API_URL": api.url,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    env.update(extra)
    return env


def slim_comment(
    tmp_path: Path, env: dict[str, str], *args: str, markdown: str = REPORT
) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "report.md"
    report.write_text(markdown)
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return subprocess.run(
        [sys.executable, "-m", "slim_bake", "comment", "--markdown", str(report), *args],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_first_run_creates_one_comment_with_the_marker_and_the_report(
    tmp_path: Path, api: GitHubStandin
) -> None:
    result = slim_comment(tmp_path, runner_env(tmp_path, api))
    assert result.returncode == 0, result.stderr
    [body] = api.bodies(REPO, PR)
    assert body.startswith(comment.MARKER + "\n")
    assert REPORT.strip() in body
    assert HEAD_SHA[:12] in body
    assert "created the pull request comment https://github.test/octo/app/pull/7" in result.stdout
    [post] = api.writes()
    assert post.method == "POST"
    assert post.headers["authorization"] == f"Bearer {api.token}"
    assert post.headers["accept"] == "application/vnd.github+json"
    assert post.headers["x-github-api-version"] == client.API_VERSION


def test_second_run_updates_the_same_comment_in_place(tmp_path: Path, api: GitHubStandin) -> None:
    env = runner_env(tmp_path, api)
    assert slim_comment(tmp_path, env).returncode == 0
    first_id = api.comments[(REPO, PR)][0]["id"]
    result = slim_comment(tmp_path, env, markdown="### slim\n\nsecond run: 18.0 kB\n")
    assert result.returncode == 0, result.stderr
    [comment] = api.comments[(REPO, PR)]
    assert comment["id"] == first_id
    assert "second run: 18.0 kB" in comment["body"]
    assert "17.8 kB" not in comment["body"]
    assert [w.method for w in api.writes()] == ["POST", "PATCH"]
    assert "updated the pull request comment" in result.stdout


def test_finds_its_comment_beyond_the_first_page(tmp_path: Path, api: GitHubStandin) -> None:
    api.page_size_cap = 2  # GitHub pages at 100; 2 makes five comments span three pages
    for i in range(4):
        api.add_comment(REPO, PR, f"review comment {i}")
    env = runner_env(tmp_path, api)
    assert slim_comment(tmp_path, env).returncode == 0  # created: fifth comment, page 3
    api.log.clear()
    assert slim_comment(tmp_path, env, markdown="updated\n").returncode == 0
    gets = [r.path for r in api.log if r.method == "GET"]
    assert len([g for g in gets if "/comments" in g]) == 3
    assert gets.count("/user") == 1  # who are we? (403 for the job token: github-actions[bot])
    assert len(api.bodies(REPO, PR)) == 5
    assert sum(comment.MARKER in b for b in api.bodies(REPO, PR)) == 1
    assert [w.method for w in api.writes()] == ["PATCH"]


def test_two_configs_keep_two_comments(tmp_path: Path, api: GitHubStandin) -> None:
    env = runner_env(tmp_path, api)
    for folder in ("services/a", "services/b"):
        (tmp_path / folder).mkdir(parents=True)
        config = str(tmp_path / folder / "slim.yaml")
        assert slim_comment(tmp_path, env, "-c", config, markdown=f"{folder}\n").returncode == 0
    assert len(api.bodies(REPO, PR)) == 2
    config_a = str(tmp_path / "services/a/slim.yaml")
    assert slim_comment(tmp_path, env, "-c", config_a, markdown="a again\n").returncode == 0
    bodies = api.bodies(REPO, PR)
    assert len(bodies) == 2
    assert "a again" in bodies[0] and "services/b" in bodies[1]
    assert "slim-bake-config: services/a/slim.yaml" in bodies[0]


def test_someone_elses_comment_quoting_the_report_is_left_alone(
    tmp_path: Path, api: GitHubStandin
) -> None:
    pasted = comment.comment_body(REPORT, "slim.yaml", None)
    reply = f"Why did it grow? The bot said:\n```\n{pasted}```\n"
    api.add_comment(REPO, PR, reply, login="reviewer")  # ours was deleted; this remains
    assert (
        slim_comment(tmp_path, runner_env(tmp_path, api), markdown="new figures\n").returncode == 0
    )
    bodies = api.bodies(REPO, PR)
    assert bodies[0] == reply
    assert len(bodies) == 2 and "new figures" in bodies[1]
    assert [w.method for w in api.writes()] == ["POST"]


def test_fork_pull_request_falls_back_to_the_job_summary_with_a_notice(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.read_only = True
    env = runner_env(tmp_path, api)
    result = slim_comment(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert api.bodies(REPO, PR) == []
    assert (tmp_path / "summary.md").read_text() == REPORT
    notices = [line for line in result.stdout.splitlines() if line.startswith("::notice")]
    assert len(notices) == 1
    assert "job summary" in notices[0]
    assert "HTTP 403: Resource not accessible by integration" in result.stderr


def test_without_summary_fallback_the_summary_is_not_written_twice(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.read_only = True
    result = slim_comment(tmp_path, runner_env(tmp_path, api), "--no-summary-fallback")
    assert result.returncode == 0
    assert (tmp_path / "summary.md").read_text() == ""
    assert "::notice" in result.stdout


def test_push_event_posts_nothing(tmp_path: Path, api: GitHubStandin) -> None:
    event = tmp_path / "push.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "repository": {"full_name": REPO}}))
    result = slim_comment(tmp_path, runner_env(tmp_path, api, GITHUB_EVENT_PATH=str(event)))
    assert result.returncode == 0
    assert "not a pull request" in result.stdout
    assert api.log == []


def test_enterprise_server_api_prefix(tmp_path: Path) -> None:
    standin = GitHubStandin(prefix="/api/v3").start()
    try:
        assert slim_comment(tmp_path, runner_env(tmp_path, standin)).returncode == 0
        assert len(standin.bodies(REPO, PR)) == 1
        assert all(r.path.startswith("/api/v3/repos/octo/app/") for r in standin.log)
    finally:
        standin.stop()


def test_missing_token_is_a_usage_error(tmp_path: Path, api: GitHubStandin) -> None:
    result = slim_comment(tmp_path, runner_env(tmp_path, api, GITHUB_TOKEN=""))
    assert result.returncode == 2
    assert "GITHUB_TOKEN is not set" in result.stderr
    assert api.log == []


def test_wrong_token_fails_with_the_api_message(tmp_path: Path, api: GitHubStandin) -> None:
    result = slim_comment(tmp_path, runner_env(tmp_path, api, GITHUB_TOKEN="nope"))
    assert result.returncode == 3
    assert "HTTP 401: Bad credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_never_sent_over_plain_http_to_another_host(
    tmp_path: Path, api: GitHubStandin
) -> None:
    result = slim_comment(
        tmp_path, runner_env(tmp_path, api, GITHUB_API_URL="http://api.example.com")
    )
    assert result.returncode == 2
    assert "plain http" in result.stderr


def test_pagination_link_to_another_host_is_not_followed(
    tmp_path: Path, api: GitHubStandin
) -> None:
    other = GitHubStandin(token=api.token).start()  # would accept the token if it got it
    try:
        api.page_size_cap = 1
        api.add_comment(REPO, PR, "one")
        api.add_comment(REPO, PR, "two")
        api.link_base = other.url.replace("127.0.0.1", "localhost")
        result = slim_comment(tmp_path, runner_env(tmp_path, api))
        assert result.returncode == 3
        assert "pagination link to another origin refused" in result.stderr
        assert other.log == []
        assert api.writes() == []
    finally:
        other.stop()


def test_config_path_cannot_break_out_of_the_hidden_marker(
    tmp_path: Path, api: GitHubStandin
) -> None:
    hostile = "x -->\n<img src=x onerror=alert(1)> <!--.yaml"
    env = runner_env(tmp_path, api)
    assert slim_comment(tmp_path, env, "-c", hostile).returncode == 0
    [body] = api.bodies(REPO, PR)
    first, second, *_ = body.split("\n")
    assert first == comment.MARKER
    assert re.fullmatch(r"<!-- slim-bake-config: [^<>\s]+ -->", second)
    assert body.count("-->") == 2  # the two marker lines, nothing from the path
    assert "<img" not in body


def test_oversized_report_is_cut_within_githubs_limit_and_still_renders(
    tmp_path: Path, api: GitHubStandin
) -> None:
    rows = "".join(f"| target-{i} | {i} B |\n" for i in range(6000))
    markdown = f"## slim\n\n<details>\n<summary>why</summary>\n\n```text\n{rows}```\n</details>\n"
    assert len(markdown) > comment.MAX_BODY
    assert slim_comment(tmp_path, runner_env(tmp_path, api), markdown=markdown).returncode == 0
    [body] = api.bodies(REPO, PR)
    assert len(body) <= comment.MAX_BODY
    assert "Report cut here, after line" in body
    fences = [line for line in body.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0
    assert body.count("<details>") == body.count("</details>")


def test_workflow_command_values_cannot_start_a_new_command() -> None:
    line = actions.workflow_command("notice", "a\n::error::injected 100%", title="t:1,2")
    assert "\n" not in line
    assert line == "::notice title=t%3A1%2C2::a%0A::error::injected 100%25"


def test_outputs_for_the_action(tmp_path: Path) -> None:
    output = tmp_path / "output"
    output.touch()
    env = {**os.environ, "GITHUB_OUTPUT": str(output)}
    missing = tmp_path / "no-report.json"
    cmd = [sys.executable, "-m", "slim_bake.github", "outputs", str(missing), "3"]
    assert subprocess.run(cmd, env=env, check=False).returncode == 0
    assert output.read_text().splitlines() == ["verdict=fail", "over-budget=0"]


def test_outputs_that_cannot_be_written_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    # GITHUB_OUTPUT naming a folder: the outputs step goes through slim's one error handler.
    env = {**os.environ, "GITHUB_OUTPUT": str(tmp_path)}
    cmd = [sys.executable, "-m", "slim_bake.github", "outputs", str(tmp_path / "r.json"), "0"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"slim: [Errno 21] Is a directory: '{tmp_path}'"]


def imports_of(module: str) -> set[str]:
    """The modules a module of slim_bake.github imports, at any depth of its code."""
    tree = ast.parse((Path(comment.__file__).parent / f"{module}.py").read_text())
    found = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return found | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def test_the_github_modules_import_downward_only() -> None:
    """client knows nothing of comments or of Actions; actions imports neither of the
    others, nor urllib (the action's outputs step); only comment uses both."""
    ours = {m: {i for i in imports_of(m) if i.startswith("slim_bake.github")} for m in
            ("client", "actions", "comment")}  # fmt: skip
    assert ours == {
        "client": set(),
        "actions": set(),
        "comment": {"slim_bake.github.client", "slim_bake.github.actions"},
    }
    assert not {i for i in imports_of("actions") if i.startswith(("urllib", "http"))}


# --- A server that misbehaves on purpose ------------------------------------------------------
#
# Each test scripts the stand-in (or a second one) to answer as a hostile or overloaded
# API would, runs `slim comment` as the action does, and checks what a user would see:
# the exit code, one clear line, no traceback, and where the token went.

COMMENTS = f"/repos/{REPO}/issues/{PR}/comments"
FAST = {"SLIM_GITHUB_TIMEOUT": "0.5", "SLIM_GITHUB_MAX_WAIT": "2"}


def failed_cleanly(result: subprocess.CompletedProcess[str], code: int = 3) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("slim: ") for line in lines), result.stderr
    return lines[-1]  # the error; lines before it say what slim waited for


@pytest.fixture
def elsewhere(api: GitHubStandin) -> Iterator[GitHubStandin]:
    """Another server that would accept the token: it logs whatever reaches it."""
    other = GitHubStandin(token=api.token).start()
    yield other
    other.stop()


@pytest.mark.parametrize(("method", "status"), [("GET", 301), ("GET", 302), ("POST", 307)])
def test_a_redirect_to_another_port_is_not_followed_and_the_token_stays_home(
    tmp_path: Path, api: GitHubStandin, elsewhere: GitHubStandin, method: str, status: int
) -> None:
    target = f"{elsewhere.url}{COMMENTS}"
    api.misbehave.append(Misbehaviour(status, {"Location": target}, method=method))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert f"HTTP {status}: redirected to another origin ({target}); not followed" in line
    assert elsewhere.log == []  # nothing arrived there, so no Authorization header either
    assert api.bodies(REPO, PR) == []


def test_a_redirect_to_another_host_name_on_the_same_port_is_not_followed(
    tmp_path: Path, api: GitHubStandin
) -> None:
    # localhost reaches this very server: had slim followed, the log would show it.
    target = api.url.replace("127.0.0.1", "localhost") + COMMENTS
    api.misbehave.append(Misbehaviour(308, {"Location": target}, method="GET"))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert "redirected to another origin" in line
    assert len(api.log) == 1


def test_a_same_origin_redirect_is_followed_with_the_token(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.misbehave.append(  # a renamed repository: GitHub redirects within the API host
        Misbehaviour(301, {"Location": f"{COMMENTS}?per_page=100&moved=1"}, method="GET")
    )
    result = slim_comment(tmp_path, runner_env(tmp_path, api))
    assert result.returncode == 0, result.stderr
    first, second, post = api.log
    assert second.path.endswith("&moved=1")
    assert {r.headers["authorization"] for r in (first, second, post)} == {f"Bearer {api.token}"}
    assert len(api.bodies(REPO, PR)) == 1


def test_a_redirect_loop_on_the_api_host_ends(tmp_path: Path, api: GitHubStandin) -> None:
    api.misbehave.append(Misbehaviour(302, {"Location": COMMENTS}, times=50))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert f"more than {client.MAX_REDIRECTS} redirects" in line
    assert len(api.log) == client.MAX_REDIRECTS + 1


@pytest.mark.parametrize("drip_head", [True, False], ids=["status-line", "body"])
def test_a_server_dripping_bytes_cannot_hold_slim_past_the_deadline(
    tmp_path: Path, api: GitHubStandin, drip_head: bool
) -> None:
    # A byte every 20 ms never trips a 0.5 s socket timeout; the whole answer would
    # take over 20 s.
    body = b"[]" + b" " * 1000
    api.misbehave.append(Misbehaviour(200, {}, body, drip=0.02, drip_head=drip_head))
    started = time.monotonic()
    result = slim_comment(tmp_path, runner_env(tmp_path, api, **FAST))
    took = time.monotonic() - started
    line = failed_cleanly(result)
    assert f"GET {api.url}{COMMENTS}?per_page=100: no complete answer within 0.5 s" in line
    assert took < 5
    assert api.writes() == []


def test_the_whole_command_has_a_deadline(tmp_path: Path, api: GitHubStandin) -> None:
    api.page_size_cap = 1
    for i in range(40):
        api.add_comment(REPO, PR, f"comment {i}")
    api.misbehave.append(Misbehaviour(200, {}, b"[]" + b" " * 1000, drip=0.02, path="page=3"))
    env = runner_env(tmp_path, api, SLIM_GITHUB_TIMEOUT="30", SLIM_GITHUB_DEADLINE="0.8")
    started = time.monotonic()
    line = failed_cleanly(slim_comment(tmp_path, env))
    assert "`slim comment` used up its 0.8 s on the network (SLIM_GITHUB_DEADLINE)" in line
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'[{"id": 1, "body": "caf\xe9"}]', "the answer is not UTF-8 text"),
        (b"<html>Service Unavailable</html>", "the answer is not JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "the answer is not JSON"),  # nesting past recursion
        (b'{"message": "not a list"}', "expected a list of comments"),
    ],
    ids=["latin-1", "html", "deep", "object"],
)
def test_a_malformed_answer_is_a_clear_error(
    tmp_path: Path, api: GitHubStandin, body: bytes, says: str
) -> None:
    api.misbehave.append(Misbehaviour(200, {"Content-Type": "application/json"}, body))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert line == f"slim: GET {api.url}{COMMENTS}?per_page=100: {says}"
    assert api.writes() == []


def test_an_endless_answer_is_cut_off_at_the_cap(tmp_path: Path, api: GitHubStandin) -> None:
    api.misbehave.append(Misbehaviour(200, {}, b"[", endless=True))
    started = time.monotonic()
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert f"the answer is larger than {client.MAX_RESPONSE:,} bytes: refused" in line
    assert time.monotonic() - started < 5


def test_a_write_answered_without_a_comment_is_a_clear_error(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.misbehave.append(Misbehaviour(201, {}, b"[]", method="POST"))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert line == "slim: the API answered without a comment object"


def test_comments_of_the_wrong_shape_are_skipped_not_edited(
    tmp_path: Path, api: GitHubStandin
) -> None:
    head = comment.marker_lines("slim.yaml")
    junk = [
        1,
        None,
        "text",
        {"id": "9", "body": head, "user": {"login": api.bot_login}},
        {"id": True, "body": head, "user": {"login": api.bot_login}},
        {"id": 9, "body": head, "user": api.bot_login},
        {"id": 9, "body": ["x"], "user": {"login": api.bot_login}},
    ]
    api.misbehave.append(Misbehaviour(200, {}, json.dumps(junk).encode(), method="GET"))
    result = slim_comment(tmp_path, runner_env(tmp_path, api))
    assert result.returncode == 0, result.stderr
    assert [w.method for w in api.writes()] == ["POST"]


# --- Rate limits ---------------------------------------------------------------------------

SECONDARY = b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}'
PRIMARY = b'{"message": "API rate limit exceeded for installation ID 1."}'


def test_429_with_retry_after_is_retried_after_the_servers_delay(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.misbehave.append(Misbehaviour(429, {"Retry-After": "1"}, SECONDARY, method="POST"))
    result = slim_comment(tmp_path, runner_env(tmp_path, api, **FAST))
    assert result.returncode == 0, result.stderr
    first, second = api.writes()
    assert second.at - first.at >= 1.0
    assert len(api.bodies(REPO, PR)) == 1
    assert "rate limited by GitHub (HTTP 429: You have exceeded a secondary rate limit" in (
        result.stderr
    )
    assert "retrying in 1 s" in result.stderr


def test_403_primary_rate_limit_waits_until_the_reset_and_is_not_the_fork_case(
    tmp_path: Path, api: GitHubStandin
) -> None:
    headers = {
        "x-ratelimit-limit": "1000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(time.time()) + 1),
    }
    api.misbehave.append(Misbehaviour(403, headers, PRIMARY, method="POST"))
    result = slim_comment(tmp_path, runner_env(tmp_path, api, **FAST))
    assert result.returncode == 0, result.stderr
    assert [w.method for w in api.writes()] == ["POST", "POST"]
    assert len(api.bodies(REPO, PR)) == 1
    assert "::notice" not in result.stdout
    assert (tmp_path / "summary.md").read_text() == ""


def test_a_secondary_rate_limit_past_the_wait_bound_fails_with_exit_3_not_the_summary(
    tmp_path: Path, api: GitHubStandin
) -> None:
    # No retry-after, remaining not 0: GitHub says to wait at least a minute. The bound
    # here is 2 s, so slim fails at once rather than sleep and fail.
    api.misbehave.append(Misbehaviour(403, {"x-ratelimit-remaining": "812"}, SECONDARY))
    started = time.monotonic()
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api, **FAST)))
    assert time.monotonic() - started < 5
    assert "rate limited by GitHub (HTTP 403: You have exceeded a secondary rate limit" in line
    assert "it asks to wait 60 s, more than slim waits (2 s in all, SLIM_GITHUB_MAX_WAIT)" in line
    assert (tmp_path / "summary.md").read_text() == ""
    assert "::notice" not in (tmp_path / "summary.md").read_text()
    assert len(api.log) == 1


def test_retry_after_longer_than_the_bound_is_not_slept(tmp_path: Path, api: GitHubStandin) -> None:
    api.misbehave.append(Misbehaviour(429, {"Retry-After": "3600"}, b"", method="POST"))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api, **FAST)))
    assert "rate limited by GitHub (HTTP 429); it asks to wait 3600 s" in line
    assert len(api.writes()) == 1


def test_a_rate_limit_that_never_lifts_ends_after_a_few_retries(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.misbehave.append(Misbehaviour(429, {"Retry-After": "0"}, SECONDARY, times=100))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api, **FAST)))
    assert f"still rate limited by GitHub after {client.MAX_RATE_LIMIT_RETRIES} retries" in line
    assert len(api.log) == client.MAX_RATE_LIMIT_RETRIES + 1


@pytest.mark.parametrize(
    ("status", "headers", "message", "delay"),
    [
        (403, {}, "Resource not accessible by integration", None),  # the fork's token
        (403, {"x-ratelimit-remaining": "999"}, "Must have admin rights", None),
        (404, {"retry-after": "5"}, "Not Found", None),
        (429, {"retry-after": "5"}, "", 5.0),
        (403, {"retry-after": "7"}, "You have exceeded a secondary rate limit", 7.0),
        (403, {"retry-after": "soon"}, "", 60.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}, "", 0.0),
        (403, {}, "You have exceeded a secondary rate limit", 60.0),
        (429, {}, "", 60.0),
    ],
)
def test_rate_limits_are_told_from_permission_refusals_by_githubs_headers(
    status: int, headers: dict[str, str], message: str, delay: float | None
) -> None:
    assert client.rate_limit_delay(status, headers, message) == delay


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    delay = client.rate_limit_delay(429, {"retry-after": when}, "")
    assert delay is not None and 28 <= delay <= 30


def test_a_secondary_limit_without_headers_backs_off_exponentially() -> None:
    delays = [client.rate_limit_delay(429, {}, "", attempt) for attempt in range(3)]
    assert delays == [60.0, 120.0, 240.0]


# --- Whose comment is edited -----------------------------------------------------------------


def test_a_comment_by_another_user_carrying_the_marker_is_not_edited(
    tmp_path: Path, api: GitHubStandin
) -> None:
    forged = comment.comment_body("I am the bot, trust me\n", "slim.yaml", None)
    api.add_comment(REPO, PR, forged, login="mallory")
    result = slim_comment(tmp_path, runner_env(tmp_path, api))
    assert result.returncode == 0, result.stderr
    forged_now, ours = api.comments[(REPO, PR)]
    assert forged_now["body"] == forged and forged_now["user"]["login"] == "mallory"
    assert ours["user"]["login"] == "github-actions[bot]" and REPORT.strip() in ours["body"]
    assert [w.method for w in api.writes()] == ["POST"]
    assert "left alone a comment by mallory that carries slim's marker" in result.stderr
    # and the next run edits its own comment, still not mallory's
    assert slim_comment(tmp_path, runner_env(tmp_path, api), markdown="again\n").returncode == 0
    assert [w.method for w in api.writes()] == ["POST", "PATCH"]
    assert api.comments[(REPO, PR)][0]["body"] == forged


def test_with_the_job_token_only_github_actions_bot_comments_are_ours(
    tmp_path: Path, api: GitHubStandin
) -> None:
    env = runner_env(tmp_path, api)
    assert slim_comment(tmp_path, env).returncode == 0
    assert "/user" not in [r.path for r in api.log]  # no marked comment yet: no need to ask
    assert slim_comment(tmp_path, env, markdown="second\n").returncode == 0
    user = [r for r in api.log if r.path == "/user"]
    assert len(user) == 1  # answered 403, as GitHub does for GITHUB_TOKEN
    assert [w.method for w in api.writes()] == ["POST", "PATCH"]


def test_with_a_personal_token_the_users_own_comment_is_edited(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.user_api, api.bot_login = True, "alice"
    body = comment.comment_body("old\n", "slim.yaml", None)
    bot_id = api.add_comment(REPO, PR, body, login="github-actions[bot]")
    alice_id = api.add_comment(REPO, PR, body, login="Alice")  # logins are case-blind
    result = slim_comment(tmp_path, runner_env(tmp_path, api), markdown="new\n")
    assert result.returncode == 0, result.stderr
    [patch] = api.writes()
    assert patch.path.endswith(f"/issues/comments/{alice_id}")
    assert "left alone a comment by github-actions[bot]" in result.stderr
    assert str(bot_id) not in patch.path


def test_slim_github_login_names_the_identity_of_an_app_token(
    tmp_path: Path, api: GitHubStandin
) -> None:
    api.bot_login = "size-bot[bot]"
    body = comment.comment_body("old\n", "slim.yaml", None)
    api.add_comment(REPO, PR, body, login="size-bot[bot]")
    env = runner_env(tmp_path, api, SLIM_GITHUB_LOGIN="size-bot[bot]")
    assert slim_comment(tmp_path, env, markdown="new\n").returncode == 0
    assert [w.method for w in api.writes()] == ["PATCH"]
    assert "/user" not in [r.path for r in api.log]


# --- GitHub's 65,536-character limit ---------------------------------------------------------


def room(sha: str | None = None) -> int:
    """How many characters of report (without its last newline) fit next to the marker
    lines and the footer."""
    return comment.MAX_BODY - len(comment.comment_body("", "slim.yaml", sha))


@pytest.mark.parametrize(
    "filler", ["x", "é", "日", "🦀", "a\n"], ids=["ascii", "2B", "3B", "4B", "nl"]
)
def test_a_report_is_cut_exactly_at_githubs_limit(filler: str) -> None:
    fits = (filler * room())[: room() - 1] + "z"  # the body adds the last newline
    body = comment.comment_body(fits, "slim.yaml", None)
    assert len(body) == comment.MAX_BODY  # characters, as GitHub counts them
    assert fits.rstrip("\n") in body and "Report cut" not in body
    over = comment.comment_body(fits + filler, "slim.yaml", None)
    assert len(over) <= comment.MAX_BODY
    assert "Report cut here" in over
    assert len(over.encode("utf-8")) <= 4 * comment.MAX_BODY


def test_a_report_of_exactly_the_limit_is_accepted_by_the_api(
    tmp_path: Path, api: GitHubStandin
) -> None:
    markdown = ("🦀 é\n" * room(HEAD_SHA))[: room(HEAD_SHA) - 1] + "z"
    result = slim_comment(tmp_path, runner_env(tmp_path, api), markdown=markdown)
    assert result.returncode == 0, result.stderr
    [body] = api.bodies(REPO, PR)  # the stand-in answers 422 past 65,536, as GitHub
    assert len(body) == comment.MAX_BODY and "Report cut" not in body


def test_the_cut_closes_every_open_block_and_still_fits() -> None:
    markdown = "<details>\n<summary>s</summary>\n\n" * 3000 + "~~~~text\n" + "row\n" * 20000
    body = comment.comment_body(markdown, "slim.yaml", None)
    assert len(body) <= comment.MAX_BODY
    html = cmarkgfm.github_flavored_markdown_to_html(
        body, options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    assert html.count("<details>") == html.count("</details>")
    note = re.search(r"<em>Report cut here, after line ([\d,]+) of ([\d,]+):", html)
    assert note, html[-500:]
    assert note.group(2) == f"{markdown.count(chr(10)):,}"
    assert "<pre" not in html[note.start() - 40 : note.start()]  # not inside a code block


@pytest.mark.parametrize("opener", ["<!-- a comment\n", "```diff\n", "<details><summary>x\n\n"])
def test_the_note_is_rendered_whatever_the_cut_left_open(opener: str) -> None:
    markdown = "## slim\n\n" + opener + "| a | b |\n" * 10000
    html = cmarkgfm.github_flavored_markdown_to_html(
        comment.comment_body(markdown, "slim.yaml", None), options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    note = html.rfind("<em>Report cut here")
    assert note > 0
    before = html[:note]
    assert before.count("<!--") == before.count("-->")
    assert before.count("<pre") == before.count("</pre>")


def test_one_huge_line_is_cut_inside_rather_than_dropped() -> None:
    body = comment.comment_body("x" * 100_000, "slim.yaml", None)
    assert len(body) <= comment.MAX_BODY
    assert body.count("x") > 60_000
    assert "Report cut here, inside line 1 of 1" in body


def test_the_note_names_the_last_line_shown() -> None:
    markdown = "".join(f"line {i}\n" for i in range(1, 20001))
    body = comment.comment_body(markdown, "slim.yaml", None)
    shown = int(re.search(r"after line ([\d,]+) of 20,000", body).group(1).replace(",", ""))
    assert f"\nline {shown}\n" in body and f"\nline {shown + 1}\n" not in body


# --- Log lines quote server text safely -------------------------------------------------------


def workflow_commands(output: str) -> list[str]:
    """Lines the runner would take for a workflow command (it trims them first)."""
    return [line for line in re.split(r"\r\n|\r|\n", output) if line.strip().startswith("::")]


def test_server_text_cannot_start_a_workflow_command_or_reach_the_terminal(
    tmp_path: Path, api: GitHubStandin
) -> None:
    hostile = "Bad credentials\n::error::pwned\r::add-mask::x\x1b[2J\u2028::stop-commands::x"
    api.misbehave.append(Misbehaviour(401, {}, json.dumps({"message": hostile}).encode()))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert workflow_commands(line) == []
    assert "\x1b" not in line
    assert "Bad credentials\\n::error::pwned\\r::add-mask::x\\x1b[2J\\u2028" in line


def test_a_hostile_comment_url_cannot_start_a_workflow_command(
    tmp_path: Path, api: GitHubStandin
) -> None:
    answer = {"id": 5, "html_url": "https://github.test/x\n::error::pwned"}
    api.misbehave.append(Misbehaviour(201, {}, json.dumps(answer).encode(), method="POST"))
    result = slim_comment(tmp_path, runner_env(tmp_path, api))
    assert result.returncode == 0, result.stderr
    assert workflow_commands(result.stdout + result.stderr) == []


@settings(max_examples=200, deadline=None)  # a busy CI machine: no per-example clock
@given(st.text())
def test_an_error_message_quoting_any_server_text_stays_one_safe_line(text: str) -> None:
    body = json.dumps({"message": text, "errors": [{"message": text}, text]}).encode()
    message = client._api_message(body)
    error = client._http_error("GET https://api.github.com/x", 422, message, write=False)
    shown = f"slim: {error}"
    assert len(shown.splitlines()) == 1
    assert not any(safe_text.is_acting(ch) for ch in shown)
    assert len(message) <= 300


# --- Bad settings and inputs -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["soon", "-1", "0", "nan", "inf"])
def test_a_bad_network_limit_is_a_usage_error(
    tmp_path: Path, api: GitHubStandin, value: str
) -> None:
    line = failed_cleanly(
        slim_comment(tmp_path, runner_env(tmp_path, api, SLIM_GITHUB_TIMEOUT=value)), 2
    )
    assert f"SLIM_GITHUB_TIMEOUT={value}: expected a number of seconds above 0" in line
    assert api.log == []


def test_a_body_over_githubs_limit_sent_anyway_gets_the_apis_reason(
    tmp_path: Path, api: GitHubStandin
) -> None:
    # If GitHub's limit were ever lower than slim's count, the reason must reach the log.
    api.misbehave.append(Misbehaviour(422, {}, json.dumps(TOO_LONG).encode(), method="POST"))
    line = failed_cleanly(slim_comment(tmp_path, runner_env(tmp_path, api)))
    assert line.endswith(
        "HTTP 422: Validation Failed: Body is too long (maximum is 65536 characters)"
    )


def test_a_markdown_report_that_is_not_utf8_is_a_usage_error(
    tmp_path: Path, api: GitHubStandin
) -> None:
    report = tmp_path / "latin1.md"
    report.write_bytes(b"caf\xe9\n")
    env = runner_env(tmp_path, api)
    result = slim_comment(tmp_path, env, "--markdown", str(report))
    line = failed_cleanly(result, 2)
    assert "the Markdown report is not UTF-8 (byte 3)" in line
    assert api.log == []


def test_an_endless_markdown_report_is_refused(tmp_path: Path, api: GitHubStandin) -> None:
    env = runner_env(tmp_path, api)
    line = failed_cleanly(slim_comment(tmp_path, env, "--markdown", "/dev/zero"), 2)
    assert "/dev/zero: the Markdown report is larger than 16,777,216 bytes" in line
    assert api.log == []
