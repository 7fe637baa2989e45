"""The sticky pull-request comment and the GitHub Actions plumbing around it.

One comment per pull request and config, found again by a hidden marker on its first
lines and edited in place. Talks to the REST API with urllib (no extra dependency):
the job token goes only to the API base the runner names (GITHUB_API_URL), never over
plain http to another machine, and never to a pagination link on another host.

On a pull request from a fork the job token is read-only: GitHub answers 403 to the
write. That is an expected situation, not a failure: the report goes to the job
summary instead, with a `::notice::` saying so."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slim_bake import __version__
from slim_bake.errors import EXIT_BUILD, SlimError, UsageError
from slim_bake.safe_text import say, visible, warn

MARKER = "<!-- slim-bake-report -->"
DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
MAX_BODY = 65536  # GitHub refuses longer comment bodies (characters)
MAX_PAGES = 100  # 10,000 comments: beyond that something is wrong, stop rather than loop
TIMEOUT = 30.0
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{7,40}")


class GitHubError(SlimError):
    """The GitHub API refused or failed a request (other than the fork case)."""

    exit_code = EXIT_BUILD

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ReadOnlyToken(GitHubError):
    """403: the token may read but not write (a pull request from a fork)."""


# --- Workflow commands and files --------------------------------------------------------


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, title: str | None = None) -> str:
    """`::notice title=T::message`, escaped so that a value cannot end the command
    early or start another one on a new line."""
    props = f" title={_escape_property(title)}" if title else ""
    return f"::{kind}{props}::{_escape_data(message)}"


def append_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append to the job summary; False when not running under Actions."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


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
    head = marker_lines(config)
    footer = f"\n<sub>slim {__version__}" + (f" · {head_sha[:12]}" if head_sha else "") + "</sub>\n"
    room = MAX_BODY - len(head) - len(footer)
    if len(markdown) > room:
        markdown = _truncate(markdown, room - 200)
    return head + markdown.rstrip("\n") + "\n" + footer


def _truncate(markdown: str, limit: int) -> str:
    """Cut at a line boundary and close what the cut left open (a code fence, a
    <details>), so the rest of the comment still renders."""
    cut = markdown[:limit]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else ""
    closing = ""
    if sum(1 for line in cut.splitlines() if line.lstrip().startswith("```")) % 2:
        closing += "```\n"
    closing += "</details>\n" * max(0, cut.count("<details>") - cut.count("</details>"))
    return cut + closing + "\n*Report truncated: the full report is in the job summary.*\n"


# --- The REST client -------------------------------------------------------------------------


class GitHubClient:
    def __init__(self, api_url: str, token: str) -> None:
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(f"GITHUB_API_URL is not an http(s) URL: {api_url!r}")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            raise UsageError(
                f"GITHUB_API_URL {api_url!r}: refusing to send the token over plain http"
            )
        self.base = api_url.rstrip("/")
        self.origin = (parsed.scheme, parsed.netloc)
        self.token = token

    def list_comments(self, pr: PullRequest) -> list[dict[str, Any]]:
        url: str | None = (
            f"{self.base}/repos/{pr.repository}/issues/{pr.number}/comments?per_page=100"
        )
        comments: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return comments
            page, headers = self._request("GET", url)
            if not isinstance(page, list):
                raise GitHubError(f"GET {url}: expected a list of comments")
            comments += [c for c in page if isinstance(c, dict)]
            url = self._next_link(headers.get("Link", ""))
        raise GitHubError(f"more than {MAX_PAGES} pages of comments on #{pr.number}")

    def create_comment(self, pr: PullRequest, body: str) -> dict[str, Any]:
        url = f"{self.base}/repos/{pr.repository}/issues/{pr.number}/comments"
        return self._object(self._request("POST", url, {"body": body})[0])

    def update_comment(self, pr: PullRequest, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self.base}/repos/{pr.repository}/issues/comments/{comment_id}"
        return self._object(self._request("PATCH", url, {"body": body})[0])

    def _request(
        self, method: str, url: str, payload: dict[str, Any] | None = None
    ) -> tuple[object, Mapping[str, str]]:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=self._headers(data))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                text = response.read().decode("utf-8")
                headers = dict(response.headers.items())
        except urllib.error.HTTPError as exc:
            raise _http_error(method, url, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise GitHubError(f"{method} {url}: {exc}") from None
        try:
            return (json.loads(text) if text else None), headers
        except ValueError:
            raise GitHubError(f"{method} {url}: the answer is not JSON") from None

    def _headers(self, data: bytes | None) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"slim-bake/{__version__}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        return headers

    def _next_link(self, link: str) -> str | None:
        for part in link.split(","):
            match = re.match(r'\s*<([^>]+)>\s*;.*\brel="?next"?', part)
            if match:
                url = match.group(1)
                parsed = urllib.parse.urlsplit(url)
                if (parsed.scheme, parsed.netloc) != self.origin:
                    raise GitHubError(f"pagination link to another host refused: {url}")
                return url
        return None

    @staticmethod
    def _object(data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise GitHubError("the API answered without a comment object")
        return data


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_error(method: str, url: str, exc: urllib.error.HTTPError) -> GitHubError:
    try:
        message = json.loads(exc.read().decode("utf-8")).get("message", "")
    except (ValueError, AttributeError, OSError):
        message = ""
    text = f"{method} {url}: HTTP {exc.code}" + (f": {message}" if message else "")
    if exc.code == 403:
        return ReadOnlyToken(text, exc.code)
    if exc.code == 401:
        text += " (is GITHUB_TOKEN set to the job token?)"
    return GitHubError(text, exc.code)


# --- Posting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    action: str  # "created", "updated", "summary" (read-only token) or "skipped" (no PR)
    url: str | None = None
    detail: str = ""


def find_comment(comments: list[dict[str, Any]], head: str) -> dict[str, Any] | None:
    """Our comment starts with the marker lines; a reply quoting it starts with `>`."""
    for comment in comments:
        body = comment.get("body")
        if isinstance(body, str) and body.replace("\r\n", "\n").startswith(head):
            return comment
    return None


def post_report(
    markdown: str, config: str, env: Mapping[str, str], summary_fallback: bool = True
) -> Outcome:
    pr = pull_request_from_env(env)
    if pr is None:
        return Outcome("skipped", detail="not a pull request event: no comment to post")
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise UsageError("GITHUB_TOKEN is not set (pass the job token through `env:`)")
    client = GitHubClient(env.get("GITHUB_API_URL") or DEFAULT_API, token)
    key = config_key(config, env)
    body = comment_body(markdown, key, pr.head_sha)
    try:
        existing = find_comment(client.list_comments(pr), marker_lines(key))
        if existing is not None and isinstance(existing.get("id"), int):
            done = client.update_comment(pr, existing["id"], body)
            return Outcome("updated", _url(done))
        return Outcome("created", _url(client.create_comment(pr, body)))
    except ReadOnlyToken as exc:
        if summary_fallback:
            append_summary(markdown, env)
        return Outcome("summary", detail=str(exc))


def _url(comment: dict[str, Any]) -> str | None:
    url = comment.get("html_url")
    return url if isinstance(url, str) else None


def report_outcome(outcome: Outcome) -> None:
    """What happened, one line each; the URL and the detail come from the server."""
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


# --- Action outputs from a report ------------------------------------------------------------


def action_outputs(report_path: Path, exit_code: int) -> dict[str, str]:
    """verdict and over-budget for the composite action, from the JSON report."""
    over = 0
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if isinstance(report, dict):
        over = count_over_budget(report)
    verdict = "pass" if exit_code == 0 else "fail"
    return {"verdict": verdict, "over-budget": str(over)}


def count_over_budget(report: dict[str, Any]) -> int:
    """Targets with a broken size budget, absolute or growth (schemas/report.schema.json:
    `summary.over_budget`, or each target's `over_budget`)."""
    summary = report.get("summary")
    if isinstance(summary, dict) and isinstance(summary.get("over_budget"), int):
        return int(summary["over_budget"])
    targets = report.get("targets")
    if not isinstance(targets, list):
        return 0
    return sum(1 for t in targets if isinstance(t, dict) and t.get("over_budget") is True)


def write_outputs(values: Mapping[str, str], env: Mapping[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        raise UsageError("GITHUB_OUTPUT is not set: this runs inside GitHub Actions")
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            if "\n" in value or "\r" in value:
                raise UsageError(f"output {key}: a value must be one line")
            handle.write(f"{key}={value}\n")


def main(argv: list[str] | None = None) -> int:
    """`python -m slim_bake.github outputs REPORT EXIT_CODE`: the action's outputs step."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "outputs" or not args[2].lstrip("-").isdigit():
        say("usage: python -m slim_bake.github outputs REPORT EXIT_CODE", sys.stderr)
        return 2
    try:
        write_outputs(action_outputs(Path(args[1]), int(args[2])), os.environ)
    except SlimError as exc:
        warn(f"slim: {exc}")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
