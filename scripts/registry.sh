#!/usr/bin/env bash
# Make sure a local OCI registry answers on 127.0.0.1 (for the registry/OCI output tests).
#
# Usage: scripts/registry.sh
#
# Debian's docker-registry (distribution 2.8) is installed if missing and started in its own
# session, bound to 127.0.0.1 only, storing blobs under /var/lib/slim-registry. Its address is
# printed as the last line of stdout: SLIM_TEST_REGISTRY=127.0.0.1:PORT (SLIM_REGISTRY_PORT,
# default 5000). Log: /var/log/slim-registry.log. Nothing is done when it already answers.
set -euo pipefail

readonly PORT="${SLIM_REGISTRY_PORT:-5000}"
readonly ADDR="127.0.0.1:${PORT}"
readonly ROOT=/var/lib/slim-registry
readonly CONFIG=/etc/slim-registry.yml
readonly LOG=/var/log/slim-registry.log

log() { printf 'registry.sh: %s\n' "$*" >&2; }
# python3 is there (the test command runs pip); curl may not be on a fresh machine.
answers() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "http://${ADDR}/v2/" 2>/dev/null
}

if ! answers; then
    if ! command -v docker-registry >/dev/null; then
        log "installing Debian's docker-registry"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq docker-registry >/dev/null; }
        # The package starts a service on :5000 bound to every address where systemd runs;
        # this one is ours, on 127.0.0.1 only.
        pkill -x docker-registry 2>/dev/null || true
    fi
    mkdir -p "$ROOT"
    cat >"$CONFIG" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${ROOT}
  delete:
    enabled: true
http:
  addr: ${ADDR}
CONF
    setsid docker-registry serve "$CONFIG" >>"$LOG" 2>&1 < /dev/null &
    for _ in $(seq 1 50); do
        answers && break
        sleep 0.2
    done
    answers || { log "error: the registry does not answer on ${ADDR} (see ${LOG})"; exit 1; }
    log "registry on ${ADDR}"
fi
echo "SLIM_TEST_REGISTRY=${ADDR}"
