#!/usr/bin/env bash
# Make sure a Docker engine with BuildKit and the buildx plugin answers on this machine.
#
# Usage: scripts/engine.sh [--containerd-store]
#
#   (no option)          Ensure the default engine (unix:///var/run/docker.sock, classic image
#                        store) is installed and running. If `docker info` (DOCKER_HOST respected)
#                        and `docker buildx version` already work, only print one line.
#   --containerd-store   Also start (if not running) a second engine that uses the containerd
#                        image store, on unix:///run/slim-containerd/docker.sock. Its DOCKER_HOST
#                        is printed as the last line of stdout: DOCKER_HOST=unix:///...
#
# Installs (root, Debian 12 or 13): Debian 13 -> docker.io docker-cli docker-buildx from the
# system's own suites; Debian 12 -> Debian 12's containerd runc tini iptables, plus docker.io
# docker-cli docker-buildx downloaded from the trixie suite through a private sources file and
# private apt state (the system's sources are not modified). Downloads are cached in
# /var/cache/slim-engine and skipped when the packages are already installed.
# Engines are started with `dockerd --iptables=false --ip6tables=false` in their own session;
# logs: /var/log/slim-dockerd.log, /var/log/slim-dockerd-containerd.log.
#
# The second engine gets its own bridge, slimctr0 (SLIM_CTR_BRIDGE_CIDR, default 10.199.199.1/24).
#
# Environment: SLIM_DEBIAN_MIRROR overrides the Debian mirror used for the trixie packages
# (default: the system's Debian mirror, else http://deb.debian.org/debian).
set -euo pipefail

readonly DEFAULT_SOCK=/var/run/docker.sock
readonly DEFAULT_HOST="unix://${DEFAULT_SOCK}"
readonly DEFAULT_LOG=/var/log/slim-dockerd.log
readonly CTR_DIR=/run/slim-containerd
readonly CTR_SOCK="${CTR_DIR}/docker.sock"
readonly CTR_HOST="unix://${CTR_SOCK}"
readonly CTR_DATA=/var/lib/slim-containerd
readonly CTR_LOG=/var/log/slim-dockerd-containerd.log
readonly CTR_BRIDGE=slimctr0
readonly CTR_BRIDGE_CIDR="${SLIM_CTR_BRIDGE_CIDR:-10.199.199.1/24}"
readonly CACHE=/var/cache/slim-engine
readonly PLUGIN_DIR=/usr/libexec/docker/cli-plugins
readonly WAIT_SECONDS=60
readonly MIN_ENGINE_VERSION=26

log() { printf 'engine.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

want_ctr=0
for arg in "$@"; do
    case "$arg" in
        --containerd-store) want_ctr=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done
# A caller that already points DOCKER_HOST at the containerd-store engine needs that engine.
if [[ "${DOCKER_HOST:-}" == "$CTR_HOST" ]]; then
    want_ctr=1
fi

# The docker client used internally: Debian's CLI if present (it always has the plugin dir),
# else whatever is on PATH.
cli() {
    if [[ -x /usr/bin/docker ]]; then
        /usr/bin/docker "$@"
    else
        docker "$@"
    fi
}

cli_path() {
    if [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else command -v docker || echo docker; fi
}

answers() { # answers HOST: the engine at HOST replies to `docker info`
    timeout 10 "$(cli_path)" -H "$1" info >/dev/null 2>&1
}

user_ready() { # `docker` as the caller sees it (PATH, DOCKER_HOST) answers and has buildx
    command -v docker >/dev/null 2>&1 &&
        timeout 10 docker info >/dev/null 2>&1 &&
        timeout 10 docker buildx version >/dev/null 2>&1
}

summary() {
    local server buildx host
    server="$(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
    buildx="$(timeout 10 docker buildx version 2>/dev/null | awk '{print $2}' || echo '?')"
    host="${DOCKER_HOST:-$DEFAULT_HOST}"
    echo "engine.sh: docker engine ready: client $(command -v docker), server ${server}, buildx ${buildx}, DOCKER_HOST=${host}"
}

# ---------------------------------------------------------------- fast path
if user_ready && { [[ $want_ctr == 0 ]] || answers "$CTR_HOST"; }; then
    summary
    if [[ $want_ctr == 1 ]]; then echo "DOCKER_HOST=${CTR_HOST}"; fi
    exit 0
fi

[[ $(id -u) == 0 ]] || die "must run as root to install or start the engine"

# One installer/starter at a time (parallel CI jobs on one machine).
mkdir -p /run/lock
exec 9>/run/lock/slim-engine.lock
flock 9

# ---------------------------------------------------------------- install
export DEBIAN_FRONTEND=noninteractive

debian_major() {
    local v
    v="$(cat /etc/debian_version 2>/dev/null || true)"
    case "$v" in
        [0-9]*) echo "${v%%.*}" ;;
        '') die "/etc/debian_version not found: not a Debian system" ;;
        *) echo 99 ;; # testing/unstable ("trixie/sid", "forky/sid"): newer than 13
    esac
}

