"""The GitHub REST API over urllib (no extra dependency), under four rules, because
`slim comment` runs on pull requests from strangers with a token in its environment:

- the token goes only to the API origin the runner names (scheme, host and port of
  GITHUB_API_URL): never over plain http to another machine, never through a redirect
  or a pagination link to another origin;
- every request has a total deadline (a server dripping one byte a second cannot hold
  the job), and so has the whole command;
- an answer is read up to a size cap and must be UTF-8 JSON; any other answer is a
  clear error (exit 3), never a traceback;
- rate limits are waited out as GitHub asks, within a bound; past it, exit 3.

It knows requests, pages and identities, nothing of what is posted (see comment.py)."""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from slim_bake import __version__
from slim_bake.errors import GitHubError, RateLimited, ReadOnlyToken, UsageError
from slim_bake.nofollow import OPENER
from slim_bake.safe_text import printable, warn

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
MAX_PAGES = 100  # 10,000 comments: beyond that something is wrong, stop rather than loop
MAX_RESPONSE = 32 * 1024 * 1024  # a page of 100 comments of 65,536 characters fits
MAX_REDIRECTS = 3  # same-origin ones (a renamed repository); more is a loop
MAX_RATE_LIMIT_RETRIES = 4


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

    def url(self, path: str) -> str:
        """The API URL of `path` (which starts with a slash)."""
        return f"{self.base}{path}"

    def get_pages(self, url: str, what: str) -> Iterator[tuple[str, object]]:
        """(url, answer) of each page: `url`, then every same-origin `rel="next"` link,
        at most MAX_PAGES of them (`what` names the list in that error)."""
        next_url: str | None = url
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            page, headers = self._request("GET", next_url)
            yield next_url, page
            next_url = self._next_link(next_url, headers.get("link", ""))
        raise GitHubError(f"more than {MAX_PAGES} pages of {what}")

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

    def post(self, url: str, payload: dict[str, Any]) -> object:
        return self._request("POST", url, payload)[0]

    def patch(self, url: str, payload: dict[str, Any]) -> object:
        return self._request("PATCH", url, payload)[0]

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
            response = OPENER.open(request, timeout=timeout)
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
