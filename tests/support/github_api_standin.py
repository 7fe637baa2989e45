"""A small stand-in for the GitHub REST API's issue comments, on 127.0.0.1.

Serves what `slim comment` uses, the way GitHub answers it: list a pull request's
comments (paginated with a `Link: <…>; rel="next"` header), create one, update one.
`read_only = True` answers writes with 403 "Resource not accessible by integration",
as GitHub does for the job token of a pull request from a fork. Requests without the
expected bearer token get 401. GET /user answers 403 as it does for the job token,
unless `user_api` (a personal token) is set. A body over 65,536 characters gets
GitHub's 422. Every request is logged for the tests to inspect.

`misbehave` scripts a hostile or overloaded server: each `Misbehaviour` replaces the
normal answer to the next matching request(s) with exactly the bytes it describes
(a redirect, a rate limit, a body dripped a byte at a time, an endless body, …)."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
}


USER_FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
}
TOO_LONG = {
    "message": "Validation Failed",
    "errors": [
        {
            "resource": "IssueComment",
            "code": "unprocessable",
            "field": "data",
            "message": "Body is too long (maximum is 65536 characters)",
        }
    ],
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
}
MAX_BODY = 65536  # characters (code points), as GitHub counts them


@dataclass
class Misbehaviour:
    """One scripted answer, sent byte for byte instead of the normal one."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    method: str | None = None  # only for requests with this method (None: any)
    path: str | None = None  # only for request paths containing this
    times: int = 1  # how many matching requests get it
    drip: float = 0.0  # seconds between single bytes (0: all at once)
    drip_head: bool = False  # drip the status line and headers too, not only the body
    endless: bool = False  # after the body, filler forever, no Content-Length

    def raw_head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} Scripted"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if not self.endless:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class GitHubStandin:
    token: str = "test-token"
    prefix: str = ""  # e.g. "/api/v3" like GitHub Enterprise Server
    page_size_cap: int = 100  # GitHub's own cap; lower it to force pagination
    read_only: bool = False
    bot_login: str = "github-actions[bot]"  # whose name the token writes under
    user_api: bool = False  # GET /user answers (a personal token), not 403 (the job token)
    link_base: str | None = None  # pagination links to another server (a hostile API)
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    misbehave: list[Misbehaviour] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    _next_id: int = 1000
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle
    def start(self) -> GitHubStandin:
        standin = self

        class Handler(_Handler):
            owner = standin

        class Server(ThreadingHTTPServer):
            daemon_threads = True  # a dripping answer must not hold stop()

        self._server = Server(("127.0.0.1", 0), Handler)
        # stop() waits up to one poll interval for the loop to notice: 0.5 s by default,
        # paid by every test that uses the stand-in.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    # -- state helpers for tests
    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> int:
        with self._lock:
            return self._create(repo, number, body, login)["id"]  # type: ignore[no-any-return]

    def bodies(self, repo: str, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get((repo, number), [])]

    def writes(self) -> list[Logged]:
        return [r for r in self.log if r.method in ("POST", "PATCH")]

    def _create(self, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        self._next_id += 1
        owner, name = repo.split("/")
        comment = {
            "id": self._next_id,
            "body": body,
            "user": {"login": login},
            "html_url": f"https://github.test/{repo}/pull/{number}#issuecomment-{self._next_id}",
            "url": f"{self.url}/repos/{owner}/{name}/issues/comments/{self._next_id}",
        }
        self.comments.setdefault((repo, number), []).append(comment)
        return comment

    def _find(self, repo: str, comment_id: int) -> dict[str, Any] | None:
        for (r, _), items in self.comments.items():
            for comment in items:
                if r == repo and comment["id"] == comment_id:
                    return comment
        return None


_LIST = re.compile(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments")
_ONE = re.compile(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)")


class _Handler(BaseHTTPRequestHandler):
    owner: GitHubStandin

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep pytest output clean

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        standin = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        split = urlsplit(self.path)
        with standin._lock:
            headers = {k.lower(): v for k, v in self.headers.items()}  # names are case-blind
            standin.log.append(Logged(method, self.path, headers, body))
            scripted = self._scripted(method)
        if scripted is not None:
            return self._misbehave(scripted)
        with standin._lock:
            if self.headers.get("Authorization") != f"Bearer {standin.token}":
                return self._send(401, {"message": "Bad credentials"})
            if not split.path.startswith(standin.prefix):
                return self._send(404, {"message": "Not Found"})
            path = split.path[len(standin.prefix) :]
            if path == "/user" and method == "GET":
                if not standin.user_api:
                    return self._send(403, USER_FORBIDDEN)
                return self._send(200, {"login": standin.bot_login, "id": 1})
            if method in ("POST", "PATCH") and len(body["body"]) > MAX_BODY:
                return self._send(422, TOO_LONG)
            listing = _LIST.fullmatch(path)
            one = _ONE.fullmatch(path)
            if listing and method == "GET":
                return self._list(listing.group(1), int(listing.group(2)), split.query)
            if listing and method == "POST":
                return self._write(
                    lambda: standin._create(
                        listing.group(1), int(listing.group(2)), body["body"], standin.bot_login
                    ),
                    201,
                )
            if one and method == "PATCH":
                comment = standin._find(one.group(1), int(one.group(2)))
                if comment is None:
                    return self._send(404, {"message": "Not Found"})
                return self._write(lambda: _update(comment, body["body"]), 200)
        return self._send(404, {"message": "Not Found"})

    def _scripted(self, method: str) -> Misbehaviour | None:
        for item in self.owner.misbehave:
            if item.times <= 0 or item.method not in (None, method):
                continue
            if item.path is not None and item.path not in self.path:
                continue
            item.times -= 1
            return item
        return None

    def _misbehave(self, item: Misbehaviour) -> None:
        self.close_connection = True
        head = item.raw_head()
        try:
            if item.drip_head:
                self._drip(head + item.body, item.drip)
            else:
                self.wfile.write(head)
                self.wfile.flush()
                self._drip(item.body, item.drip)
            while item.endless:
                self.wfile.write(b" " * 65536)
        except OSError:  # the client gave up: that is the point
            return

    def _drip(self, data: bytes, interval: float) -> None:
        if not interval:
            self.wfile.write(data)
            return
        for byte in data:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(interval)

    def _list(self, repo: str, number: int, query: str) -> None:
        params = parse_qs(query)
        per_page = min(int(params.get("per_page", ["30"])[0]), self.owner.page_size_cap)
        page = int(params.get("page", ["1"])[0])
        items = self.owner.comments.get((repo, number), [])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            base = self.owner.link_base or f"http://{self.headers['Host']}{self.owner.prefix}"
            nxt = (
                f"{base}/repos/{repo}/issues/{number}/comments?per_page={per_page}&page={page + 1}"
            )
            headers["Link"] = f'<{nxt}>; rel="next", <{nxt}>; rel="last"'
        self._send(200, chunk, headers)

    def _write(self, action: Any, status: int) -> None:
        if self.owner.read_only:
            return self._send(403, FORBIDDEN)
        self._send(status, action())

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def _update(comment: dict[str, Any], body: str) -> dict[str, Any]:
    comment["body"] = body
    return comment
