"""The sticky pull-request comment and the GitHub Actions plumbing around it.

One comment per pull request and config, found again by a hidden marker on its first
lines and edited in place, but only if the token's own identity wrote it. Talks to the
REST API with urllib (no extra dependency) under four rules, because `slim comment`
runs on pull requests from strangers with a token in its environment:

- the token goes only to the API origin the runner names (scheme, host and port of
  GITHUB_API_URL): never over plain http to another machine, never through a redirect
  or a pagination link to another origin;
- every request has a total deadline (a server dripping one byte a second cannot hold
  the job), and so has the whole command;
- an answer is read up to a size cap and must be UTF-8 JSON of the expected shape; any
  other answer is a clear error (exit 3), never a traceback;
- rate limits are waited out as GitHub asks, within a bound; past it, exit 3.

On a pull request from a fork the job token is read-only: GitHub answers 403 to the
write. That is an expected situation, not a failure: the report goes to the job
summary instead, with a `::notice::` saying so. A rate-limit 403 is not that case."""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import math
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slim_bake import __version__
from slim_bake.errors import EXIT_BUILD, SlimError, UsageError
from slim_bake.safe_text import say, visible, warn

MARKER = "<!-- slim-bake-report -->"
DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
# GitHub refuses a longer comment body: "Body is too long (maximum is 65536 characters)".
# Rails counts characters, i.e. code points (Python's len). 65,536 code points are at most
# 262,144 bytes of UTF-8, the byte ceiling people have measured on comments, so a body
# within this count fits either way.
MAX_BODY = 65536
MAX_PAGES = 100  # 10,000 comments: beyond that something is wrong, stop rather than loop
MAX_RESPONSE = 32 * 1024 * 1024  # a page of 100 comments of 65,536 characters fits
MAX_REDIRECTS = 3  # same-origin ones (a renamed repository); more is a loop
MAX_RATE_LIMIT_RETRIES = 4
DEFAULT_LOGIN = "github-actions[bot]"  # who writes with the job token (GITHUB_TOKEN)
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{7,40}")


class GitHubError(SlimError):
    """The GitHub API refused or failed a request (other than the fork case)."""

    exit_code = EXIT_BUILD

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ReadOnlyToken(GitHubError):
    """403 to a write: the token may read but not write (a pull request from a fork)."""


class RateLimited(GitHubError):
    """GitHub's rate limit, not waited out within slim's bound."""


