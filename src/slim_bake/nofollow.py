"""The one way slim opens an HTTP(S) URL that may carry a token (the GitHub API, an
image registry): an opener that follows no redirect by itself.

urllib would follow a redirect to any host and keep the Authorization header; with
this opener every 3xx comes back to the caller, which decides where, and with what, to
go. Only what the clients need: no file:, ftp: or data: handlers. ProxyHandler keeps
HTTPS_PROXY/NO_PROXY working on self-hosted runners."""

from __future__ import annotations

import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.ProxyHandler(),
    urllib.request.HTTPHandler(),
    urllib.request.HTTPSHandler(),
    urllib.request.HTTPDefaultErrorHandler(),
    urllib.request.HTTPErrorProcessor(),
    _NoRedirect(),
):
    OPENER.add_handler(_handler)