pkg_version() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null | awk '$1=="ii"{print $2}'; }

engine_installed() {
    local v
    command -v dockerd >/dev/null 2>&1 || return 1
    v="$(pkg_version docker.io)"
    if [[ -n "$v" ]] && dpkg --compare-versions "$v" ge "$MIN_ENGINE_VERSION" &&
        [[ -n "$(pkg_version docker-cli)" ]] && [[ -n "$(pkg_version docker-buildx)" ]]; then
        return 0
    fi
    # An engine installed otherwise (e.g. docker-ce): accept a recent dockerd + a working buildx.
    v="$(dockerd --version 2>/dev/null | sed -nE 's/^Docker version ([0-9]+)\..*/\1/p')"
    [[ -n "$v" ]] && ((v >= MIN_ENGINE_VERSION)) && cli buildx version >/dev/null 2>&1
}

apt_updated=0
apt_update_once() {
    if [[ $apt_updated == 0 ]]; then
        log "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
}

apt_install() { # apt_install PKG... (only those not installed yet)
    local missing=() p
    for p in "$@"; do
        [[ -n "$(pkg_version "$p")" ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        apt_update_once
        log "apt-get install ${missing[*]}"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# The kernel enforces AppArmor: dockerd needs apparmor_parser to load its docker-default profile,
# or every container start fails (Debian's docker.io only Recommends apparmor).
host_apparmor() { [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || true)" == Y* ]]; }

debian_mirror() {
    if [[ -n "${SLIM_DEBIAN_MIRROR:-}" ]]; then
        echo "$SLIM_DEBIAN_MIRROR"
        return
    fi
    local uri
    uri="$(
        {
            grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
            grep -hE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                sed -E 's/\[[^]]*\]//' | awk '{print $2}'
        } | grep -E '/debian/?$' | grep -v security | head -n1 || true
    )"
    echo "${uri:-http://deb.debian.org/debian}"
}

fetch_trixie_debs() { # downloads docker.io docker-cli docker-buildx .debs into $CACHE/debs
    local apt_dir="$CACHE/apt" debs="$CACHE/debs" mirror
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs"
    # apt downloads as _apt when it can write the target directory (else it warns).
    if id _apt >/dev/null 2>&1; then chown _apt:root "$debs"; fi
    if compgen -G "$debs/docker.io_*.deb" >/dev/null && compgen -G "$debs/docker-cli_*.deb" >/dev/null &&
        compgen -G "$debs/docker-buildx_*.deb" >/dev/null; then
        log "using cached trixie packages in $debs"
        return
    fi
    mirror="$(debian_mirror)"
    cat >"$apt_dir/trixie.sources" <<EOF
Types: deb
URIs: ${mirror}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    local opts=(
        -o "Dir::Etc::SourceList=$apt_dir/trixie.sources"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Architecture=$(dpkg --print-architecture)"
    )
    log "fetching docker.io docker-cli docker-buildx from trixie (${mirror})"
    apt-get "${opts[@]}" update -qq
    rm -f "$debs"/*.deb
    (cd "$debs" && apt-get "${opts[@]}" download docker.io docker-cli docker-buildx >/dev/null)
}

install_engine() {
    local major
    major="$(debian_major)"
    local extra=()
    if host_apparmor; then extra+=(apparmor); fi
    if ((major >= 13)); then
        apt_install docker.io docker-cli docker-buildx iptables "${extra[@]}"
    elif ((major == 12)); then
        # Debian 12's own runtime pieces (trixie's tini needs glibc 2.38 and breaks apt here).
        apt_install containerd runc tini iptables ca-certificates "${extra[@]}"
        fetch_trixie_debs
        log "dpkg -i $(cd "$CACHE/debs" && echo ./*.deb)"
        dpkg -i "$CACHE"/debs/*.deb >/dev/null
    else
        die "Debian $major is not supported (need Debian 12 or 13)"
    fi
}

if engine_installed; then
    log "engine already installed: $(dockerd --version)"
else
    install_engine
    engine_installed || die "docker.io/docker-cli/docker-buildx did not install"
fi

# ---------------------------------------------------------------- buildx plugin for the PATH docker
if command -v docker >/dev/null 2>&1 && ! docker buildx version >/dev/null 2>&1; then
    plugin_home="${DOCKER_CONFIG:-${HOME:-/root}/.docker}/cli-plugins"
    log "$(command -v docker) does not find buildx: linking it into $plugin_home"
    mkdir -p "$plugin_home"
    ln -sf "$PLUGIN_DIR/docker-buildx" "$plugin_home/docker-buildx"
fi
cli buildx version >/dev/null 2>&1 || die "docker buildx version fails even with $(cli_path)"

# ---------------------------------------------------------------- start engines
pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_engine() { # wait_engine HOST PIDFILE LOG
    local host="$1" pidfile="$2" logfile="$3" i
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        if answers "$host"; then
            return 0
        fi
        # dockerd writes its pidfile early; if it is gone and the process died, stop waiting.
        if ((i > 10)) && ! pid_alive "$pidfile"; then
            break
        fi
        sleep 0.5
    done
    log "the engine at $host did not answer within ${WAIT_SECONDS}s; last lines of $logfile:"
    tail -n 30 "$logfile" >&2 || true
    exit 1
}

start_dockerd() { # start_dockerd LOG ARGS...: dockerd in its own session, surviving this script
    local logfile="$1"
    shift
    mkdir -p "$(dirname "$logfile")"
    log "starting: dockerd $* (log: $logfile)"
    # 9>&-: the daemon must not inherit the lock, or the next engine.sh waits for ever.
    setsid dockerd "$@" >"$logfile" 2>&1 </dev/null 9>&- &
}

if answers "$DEFAULT_HOST"; then
    log "default engine already answers on $DEFAULT_HOST"
elif pid_alive /var/run/docker.pid; then
    log "dockerd (pid $(cat /var/run/docker.pid)) is starting; waiting"
    wait_engine "$DEFAULT_HOST" /var/run/docker.pid "$DEFAULT_LOG"
elif [[ -d /run/systemd/system ]] && systemctl cat docker.service >/dev/null 2>&1; then
    # With systemd as init, Debian's package ships docker.service/docker.socket: use them.
    log "systemctl start docker.service"
    systemctl start docker.service || true
    wait_engine "$DEFAULT_HOST" /var/run/docker.pid "$DEFAULT_LOG"
else
    start_dockerd "$DEFAULT_LOG" --iptables=false --ip6tables=false
    wait_engine "$DEFAULT_HOST" /var/run/docker.pid "$DEFAULT_LOG"
fi

if [[ $want_ctr == 1 ]]; then
    if answers "$CTR_HOST"; then
        log "containerd-store engine already answers on $CTR_HOST"
    else
        mkdir -p "$CTR_DIR" "$CTR_DATA"
        if ! pid_alive "$CTR_DIR/docker.pid"; then
            printf '%s\n' '{"features":{"containerd-snapshotter":true}}' >"$CTR_DIR/daemon.json"
            # Its own bridge: with --bridge=none dockerd DELETES docker0 at start, which breaks
            # every container of the default engine; and two engines cannot share docker0.
            # dockerd only uses a non-default bridge name that already exists.
            command -v ip >/dev/null 2>&1 || apt_install iproute2
            if ! ip link show "$CTR_BRIDGE" >/dev/null 2>&1; then
                log "creating bridge $CTR_BRIDGE ($CTR_BRIDGE_CIDR) for the containerd-store engine"
                ip link add "$CTR_BRIDGE" type bridge
                ip addr add "$CTR_BRIDGE_CIDR" dev "$CTR_BRIDGE"
                ip link set "$CTR_BRIDGE" up
            fi
            start_dockerd "$CTR_LOG" \
                --config-file="$CTR_DIR/daemon.json" \
                --data-root="$CTR_DATA" \
                --exec-root="$CTR_DIR/exec" \
                --pidfile="$CTR_DIR/docker.pid" \
                --host="$CTR_HOST" \
                --bridge="$CTR_BRIDGE" \
                --iptables=false --ip6tables=false
        fi
        wait_engine "$CTR_HOST" "$CTR_DIR/docker.pid" "$CTR_LOG"
    fi
fi

# ---------------------------------------------------------------- final check as the caller sees it
if ! user_ready; then
    if [[ -n "${DOCKER_HOST:-}" ]] && [[ "$DOCKER_HOST" != "$DEFAULT_HOST" ]] && [[ "$DOCKER_HOST" != "$CTR_HOST" ]]; then
        die "the engine is running on $DEFAULT_HOST but DOCKER_HOST=$DOCKER_HOST does not answer"
    fi
    die "\`docker info\`/\`docker buildx version\` still fail with $(command -v docker || echo 'no docker on PATH')"
fi
summary
if [[ $want_ctr == 1 ]]; then echo "DOCKER_HOST=${CTR_HOST}"; fi