def printable(text: str, limit: int = 300) -> str:
    """Server text made safe to quote in a log line (safe_text's escapes: a newline could
    start a `::workflow-command::`, an ESC repaint the terminal), cut to `limit` characters."""
    out = visible(text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


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


# --- The REST client -------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How long `slim comment` may spend on the network. The defaults suit a CI job; the
    environment variables exist so that tests (and impatient workflows) can shorten them."""

    request: float = 30.0  # one request, from connecting to the last byte (SLIM_GITHUB_TIMEOUT)
    command: float = 180.0  # everything, rate-limit waits included (SLIM_GITHUB_DEADLINE)
    rate_limit_wait: float = 60.0  # seconds slept on rate limits in all (SLIM_GITHUB_MAX_WAIT)
    response_bytes: int = MAX_RESPONSE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        return cls(
            request=_seconds(env, "SLIM_GITHUB_TIMEOUT", cls.request),
            command=_seconds(env, "SLIM_GITHUB_DEADLINE", cls.command),
            rate_limit_wait=_seconds(env, "SLIM_GITHUB_MAX_WAIT", cls.rate_limit_wait, zero=True),
        )


def _seconds(env: Mapping[str, str], name: str, default: float, zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise UsageError(f"{name}={printable(raw)!s}: expected a number of seconds above 0")
    return value


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes  # at most Limits.response_bytes + 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would follow a redirect to any host and keep the Authorization header:
    hand every 3xx back to GitHubClient, which decides."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# Only what the API needs: no file:, ftp: or data: handlers, redirects decided above.
# ProxyHandler keeps HTTPS_PROXY/NO_PROXY working on self-hosted runners.
_OPENER = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.ProxyHandler(),
    urllib.request.HTTPHandler(),
    urllib.request.HTTPSHandler(),
    urllib.request.HTTPDefaultErrorHandler(),
    urllib.request.HTTPErrorProcessor(),
    _NoRedirect(),
):
    _OPENER.add_handler(_handler)

_REDIRECTS = (301, 302, 303, 307, 308)


class GitHubClient:
    def __init__(self, api_url: str, token: str, limits: Limits | None = None) -> None:
        parsed = urllib.parse.urlsplit(api_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(f"GITHUB_API_URL is not an http(s) URL: {printable(api_url)}")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            raise UsageError(
                f"GITHUB_API_URL {printable(api_url)}: refusing to send the token over plain http"
            )
        origin = _origin(api_url)
        if origin is None:
            raise UsageError(f"GITHUB_API_URL is not a usable URL: {printable(api_url)}")
        self.base = api_url.rstrip("/")
        self.origin = origin
        self.token = token
        self.limits = limits or Limits()
        self.deadline = time.monotonic() + self.limits.command
        self.waited = 0.0  # seconds slept on rate limits so far

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
                raise GitHubError(f"GET {printable(url)}: expected a list of comments")
            comments += [c for c in page if isinstance(c, dict)]
            url = self._next_link(url, headers.get("link", ""))
        raise GitHubError(f"more than {MAX_PAGES} pages of comments on #{pr.number}")

    def login(self) -> str | None:
        """The token's user (GET /user), or None when the token cannot say: the job token
        (GITHUB_TOKEN) gets 403 "Resource not accessible by integration" there."""
        try:
            user, _ = self._request("GET", f"{self.base}/user")
        except RateLimited:
            raise
        except GitHubError as exc:
            if exc.status in (401, 403, 404):
                return None
            raise
        login = user.get("login") if isinstance(user, dict) else None
        return login if isinstance(login, str) and login else None

    def create_comment(self, pr: PullRequest, body: str) -> dict[str, Any]:
        url = f"{self.base}/repos/{pr.repository}/issues/{pr.number}/comments"
        return self._object(self._request("POST", url, {"body": body})[0])

    def update_comment(self, pr: PullRequest, comment_id: int, body: str) -> dict[str, Any]:
        url = f"{self.base}/repos/{pr.repository}/issues/comments/{comment_id}"
        return self._object(self._request("PATCH", url, {"body": body})[0])

    # -- one request: rate limits, then redirects, then one exchange under a deadline

    def _request(
        self, method: str, url: str, payload: dict[str, Any] | None = None
    ) -> tuple[object, Mapping[str, str]]:
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        what = f"{method} {printable(url)}"
        for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
            answer = self._follow(method, url, data)
            if 200 <= answer.status < 300:
                return self._json(what, answer), answer.headers
            message = _api_message(answer.body)
            delay = rate_limit_delay(answer.status, answer.headers, message, attempt)
            if delay is None:
                raise _http_error(what, answer.status, message, write=data is not None)
            self._wait(what, answer.status, message, delay)
        raise RateLimited(
            f"{what}: still rate limited by GitHub after {MAX_RATE_LIMIT_RETRIES} retries",
            answer.status,
        )

    def _follow(self, method: str, url: str, data: bytes | None) -> _Answer:
        """Follow redirects within the API origin only. A redirect elsewhere is not
        followed at all, not even without the token: without it the request can neither
        read a private repository nor write, so following could only hand the report (and
        the fact that this job runs) to a server nobody configured. GitHub's own redirects
        (a renamed or transferred repository) stay on the API host."""
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._exchange(method, url, data)
            if answer.status not in _REDIRECTS:
                return answer
            what = f"{method} {printable(url)}: HTTP {answer.status}"
            location = answer.headers.get("location", "")
            if not location:
                raise GitHubError(f"{what}: a redirect without a Location", answer.status)
            target = urllib.parse.urljoin(url, location)
            if _origin(target) != self.origin:
                raise GitHubError(
                    f"{what}: redirected to another origin ({printable(target)}); not followed:"
                    f" the token goes only to {printable(self._origin_text())}",
                    answer.status,
                )
            if answer.status == 303:  # "see other": fetch the result, do not repeat the write
                method, data = "GET", None
            url = target
        raise GitHubError(f"{method} {printable(url)}: more than {MAX_REDIRECTS} redirects")

    def _exchange(self, method: str, url: str, data: bytes | None) -> _Answer:
        """One HTTP exchange, bounded in total time. A socket timeout alone bounds each
        read, not the sum: a server sending a byte a second would never trip it. So the
        exchange runs in a daemon thread that is abandoned at the deadline (the command
        ends with the error right after, which closes its socket)."""
        what = f"{method} {printable(url)}"
        now = time.monotonic()
        left = self.deadline - now
        if left <= 0:
            raise GitHubError(self._out_of_time(what))
        timeout = min(self.limits.request, left)
        box: list[_Answer | BaseException] = []

        def work() -> None:
            try:
                box.append(self._transfer(method, url, data, timeout))
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                box.append(exc)

        worker = threading.Thread(target=work, name="slim-github-request", daemon=True)
        worker.start()
        worker.join(timeout)
        if not box:
            if timeout < self.limits.request:
                raise GitHubError(self._out_of_time(what))
            raise GitHubError(
                f"{what}: no complete answer within {self.limits.request:g} s (SLIM_GITHUB_TIMEOUT)"
            )
        result = box[0]
        if isinstance(result, _Answer):
            return result
        if isinstance(result, urllib.error.URLError):
            raise GitHubError(f"{what}: {printable(str(result.reason))}") from None
        if isinstance(result, (OSError, http.client.HTTPException, ValueError)):
            reason = str(result) or type(result).__name__
            raise GitHubError(f"{what}: {printable(reason)}") from None
        raise result

    def _transfer(self, method: str, url: str, data: bytes | None, timeout: float) -> _Answer:
        request = urllib.request.Request(url, data=data, method=method, headers=self._headers(data))
        try:
            response = _OPENER.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:  # 3xx, 4xx, 5xx: an answer all the same
            response = exc
        with response:
            status = int(getattr(response, "status", None) or response.getcode() or 0)
            headers = {k.lower(): v for k, v in (response.headers or {}).items()}
            body = response.read(self.limits.response_bytes + 1)
        return _Answer(status, headers, body)

    def _out_of_time(self, what: str) -> str:
        return (
            f"{what}: `slim comment` used up its {self.limits.command:g} s on the network"
            " (SLIM_GITHUB_DEADLINE)"
        )

    def _json(self, what: str, answer: _Answer) -> object:
        if len(answer.body) > self.limits.response_bytes:
            raise GitHubError(
                f"{what}: the answer is larger than {self.limits.response_bytes:,} bytes: refused"
            )
        try:
            text = answer.body.decode("utf-8")
        except UnicodeDecodeError:
            raise GitHubError(f"{what}: the answer is not UTF-8 text") from None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise GitHubError(f"{what}: the answer is not JSON") from None

    def _wait(self, what: str, status: int, message: str, delay: float) -> None:
        """Sleep as long as GitHub asks, unless that passes slim's bound: then fail now
        rather than sleep and fail later."""
        said = f"HTTP {status}" + (f": {message}" if message else "")
        left = min(self.limits.rate_limit_wait - self.waited, self.deadline - time.monotonic())
        if delay > left:
            raise RateLimited(
                f"{what}: rate limited by GitHub ({said}); it asks to wait {math.ceil(delay)} s,"
                f" more than slim waits ({self.limits.rate_limit_wait:g} s in all,"
                " SLIM_GITHUB_MAX_WAIT)",
                status,
            )
        warn(f"slim: {what}: rate limited by GitHub ({said}); retrying in {math.ceil(delay)} s")
        time.sleep(delay)
        self.waited += delay

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

    def _next_link(self, current: str, link: str) -> str | None:
        for part in link.split(","):
            match = re.match(r'\s*<([^>]+)>\s*;.*\brel="?next"?', part)
            if match:
                url = str(urllib.parse.urljoin(current, match.group(1)))
                if _origin(url) != self.origin:
                    raise GitHubError(
                        f"pagination link to another origin refused: {printable(url)}"
                    )
                return url
        return None

    def _origin_text(self) -> str:
        scheme, host, port = self.origin
        return f"{scheme}://{host}:{port}"

    @staticmethod
    def _object(data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise GitHubError("the API answered without a comment object")
        return data


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port), the unit the token is bound to; None for a URL that has user
    info (`https://x@host/`) or no usable host or port."""
    try:
        parsed = urllib.parse.urlsplit(url)
        port = parsed.port
    except ValueError:
        return None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https") or not parsed.hostname or "@" in parsed.netloc:
        return None
    return scheme, parsed.hostname.lower(), port or (443 if scheme == "https" else 80)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def rate_limit_delay(
    status: int, headers: Mapping[str, str], message: str, attempt: int = 0
) -> float | None:
    """Seconds to wait before retrying, or None when the answer is not a rate limit.

    GitHub's documentation ("Rate limits for the REST API", exceeding the rate limit):
    403 or 429; `retry-after` seconds when present; else with `x-ratelimit-remaining: 0`,
    until `x-ratelimit-reset` (UTC epoch seconds); else, for a secondary rate limit
    (the message says so), at least a minute, growing exponentially. A 403 with none of
    these is a permission refusal (the read-only token of a fork), not a rate limit."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        return _retry_after(retry_after.strip(), 60.0 * 2.0**attempt)
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        try:
            return max(0.0, int(headers.get("x-ratelimit-reset", "")) - time.time())
        except ValueError:
            return 60.0 * 2.0**attempt
    if status == 429 or "rate limit" in message.lower():
        return 60.0 * 2.0**attempt
    return None


def _retry_after(value: str, otherwise: float) -> float:
    """Retry-After: delay-seconds or an HTTP-date (RFC 9110)."""
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return otherwise
    return max(0.0, when.timestamp() - time.time()) if when.tzinfo else otherwise


def _api_message(body: bytes) -> str:
    """GitHub's `message` (and the `errors[].message` details of a 422) from an error
    answer, safe to print; "" when the body is not that."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [data.get("message")]
    errors = data.get("errors")
    if isinstance(errors, list):
        parts += [e.get("message") if isinstance(e, dict) else e for e in errors[:3]]
    return printable(": ".join(p for p in parts if isinstance(p, str) and p))


def _http_error(what: str, status: int, message: str, write: bool) -> GitHubError:
    text = f"{what}: HTTP {status}" + (f": {message}" if message else "")
    if status == 403 and write:  # the fork's read-only token; a 403 to a read is not that
        return ReadOnlyToken(text, status)
    if status == 401:
        text += " (is GITHUB_TOKEN set to the job token?)"
    return GitHubError(text, status)


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
        marked = [c for c in client.list_comments(pr) if _carries_marker(c, head)]
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
            return Outcome("updated", _url(client.update_comment(pr, comment_id, body)), "", notes)
        return Outcome("created", _url(client.create_comment(pr, body)), "", notes)
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
