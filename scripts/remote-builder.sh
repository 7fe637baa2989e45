#!/usr/bin/env bash
# Make sure buildx has a builder that is not the engine's own: `slim-remote`, a `remote`
# driver builder (BuildKit's gRPC API on a unix socket) whose BuildKit is the one in the
# containerd-store engine (scripts/engine.sh --containerd-store), relayed by
# scripts/buildkit_socket.py. It has no access to the default engine's image store, as a
# docker-container, remote or kubernetes builder has none: `--load` sends a tarball,
# `--output registry` pushes from BuildKit, `--output oci` writes through the client.
# (No moby/buildkit image can be pulled here and Debian packages no buildkitd.)
#
# Usage: scripts/remote-builder.sh   (after scripts/engine.sh --containerd-store)
# Prints SLIM_TEST_REMOTE_BUILDER=slim-remote as the last line of stdout. Log:
# /var/log/slim-buildkit-socket.log. Nothing is done when the builder already answers.
set -euo pipefail
cd "$(dirname "$0")"

readonly NAME=slim-remote
readonly ENGINE=/run/slim-containerd/docker.sock
readonly SOCK=/run/slim-buildkit.sock
readonly PIDFILE=/run/slim-buildkit-socket.pid
readonly LOG=/var/log/slim-buildkit-socket.log

log() { printf 'remote-builder.sh: %s\n' "$*" >&2; }
answers() { timeout 60 docker buildx inspect --bootstrap "$NAME" >/dev/null 2>&1; }

[[ -S "$ENGINE" ]] || { log "error: no containerd-store engine at $ENGINE (scripts/engine.sh --containerd-store)"; exit 1; }
# Whether something listens on the socket (a socket file left by a dead relay refuses).
listening() {
    python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' \
        "$SOCK" 2>/dev/null
}
if ! listening; then
    if [[ -f "$PIDFILE" ]]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
    rm -f "$SOCK"
    setsid python3 buildkit_socket.py "$ENGINE" "$SOCK" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 50); do
        listening && break
        sleep 0.1
    done
fi
if ! docker buildx inspect "$NAME" >/dev/null 2>&1; then
    docker buildx create --name "$NAME" --driver remote "unix://${SOCK}" >/dev/null
fi
answers || { log "error: builder $NAME does not answer (see $LOG)"; exit 1; }
log "builder $NAME: BuildKit of $ENGINE on unix://${SOCK}"
echo "SLIM_TEST_REMOTE_BUILDER=${NAME}"
