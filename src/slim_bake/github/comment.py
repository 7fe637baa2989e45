"""The sticky pull-request comment: one per pull request and config, found again by a
hidden marker on its first lines and edited in place, but only if the token's own
identity wrote it; cut to GitHub's 65,536 code points so that it still renders.

On a pull request from a fork the job token is read-only: GitHub answers 403 to the
write. That is an expected situation, not a failure: the report goes to the job
summary instead, with a `::notice::` saying so. A rate-limit 403 is not that case."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slim_bake import __version__
from slim_bake.errors import GitHubError, ReadOnlyToken, UsageError
from slim_bake.github.actions import append_summary, workflow_command
from slim_bake.github.client import DEFAULT_API, GitHubClient, Limits
from slim_bake.safe_text import printable, say, visible, warn

MARKER = "<!-- slim-bake-report -->"
# GitHub refuses a longer comment body: "Body is too long (maximum is 65536 characters)".
# Rails counts characters, i.e. code points (Python's len). 65,536 code points are at most
# 262,144 bytes of UTF-8, the byte ceiling people have measured on comments, so a body
# within this count fits either way.
MAX_BODY = 65536
DEFAULT_LOGIN = "github-actions[bot]"  # who writes with the job token (GITHUB_TOKEN)
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{7,40}")


# --- The pull request this job runs for ---------------------------------------------------


@dataclass(frozen=True)
class PullRequest:
    repository: str  # owner/name of the base repository
    number: int
    head_sha: str | None


def pull_request_from_env(env: Mapping[str, str]) -> PullRequest | None:
    """The pull request of the triggering event, or None for a push or a schedule."""
    event_path = env.get("GITHUB_EVENT_PATH")
    if not event_path:
        raise UsageError("GITHUB_EVENT_PATH is not set: `slim comment` runs inside GitHub Actions")
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{event_path}: cannot read the event: {exc}") from exc
    if not isinstance(event, dict):
        raise UsageError(f"{event_path}: the event is not a JSON object")
    number, head = _event_number(event)
    if number is None:
        return None
    repository = env.get("GITHUB_REPOSITORY") or _dig(event, "repository", "full_name")
    if not isinstance(repository, str) or not _REPOSITORY.fullmatch(repository):
        raise UsageError(f"GITHUB_REPOSITORY is missing or not owner/name: {repository!r}")
    sha = head if isinstance(head, str) and _SHA.fullmatch(head) else None
    return PullRequest(repository, number, sha)


def _event_number(event: dict[str, Any]) -> tuple[int | None, object]:
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        return pull["number"], _dig(pull, "head", "sha")
    issue = event.get("issue")  # issue_comment on a pull request
    if (
        isinstance(issue, dict)
        and issue.get("pull_request")
        and isinstance(issue.get("number"), int)
    ):
        return issue["number"], None
    return None, None


def _dig(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# --- The comment body ------------------------------------------------------------------------


def marker_lines(config_key: str) -> str:
    """The hidden first lines that identify our comment for one config. The key is
    percent-encoded, so it cannot close the HTML comment (`-->`) or add a line."""
    key = urllib.parse.quote(config_key, safe="/._-")
    return f"{MARKER}\n<!-- slim-bake-config: {key} -->\n"


def config_key(config: str, env: Mapping[str, str]) -> str:
    """The config's path from the repository root, so that two configs in one repository
    (or the same name under two working directories) keep separate comments."""
    workspace = env.get("GITHUB_WORKSPACE")
    path = Path(config).resolve()
    if workspace:
        try:
            return path.relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return Path(config).as_posix()


def comment_body(markdown: str, config: str, head_sha: str | None) -> str:
    """Marker lines, the report and a footer, in at most MAX_BODY characters: a longer
    report is cut (see `_truncate`)."""
    head = marker_lines(config)
    footer = f"\n<sub>slim {__version__}" + (f" · {head_sha[:12]}" if head_sha else "") + "</sub>\n"
    text = markdown.rstrip("\n") + "\n"
    room = MAX_BODY - len(head) - len(footer)
    if len(text) > room:
        text = _truncate(text, room)
    return head + text + footer


def _truncate(markdown: str, limit: int) -> str:
    """At most `limit` characters: the report cut at a line boundary (inside a line only
    when that line is over half the room), what the cut left open closed (a code fence,
    <details>) so the rest still renders, and a visible note saying where it was cut.
    Closing a hundred open <details> takes room too, so the cut moves up until it fits."""
    total = markdown.count("\n")
    budget = limit
    while True:
        cut = markdown[:budget]
        line_end = cut.rfind("\n") + 1
        if line_end >= budget // 2:
            cut = cut[:line_end]
            where = f"after line {cut.count(chr(10)):,} of {total:,}"
        else:  # one huge line: cut inside it rather than drop nearly everything
            cut = cut[: max(0, budget - 1)] + "\n"
            where = f"inside line {cut.count(chr(10)):,} of {total:,}"
        note = (
            f"\n*Report cut here, {where}: GitHub takes at most {MAX_BODY:,} characters"
            " in a comment. The full report is in the job summary.*\n"
        )
        result = cut + _closing(cut) + note
        if len(result) <= limit or budget <= 1:
            return result[:limit]
        budget = len(cut) - (len(result) - limit)


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


def _closing(markdown: str) -> str:
    """What closes the code fence, the HTML comment and the <details> blocks left open at
    the end of `markdown`; left open, any of them would swallow the note. (CommonMark
    fences: a run of 3+ backticks or tildes, closed by a run of the same character at
    least as long; inside a fence, tags are code, not HTML.)"""
    fence = ""
    in_comment = False
    depth = 0
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence:
            run = match.group(1) if match else ""
            rest = line[match.end() :] if match else line
            if run[:1] == fence[0] and len(run) >= len(fence) and not rest.strip():
                fence = ""
        elif in_comment or "<!--" in line:
            in_comment = _comment_open(line, in_comment)
        elif match:
            fence = match.group(1)
        else:
            opened = len(_DETAILS_OPEN.findall(line)) - len(_DETAILS_CLOSE.findall(line))
            depth = max(0, depth + opened)
    return (
        (f"{fence}\n" if fence else "") + ("-->\n" if in_comment else "") + "</details>\n" * depth
    )


def _comment_open(line: str, open_: bool) -> bool:
    """Whether an HTML comment is still open after `line`."""
    at = 0
    while True:
        if open_:
            end = line.find("-->", at)
            if end < 0:
                return True
            open_, at = False, end + 3
        else:
            start = line.find("<!--", at)
            if start < 0:
                return False
            open_, at = True, start + 4


# --- The comments API ------------------------------------------------------------------------


def list_comments(client: GitHubClient, pr: PullRequest) -> list[dict[str, Any]]:
    first = client.url(f"/repos/{pr.repository}/issues/{pr.number}/comments?per_page=100")
    comments: list[dict[str, Any]] = []
    for url, page in client.get_pages(first, f"comments on #{pr.number}"):
        if not isinstance(page, list):
            raise GitHubError(f"GET {printable(url)}: expected a list of comments")
        comments += [c for c in page if isinstance(c, dict)]
    return comments


def create_comment(client: GitHubClient, pr: PullRequest, body: str) -> dict[str, Any]:
    url = client.url(f"/repos/{pr.repository}/issues/{pr.number}/comments")
    return _object(client.post(url, {"body": body}))


def update_comment(
    client: GitHubClient, pr: PullRequest, comment_id: int, body: str
) -> dict[str, Any]:
    url = client.url(f"/repos/{pr.repository}/issues/comments/{comment_id}")
    return _object(client.patch(url, {"body": body}))


def _object(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise GitHubError("the API answered without a comment object")
    return data


# --- Posting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    action: str  # "created", "updated", "summary" (read-only token) or "skipped" (no PR)
    url: str | None = None
    detail: str = ""
    notes: tuple[str, ...] = field(default=())


def _carries_marker(comment: dict[str, Any], head: str) -> bool:
    """Our comment starts with the marker lines; a reply quoting it starts with `>`."""
    body = comment.get("body")
    return isinstance(body, str) and body.replace("\r\n", "\n").startswith(head)


def _author(comment: dict[str, Any]) -> str | None:
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else None


def _comment_id(comment: dict[str, Any]) -> int | None:
    value = comment.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def find_comment(
    comments: list[dict[str, Any]], head: str, login: str = DEFAULT_LOGIN
) -> dict[str, Any] | None:
    """The first comment that carries the marker AND was written by `login` (GitHub
    logins are case-blind). Anyone can paste the marker into a comment of their own;
    editing that one would put slim's report under someone else's name."""
    for comment in comments:
        author = _author(comment)
        if (
            _carries_marker(comment, head)
            and author is not None
            and author.casefold() == login.casefold()
            and _comment_id(comment) is not None
        ):
            return comment
    return None


def identity(client: GitHubClient, env: Mapping[str, str]) -> str:
    """Whose comments slim may edit: SLIM_GITHUB_LOGIN when set (a GitHub App's token
    writes as `<app>[bot]`), else the token's user from GET /user (a personal token),
    else github-actions[bot], the author of everything the job token writes."""
    explicit = env.get("SLIM_GITHUB_LOGIN", "").strip()
    return explicit or client.login() or DEFAULT_LOGIN


def post_report(
    markdown: str,
    config: str,
    env: Mapping[str, str],
    summary_fallback: bool = True,
    limits: Limits | None = None,
) -> Outcome:
    pr = pull_request_from_env(env)
    if pr is None:
        return Outcome("skipped", detail="not a pull request event: no comment to post")
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise UsageError("GITHUB_TOKEN is not set (pass the job token through `env:`)")
    limits = limits or Limits.from_env(env)
    client = GitHubClient(env.get("GITHUB_API_URL") or DEFAULT_API, token, limits)
    key = config_key(config, env)
    head = marker_lines(key)
    body = comment_body(markdown, key, pr.head_sha)
    try:
        marked = [c for c in list_comments(client, pr) if _carries_marker(c, head)]
        # Ask who we are only when it matters: GET /user costs a request and fails
        # for the job token anyway.
        login = identity(client, env) if marked else DEFAULT_LOGIN
        existing = find_comment(marked, head, login)
        notes = tuple(
            f"left alone a comment by {printable(_author(c) or '?')} that carries slim's"
            f" marker: only comments by {printable(login)} are edited"
            for c in marked
            if c is not existing
        )
        comment_id = _comment_id(existing) if existing is not None else None
        if comment_id is not None:
            return Outcome("updated", _url(update_comment(client, pr, comment_id, body)), "", notes)
        return Outcome("created", _url(create_comment(client, pr, body)), "", notes)
    except ReadOnlyToken as exc:
        if summary_fallback:
            append_summary(markdown, env)
        return Outcome("summary", detail=str(exc))


def _url(comment: dict[str, Any]) -> str | None:
    url = comment.get("html_url")
    return printable(url) if isinstance(url, str) else None


def report_outcome(outcome: Outcome) -> None:
    """What happened, one line each; the URL and the detail come from the server."""
    for note in outcome.notes:
        warn(f"slim: {note}")
    if outcome.action in ("created", "updated"):
        say(
            visible(f"slim: {outcome.action} the pull request comment {outcome.url or ''}".rstrip())
        )
    elif outcome.action == "summary":
        warn(f"slim: {outcome.detail}")
        notice = workflow_command(
            "notice",
            "The job token cannot comment on this pull request (read-only, e.g. from a fork):"
            " the size report is in the job summary instead.",
            title="slim report in the job summary",
        )
        say(notice, meant=True)  # the one workflow command slim means to write
    else:
        say(visible(f"slim: {outcome.detail}"))
