"""Serve a Docker engine's BuildKit on a plain unix socket, for buildx's `remote` driver.

The engine embeds BuildKit and speaks its gRPC API on `POST /grpc` after an HTTP upgrade
to h2c (that is how buildx's `docker` driver reaches it). This relays each connection to
that endpoint, so that `docker buildx create --driver remote unix://SOCKET` gives a
builder that is not the engine slim measures with: it has no access to that engine's
image store, loads by sending a tarball, pushes by itself and writes OCI layouts through
the client, as a `docker-container` or `remote` BuildKit does. Test set-up only
(scripts/remote-builder.sh starts it).

Usage: python3 buildkit_socket.py ENGINE_SOCKET LISTEN_SOCKET
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

_LINGER = 30.0  # seconds one direction may go on after the other ended
_UPGRADE = (
    b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\n"
    b"Upgrade: h2c\r\nContent-Length: 0\r\n\r\n"
)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then pass the EOF on (a half-close): the other direction goes on."""
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except ConnectionError:
        pass


async def _relay(
    engine: str, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    engine_w: asyncio.StreamWriter | None = None
    try:
        engine_r, engine_w = await asyncio.open_unix_connection(engine)
        engine_w.write(_UPGRADE)
        await engine_w.drain()
        head = await engine_r.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            print(f"buildkit_socket: engine refused the upgrade: {head[:200]!r}", file=sys.stderr)
            return
        pipes = {
            asyncio.ensure_future(_pipe(client_r, engine_w)),
            asyncio.ensure_future(_pipe(engine_r, client_w)),
        }
        # One side is done: the other gets a while to finish its answer, then both close
        # (a peer that never passes its EOF on would keep the connection forever).
        _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        _, late = await asyncio.wait(pending, timeout=_LINGER)
        for pipe in late:
            pipe.cancel()
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        print(f"buildkit_socket: engine at {engine}: {exc}", file=sys.stderr)
    finally:
        for writer in (client_w, engine_w):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()


async def _serve(engine: str, listen: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(listen)
    server = await asyncio.start_unix_server(lambda r, w: _relay(engine, r, w), listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))
