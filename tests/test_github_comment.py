"""The sticky pull-request comment, over real HTTP against a GitHub-API stand-in on
127.0.0.1 (tests/github_api_standin.py): found again by its marker, updated in place,
never duplicated; the fork case (403) falls back to the job summary with a notice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_api_standin import GitHubStandin

from slim_bake import github

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
    assert body.startswith(github.MARKER + "\n")
    assert REPORT.strip() in body
    assert HEAD_SHA[:12] in body
    assert "created the pull request comment https://github.test/octo/app/pull/7" in result.stdout
    [post] = api.writes()
    assert post.method == "POST"
    assert post.headers["authorization"] == f"Bearer {api.token}"
    assert post.headers["accept"] == "application/vnd.github+json"
    assert post.headers["x-github-api-version"] == github.API_VERSION


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
    assert sum(github.MARKER in b for b in api.bodies(REPO, PR)) == 1
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
    pasted = github.comment_body(REPORT, "slim.yaml", None)
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
    assert first == github.MARKER
    assert re.fullmatch(r"<!-- slim-bake-config: [^<>\s]+ -->", second)
    assert body.count("-->") == 2  # the two marker lines, nothing from the path
    assert "<img" not in body


def test_oversized_report_is_cut_within_githubs_limit_and_still_renders(
    tmp_path: Path, api: GitHubStandin
) -> None:
    rows = "".join(f"| target-{i} | {i} B |\n" for i in range(6000))
    markdown = f"## slim\n\n<details>\n<summary>why</summary>\n\n```text\n{rows}```\n</details>\n"
    assert len(markdown) > github.MAX_BODY
    assert slim_comment(tmp_path, runner_env(tmp_path, api), markdown=markdown).returncode == 0
    [body] = api.bodies(REPO, PR)
    assert len(body) <= github.MAX_BODY
    assert "Report cut here, after line" in body
    fences = [line for line in body.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0
    assert body.count("<details>") == body.count("</details>")


def test_workflow_command_values_cannot_start_a_new_command() -> None:
    line = github.workflow_command("notice", "a\n::error::injected 100%", title="t:1,2")
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
