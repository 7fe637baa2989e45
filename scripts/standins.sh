#!/usr/bin/env bash
# Build offline stand-ins for public base images from Debian bookworm packages and import them
# into the Docker engine that `docker` talks to (DOCKER_HOST respected: run it once per engine,
# e.g. `DOCKER_HOST=unix:///run/slim-containerd/docker.sock scripts/standins.sh`).
#
# Usage: scripts/standins.sh [--rebuild] [--list]
#   --rebuild   rebuild the cached root filesystems (else they are reused) and re-import them
#   --list      only print the table of stand-in images present in the engine
#
# Images (each labelled io.slim-bake.standin=<what it really is>):
#   slim-standin/gcc:bookworm            minbase + gcc libc6-dev musl-tools binutils ca-certificates tzdata
#   slim-standin/gcc:tools               the gcc stand-in + g++ make cmake meson ninja-build autoconf automake ccache
#   slim-standin/gcc:cross               gcc:tools + a layer of gcc/g++-aarch64-linux-gnu libc6-dev-arm64-cross
#                                        musl-dev:arm64 (aarch64-linux-musl-gcc) and <arch>-linux-musl-strip
#   slim-standin/golang:bookworm         minbase + golang-go (Go 1.19) gcc libc6-dev musl-tools ca-certificates
#   slim-standin/rust:bookworm           minbase + rustc 1.63 cargo gcc + the librust-*-dev crates of the real-program
#                                        tests (ripgrep's) as cargo's offline crates.io (/usr/share/cargo/registry)
#   slim-standin/rust:cross              rust:bookworm + a layer of gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#                                        and libstd-rust-dev:arm64's standard library (rustlib/aarch64-*)
#   slim-standin/debian:bookworm-slim    minbase without docs/man/locales
#   slim-standin/busybox:glibc           static busybox + applets + glibc runtime libraries
#   slim-standin/busybox:static          static busybox + applets only
#   slim-standin/alpine:musl             static busybox + applets + musl's loader /lib/ld-musl-<arch>.so.1
#   slim-standin/distroless:static       passwd/group (root, nonroot 65532), CA bundle, zoneinfo, no shell
#   slim-standin/distroless:cc           distroless:static + glibc runtime, libgcc_s, libstdc++
#   slim-standin/distroless:cc-multiarch distroless:cc for linux/amd64 and linux/arm64 } containerd image
#   slim-standin/alpine:musl-multiarch   alpine:musl for linux/amd64 and linux/arm64   } store only
#
# An image that already exists with the current STANDIN_VERSION label is skipped, so a second
# run takes seconds. Root filesystems are cached as .tar.zst in /var/cache/slim-standins (so a
# second engine imports them without rebuilding). Needs root (mmdebstrap) on Debian 12/13, and
# a running engine (scripts/engine.sh). SLIM_DEBIAN_MIRROR overrides the Debian mirror.
set -euo pipefail

readonly STANDIN_VERSION=2
readonly SUITE=bookworm
readonly CACHE=/var/cache/slim-standins
readonly TARS="$CACHE/v${STANDIN_VERSION}"
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly VERSION_LABEL=io.slim-bake.standin.version

log() { printf 'standins.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

rebuild=0
list_only=0
for arg in "$@"; do
    case "$arg" in
        --rebuild) rebuild=1 ;;
        --list) list_only=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

# name|tarball|description|extra --change lines (separated by ';;')
readonly IMAGES=(
    "slim-standin/gcc:bookworm|gcc|stand-in for gcc: Debian bookworm minbase + gcc 12, libc6-dev, musl-tools, binutils, ca-certificates, tzdata|ENV PATH=${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/gcc:tools|gcc-tools|stand-in for gcc with build systems: Debian bookworm minbase + gcc/g++ 12, libc6-dev, musl-tools, make, cmake, meson, ninja, autoconf, automake, ccache|ENV PATH=${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/gcc:cross|gcc-cross|stand-in for a Debian image with cross compilers: the gcc:tools stand-in + gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu, libc6-dev-arm64-cross, musl-dev:arm64 (aarch64-linux-musl-gcc), <arch>-linux-musl-strip links|ENV PATH=${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/golang:bookworm|golang|stand-in for golang: Debian bookworm minbase + golang-go (Go 1.19), gcc, libc6-dev, musl-tools, ca-certificates|ENV GOPATH=/go;;ENV PATH=/go/bin:/usr/lib/go/bin:${DEFAULT_PATH};;WORKDIR /go;;CMD [\"bash\"]"
    "slim-standin/rust:bookworm|rust|stand-in for rust: Debian bookworm minbase + rustc 1.63, cargo, gcc, libc6-dev and the librust-*-dev crates of ripgrep, crates.io replaced by the offline directory /usr/share/cargo/registry in /usr/local/cargo/config.toml (CARGO_HOME)|ENV CARGO_HOME=/usr/local/cargo;;ENV PATH=/usr/local/cargo/bin:${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/rust:cross|rust-cross|stand-in for rust with cross compiling: the rust:bookworm stand-in + gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and the aarch64-unknown-linux-gnu standard library of libstd-rust-dev:arm64|ENV PATH=/usr/local/cargo/bin:${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/debian:bookworm-slim|debian-slim|stand-in for debian:bookworm-slim: Debian bookworm minbase without docs, man pages and locales|ENV PATH=${DEFAULT_PATH};;CMD [\"bash\"]"
    "slim-standin/busybox:glibc|busybox-glibc|stand-in for busybox:glibc: Debian static busybox + applet links in /bin + glibc 2.36 runtime libraries and loader from Debian libc6|ENV PATH=${DEFAULT_PATH};;CMD [\"sh\"]"
    "slim-standin/busybox:static|busybox-static|stand-in for a static busybox: Debian busybox-static at /bin/busybox + applet links in /bin, nothing else|ENV PATH=${DEFAULT_PATH};;CMD [\"sh\"]"
    "slim-standin/alpine:musl|alpine-musl|stand-in for alpine (runtime only, no apk): Debian static busybox + applet links + Debian musl 1.2.3 as /lib/ld-musl loader|ENV PATH=${DEFAULT_PATH};;CMD [\"/bin/sh\"]"
    "slim-standin/distroless:static|distroless-static|stand-in for gcr.io/distroless/static: passwd/group with root and nonroot (65532), /tmp, /home/nonroot, CA bundle, zoneinfo, nsswitch.conf, no shell, from Debian bookworm files|ENV PATH=${DEFAULT_PATH};;ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    "slim-standin/distroless:cc|distroless-cc|stand-in for gcr.io/distroless/cc: distroless:static stand-in + Debian bookworm glibc runtime libraries and loader, libgcc_s.so.1, libstdc++.so.6, no shell|ENV PATH=${DEFAULT_PATH};;ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
)

# Multi-platform stand-ins (linux/amd64 + linux/arm64), made on an engine with the containerd
# image store only (the classic store keeps one platform per name): a runtime base for the
# builds of several platforms. Their arm64 files come from Debian's arm64 packages, unpacked
# (mmdebstrap --variant=extract: nothing of arm64 is run); the applets are the amd64 busybox's.
readonly MULTI=(
    "slim-standin/distroless:cc-multiarch|distroless-cc|stand-in for gcr.io/distroless/cc on linux/amd64 and linux/arm64: distroless:cc's files, each platform's Debian glibc, libgcc_s and libstdc++|ENV PATH=${DEFAULT_PATH};;ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    "slim-standin/alpine:musl-multiarch|alpine-musl|stand-in for alpine on linux/amd64 and linux/arm64 (runtime only): each platform's Debian static busybox + applet links + musl loader|ENV PATH=${DEFAULT_PATH};;CMD [\"/bin/sh\"]"
)
readonly ARM64_PACKAGES=libc6,libgcc-s1,libstdc++6,musl,busybox-static

field() { # field ENTRY N
    local IFS='|'
    local -a f
    read -r -a f <<<"$1"
    printf '%s' "${f[$2]}"
}

# ---------------------------------------------------------------- engine
command -v docker >/dev/null 2>&1 || die "no docker client on PATH (run scripts/engine.sh first)"
timeout 15 docker info >/dev/null 2>&1 ||
    die "the engine at ${DOCKER_HOST:-unix:///var/run/docker.sock} does not answer (run scripts/engine.sh first)"

print_table() {
    local entry name size label
    printf '%-36s %12s  %s\n' IMAGE SIZE LABEL
    for entry in "${IMAGES[@]}"; do
        name="$(field "$entry" 0)"
        if size="$(docker image inspect -f '{{.Size}}' "$name" 2>/dev/null)"; then
            label="$(docker image inspect -f '{{index .Config.Labels "io.slim-bake.standin"}}' "$name")"
        else
            size=-
            label="(missing)"
        fi
        printf '%-36s %12s  %s\n' "$name" "$size" "$label"
    done
}

if [[ $list_only == 1 ]]; then
    print_table
    exit 0
fi

image_current() { # the image exists and carries this script's version label
    local v
    v="$(docker image inspect -f "{{index .Config.Labels \"${VERSION_LABEL}\"}}" "$1" 2>/dev/null)" &&
        [[ "$v" == "$STANDIN_VERSION" ]]
}

todo=()
for entry in "${IMAGES[@]}"; do
    if [[ $rebuild == 1 ]] || ! image_current "$(field "$entry" 0)"; then
        todo+=("$entry")
    fi
done
multi_todo=()
if [[ "$(docker info -f '{{json .DriverStatus}}' 2>/dev/null)" == *io.containerd.snapshotter* ]]; then
    for entry in "${MULTI[@]}"; do
        if [[ $rebuild == 1 ]] || ! image_current "$(field "$entry" 0)"; then
            multi_todo+=("$entry")
        fi
    done
fi
if ((${#todo[@]} == 0 && ${#multi_todo[@]} == 0)); then
    log "all stand-in images present (version ${STANDIN_VERSION}) in ${DOCKER_HOST:-unix:///var/run/docker.sock}"
    print_table
    exit 0
fi

# ---------------------------------------------------------------- tools
[[ $(id -u) == 0 ]] || die "must run as root (mmdebstrap, file ownership in the images)"
missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$TARS"
# Root filesystems of earlier stand-in versions are never used again.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'v[0-9]*' ! -name "v${STANDIN_VERSION}" \
    -exec rm -rf {} +
# One builder at a time: the cache is shared by every engine.
exec 9>"$CACHE/.lock"
flock 9
if [[ $rebuild == 1 ]]; then
    rm -f "$TARS"/*.tar.zst
fi

# mmdebstrap reads sources.list lines from stdin when stdin is not a terminal and no mirror is
# given: always give stdin /dev/null (default: deb.debian.org + bookworm-updates + security).
mirror_args=()
if [[ -n "${SLIM_DEBIAN_MIRROR:-}" ]]; then
    mirror_args=("$SLIM_DEBIAN_MIRROR")
fi

# Without the merged-usr hook, apt satisfies init-system-helpers' "usrmerge | usr-is-merged" with
# usrmerge, which drags perl (about 45 MB) into every image; the official images do not have it.
hook_args=()
if [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]]; then
    hook_args=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
fi

mmdeb() { # mmdeb OUTPUT ARGS...
    local out="$1"
    shift
    mmdebstrap --quiet --variant=minbase --skip=output/dev "${hook_args[@]}" "$@" \
        "$SUITE" "$out" "${mirror_args[@]}" </dev/null
}

# Same excludes as the official debian:*-slim images (debuerreotype's slimify).
readonly SLIM_DPKG=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/groff/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    --dpkgopt='path-exclude=/usr/share/linda/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
)

build_gcc() {
    mmdeb "$1" --include=gcc,libc6-dev,musl-tools,binutils,ca-certificates,tzdata
}
build_gcc_tools() { # C/C++ with the build systems slim drives (make, cmake, meson, autotools)
    mmdeb "$1" --include=gcc,g++,libc6-dev,musl-tools,binutils,make,cmake,meson,ninja-build,autoconf,automake,ccache,pkgconf,ca-certificates,tzdata
}
# The cross compilers as one layer on the gcc:tools stand-in (native gcc/g++ and the build
# systems are there already): only the files of the cross packages, which all carry the
# target's name (aarch64/arm64) in their paths; the host libraries they need are in gcc:tools.
# Left out (100 MB, and as many seconds of a layer commit on the containerd store): the
# sanitizer runtimes, LTO (lto1, lto-dump), gcov, gold and dwp, and the arm64 packages'
# own runtime files (/lib and /usr/lib/aarch64-linux-gnu, the loader, /etc: glibc, LLVM,
# ICU... that libstd-rust pulls in; a cross build links against the sysroot
# /usr/aarch64-linux-gnu, as it does on the real bases, which have none of them).
# One minbase of its own would cost a minute and 200 MB more on a fresh machine.
cross_layer() { # cross_layer OUT PACKAGES [EXTRA-PATH...]: the cross files of PACKAGES as a tar
    local out="$1" packages="$2" tree="$CACHE/tree-$(basename "$1")"
    shift 2
    rm -rf "$tree"
    mkdir -p "$tree"
    mmdebstrap --quiet --variant=extract --skip=output/dev --architectures=amd64,arm64 \
        --include="$packages" "$SUITE" "$tree" "${mirror_args[@]}" </dev/null
    (
        cd "$tree"
        "${LAYER_HOOK:-true}" "$tree"
        {
            find . ! -type d \( -path '*aarch64*' -o -path '*arm64*' \) \
                ! -path './usr/share/*' ! -path './etc/*' ! -path './usr/lib/aarch64-linux-gnu/*' \
                ! -path './lib/aarch64-linux-gnu/*' ! -path './lib/ld-linux-aarch64.so.1' ! -name 'lib*san*' \
                ! -name '*lto-dump*' ! -name lto1 ! -name '*gcov*' ! -name '*ld.gold' ! -name '*-dwp'
            printf '%s\n' "$@"
        } | LC_ALL=C sort -u | tar --numeric-owner --no-recursion -c -T -
    ) | zstd -q -T0 >"$out"
    rm -rf "$tree"
}
# musl C for each architecture as musl cross toolchains name it: <arch>-linux-musl-gcc comes
# with that architecture's musl-dev (gcc:tools has amd64's); <arch>-linux-musl-strip is a link.
musl_strip_links() { # musl_strip_links TREE
    local arch
    mkdir -p "$1/usr/local/bin"
    for arch in x86_64 aarch64; do
        ln -s "/usr/bin/$arch-linux-gnu-strip" "$1/usr/local/bin/$arch-linux-musl-strip"
    done
}
build_gcc_cross() {
    LAYER_HOOK=musl_strip_links cross_layer "$1" \
        gcc-aarch64-linux-gnu,g++-aarch64-linux-gnu,libc6-dev-arm64-cross,musl-dev:arm64 \
        ./usr/local/bin/x86_64-linux-musl-strip
}
build_rust_cross() { # the aarch64 standard library of Debian's rustc (Multi-Arch: same) + its linker
    cross_layer "$1" gcc-aarch64-linux-gnu,libc6-dev-arm64-cross,libstd-rust-dev:arm64
}
build_golang() {
    # shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook (the chroot directory)
    mmdeb "$1" --include=golang-go,gcc,libc6-dev,musl-tools,ca-certificates \
        --customize-hook='mkdir -p "$1/go/src" "$1/go/bin" && chmod -R 1777 "$1/go"'
}
# The crates of the real programs that tests/support/real_programs.py builds (ripgrep 13 and its
# dev-dependencies, which cargo resolves too); apt pulls in their own librust-*-dev dependencies.
readonly RUST_CRATES=(
    librust-bstr-dev librust-clap-2-dev librust-grep-dev librust-grep-searcher-dev librust-ignore-dev
    librust-lazy-static-dev librust-log-dev librust-num-cpus-dev librust-regex-dev librust-serde-json-dev
    librust-termcolor-dev librust-serde-dev librust-serde-derive-dev librust-walkdir-dev
)
build_rust() {
    # Debian's rustc has only its host target (no musl standard library): glibc builds only.
    local crates
    crates="$(IFS=,; echo "${RUST_CRATES[*]}")"
    # shellcheck disable=SC2016 # $1 is expanded by mmdebstrap's hook (the chroot directory)
    mmdeb "$1" --include="rustc,cargo,gcc,libc6-dev,binutils,ca-certificates,${crates}" \
        --customize-hook='mkdir -p "$1/usr/local/cargo/bin" && printf "%s\n" "[source.crates-io]" "replace-with = \"debian\"" "" "[source.debian]" "directory = \"/usr/share/cargo/registry\"" "" "[net]" "offline = true" >"$1/usr/local/cargo/config.toml"'
}
build_debian_slim() {
    mmdeb "$1" "${SLIM_DPKG[@]}"
}

# ---- hand-made root filesystems, from one minbase tree that has every file they need
SRC="$CACHE/src-rootfs"
src_ready=0
build_src() {
    [[ $src_ready == 1 ]] && return
    rm -rf "$SRC"
    log "mmdebstrap: source tree for the hand-made stand-ins ($SRC, log: $CACHE/src-rootfs.log)"
    if ! mmdeb "$SRC" --include=busybox-static,musl,ca-certificates,tzdata,libgcc-s1,libstdc++6 \
        >"$CACHE/src-rootfs.log" 2>&1; then
        tail -n 20 "$CACHE/src-rootfs.log" >&2
        die "mmdebstrap of the source tree failed"
    fi
    src_ready=1
}

copy_path() { # copy_path DEST ABSPATH: one file or symlink from $SRC, parents made real dirs
    local dest="$1" p="$2"
    mkdir -p "$dest$(dirname "$p")"
    if [[ -L "$SRC$p" ]]; then
        ln -sfn "$(readlink "$SRC$p")" "$dest$p"
    else
        cp -p "$SRC$p" "$dest$p"
    fi
}

pkg_libs() { # the shared libraries (and loader links) a Debian package ships under /lib*, /usr/lib*
    local list
    list="$(compgen -G "$SRC/var/lib/dpkg/info/$1:*.list" || compgen -G "$SRC/var/lib/dpkg/info/$1.list")" ||
        die "package $1 not in $SRC"
    grep -E '^(/usr)?/lib(64|x32)?/([^/]+/)?[^/]+\.so(\.[0-9]+)*$' "$(head -n1 <<<"$list")"
}

add_libs() { # add_libs DEST PKG...
    local dest="$1" p f files
    shift
    for p in "$@"; do
        files="$(pkg_libs "$p")"
        for f in $files; do copy_path "$dest" "$f"; done
    done
}

add_busybox() { # add_busybox DEST [BUSYBOX]: static busybox at /bin/busybox + a link in /bin per applet
    local dest="$1" host a
    host="$SRC$(src_resolve /bin/busybox)"
    mkdir -p "$dest/bin"
    cp "${2:-$host}" "$dest/bin/busybox"
    while read -r a; do
        [[ "$a" == busybox || -e "$dest/bin/$a" ]] || ln -s busybox "$dest/bin/$a"
    done < <("$host" --list) # the same Debian busybox on every architecture: the same applets
    mkdir -p "$dest/usr/bin" "$dest/sbin" "$dest/usr/sbin"
    ln -sfn ../../bin/env "$dest/usr/bin/env"
}

add_base() { # add_base DEST: minimal /etc, /tmp, /root
    local dest="$1"
    mkdir -p "$dest/etc" "$dest/root" "$dest/tmp" "$dest/home" "$dest/var"
    chmod 1777 "$dest/tmp"
    chmod 700 "$dest/root"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dest/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$dest/etc/group"
    printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' 'networks: files' \
        'protocols: files' 'services: files' >"$dest/etc/nsswitch.conf"
}

add_distroless() { # add_distroless DEST: the files of gcr.io/distroless/static
    local dest="$1"
    mkdir -p "$dest/etc/ssl/certs" "$dest/usr/share" "$dest/root" "$dest/tmp" "$dest/home/nonroot" "$dest/var"
    chmod 1777 "$dest/tmp"
    chmod 700 "$dest/root" "$dest/home/nonroot"
    chown 65532:65532 "$dest/home/nonroot"
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$dest/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$dest/etc/group"
    printf '%s\n' 'passwd: files' 'group: files' 'shadow: files' 'hosts: files dns' 'networks: files' \
        'protocols: files' 'services: files' >"$dest/etc/nsswitch.conf"
    cp "$SRC$(src_resolve /etc/ssl/certs/ca-certificates.crt)" "$dest/etc/ssl/certs/ca-certificates.crt"
    cp -a "$SRC/usr/share/zoneinfo" "$dest/usr/share/zoneinfo"
    printf '%s\n' 'PRETTY_NAME="Distroless stand-in (Debian GNU/Linux 12 files)"' 'NAME="Debian GNU/Linux"' \
        'ID="debian"' 'VERSION_ID="12"' 'VERSION="Debian GNU/Linux 12 (bookworm)"' >"$dest/etc/os-release"
}

add_alpine() { # add_alpine DEST BUSYBOX LOADER-NAME LOADER-FILE (BUSYBOX "": the host's)
    local dest="$1" loader="$3"
    add_busybox "$dest" "$2"
    add_base "$dest"
    mkdir -p "$dest/lib"
    # As on Alpine: the loader is libc itself; libc.musl-<arch>.so.1 links to it.
    cp -L "$4" "$dest/lib/$loader"
    ln -s "$loader" "$dest/lib/libc.musl-${loader#ld-musl-}"
    printf '%s\n' 'NAME="Alpine Linux (stand-in: Debian busybox-static + musl)"' 'ID=alpine' \
        'PRETTY_NAME="Alpine Linux stand-in"' >"$dest/etc/os-release"
}

musl_loader() { # the name of the loader a musl-gcc binary asks for: /lib/ld-musl-<arch>.so.1
    local l
    l="$(compgen -G "$SRC/lib/ld-musl-*.so.1" | head -n1)" || die "musl loader not found in $SRC/lib"
    basename "$l"
}

src_resolve() { # src_resolve ABSPATH: the path with every symlink resolved inside $SRC
    chroot "$SRC" readlink -f "$1"
}

build_tree() { # build_tree KIND DEST
    local kind="$1" dest="$2" loader
    case "$kind" in
        busybox-static) add_busybox "$dest"; add_base "$dest" ;;
        busybox-glibc) add_busybox "$dest"; add_base "$dest"; add_libs "$dest" libc6 ;;
        alpine-musl)
            loader="$(musl_loader)"
            add_alpine "$dest" "" "$loader" "$SRC$(src_resolve "/lib/$loader")"
            ;;
        distroless-static) add_distroless "$dest" ;;
        distroless-cc) add_distroless "$dest"; add_libs "$dest" libc6 libgcc-s1 libstdc++6 ;;
        *) die "unknown tree kind $kind" ;;
    esac
}

make_tar() { # make_tar KIND OUT.tar.zst
    local kind="$1" out="$2" tmp
    case "$kind" in
        gcc) build_gcc "$out" ;;
        gcc-tools) build_gcc_tools "$out" ;;
        gcc-cross) build_gcc_cross "$out" ;;
        rust-cross) build_rust_cross "$out" ;;
        golang) build_golang "$out" ;;
        rust) build_rust "$out" ;;
        debian-slim) build_debian_slim "$out" ;;
        *)
            build_src
            tmp="$CACHE/tree-$kind"
            rm -rf "$tmp"
            mkdir -p "$tmp"
            build_tree "$kind" "$tmp"
            tar --numeric-owner --sort=name -C "$tmp" -c . | zstd -q -T0 >"$out"
            rm -rf "$tmp"
            ;;
    esac
}

import_image() { # import_image ENTRY
    local entry="$1" name kind desc changes tar c
    name="$(field "$entry" 0)"
    kind="$(field "$entry" 1)"
    desc="$(field "$entry" 2)"
    changes="$(field "$entry" 3)"
    tar="$TARS/$kind.tar.zst"
    local args=(--change "LABEL io.slim-bake.standin=\"${desc}\" ${VERSION_LABEL}=\"${STANDIN_VERSION}\"")
    while read -r c; do
        [[ -n "$c" ]] && args+=(--change "$c")
    done <<<"${changes//;;/$'\n'}"
    if [[ $kind == *-cross ]]; then
        layer_image "$tar" "$name" "$desc" "$changes" "$(layered_on "$kind")"
        return
    fi
    log "docker import $name"
    docker import "${args[@]}" --message "slim stand-in: $desc" "$tar" "$name" >/dev/null
}

# TAR as one layer on a stand-in (layered_on), by BuildKit with the layer left uncompressed:
# docker commit gzips it (30 s for 120 MB on the containerd store), this takes 5-7 s.
layered_on() { # layered_on KIND: the stand-in a *-cross layer goes on
    case "$1" in
        gcc-cross) echo slim-standin/gcc:tools ;;
        rust-cross) echo slim-standin/rust:bookworm ;;
        *) die "no base for layer $1" ;;
    esac
}
layer_image() { # layer_image TAR NAME DESCRIPTION CHANGES BASE
    local tar="$1" name="$2" desc="$3" changes="$4" base="$5" context="$CACHE/layer-context"
    log "docker buildx build $name ($base + $(basename "$tar"))"
    rm -rf "$context"
    mkdir -p "$context"
    zstd -dc "$tar" >"$context/layer.tar"
    {
        printf '%s\n' "FROM $base" "ADD layer.tar /"
        printf '%s\n' "LABEL io.slim-bake.standin=\"${desc}\" ${VERSION_LABEL}=\"${STANDIN_VERSION}\""
        printf '%s\n' "${changes//;;/$'\n'}"
    } >"$context/Dockerfile"
    if ! docker buildx build --quiet --provenance=false \
        --output "type=image,name=${name},compression=uncompressed" "$context" >/dev/null; then
        rm -rf "$context"
        die "could not layer $tar on $base"
    fi
    rm -rf "$context"
}

# Build the missing tarballs: the mmdebstrap ones in parallel (downloads overlap), the small
# hand-made ones afterwards from one shared source tree.
pids=()
kinds=()
for entry in "${todo[@]}"; do
    kind="$(field "$entry" 1)"
    tar="$TARS/$kind.tar.zst"
    [[ -s "$tar" ]] && continue
    case "$kind" in
        gcc | gcc-tools | gcc-cross | golang | rust | rust-cross | debian-slim)
            log "mmdebstrap: $kind (log: $CACHE/$kind.log)"
            (
                make_tar "$kind" "$TARS/$kind.tmp.tar.zst"
                mv "$TARS/$kind.tmp.tar.zst" "$tar"
            ) >"$CACHE/$kind.log" 2>&1 &
            pids+=("$!")
            kinds+=("$kind")
            ;;
    esac
done
for entry in "${todo[@]}"; do
    kind="$(field "$entry" 1)"
    tar="$TARS/$kind.tar.zst"
    [[ -s "$tar" ]] && continue
    case "$kind" in
        gcc | gcc-tools | gcc-cross | golang | rust | rust-cross | debian-slim) ;;
        *)
            make_tar "$kind" "$TARS/$kind.tmp.tar.zst"
            mv "$TARS/$kind.tmp.tar.zst" "$tar"
            ;;
    esac
done
rm -rf "$SRC"
src_ready=0
failed=0
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
        log "mmdebstrap for ${kinds[$i]} failed; last lines of $CACHE/${kinds[$i]}.log:"
        tail -n 20 "$CACHE/${kinds[$i]}.log" >&2 || true
        rm -f "$TARS/${kinds[$i]}.tmp.tar.zst"
        failed=1
    fi
done
((failed == 0)) || die "could not build every root filesystem"

for entry in "${todo[@]}"; do
    import_image "$entry"
done

# ---- the multi-platform stand-ins: each platform's tree, then one image of both
ARM64="$CACHE/src-arm64"
arm64_tree() { # arm64_tree KIND DEST: the linux/arm64 counterpart of build_tree's KIND
    local kind="$1" dest="$2"
    case "$kind" in
        distroless-cc)
            add_distroless "$dest"
            # libc6, libgcc-s1, libstdc++6: every shared library of the unpacked arm64 packages
            (cd "$ARM64" && find lib usr/lib \( -type f -o -type l \) \
                \( -path '*/aarch64-linux-gnu/*.so*' -o -name 'ld-linux-aarch64.so.1' \) \
                ! -path '*/gconv/*' ! -path '*/audit/*' | tar -c --no-recursion -T -) | tar -x -C "$dest"
            ;;
        alpine-musl)
            add_alpine "$dest" "$ARM64/bin/busybox" ld-musl-aarch64.so.1 "$ARM64/lib/ld-musl-aarch64.so.1"
            ;;
        *) die "no arm64 tree for $kind" ;;
    esac
}
multi_image() { # multi_image ENTRY: linux/amd64 and linux/arm64 of one stand-in under one name
    local entry="$1" name kind desc changes context="$CACHE/multi-context"
    name="$(field "$entry" 0)"
    kind="$(field "$entry" 1)"
    desc="$(field "$entry" 2)"
    changes="$(field "$entry" 3)"
    rm -rf "$context"
    mkdir -p "$context"
    zstd -dc "$TARS/$kind.tar.zst" >"$context/rootfs-amd64.tar" # the amd64 stand-in's own tree
    zstd -dc "$TARS/$kind-arm64.tar.zst" >"$context/rootfs-arm64.tar"
    {
        printf '%s\n' "FROM scratch" "ARG TARGETARCH" "ADD rootfs-\${TARGETARCH}.tar /"
        printf '%s\n' "LABEL io.slim-bake.standin=\"${desc}\" ${VERSION_LABEL}=\"${STANDIN_VERSION}\""
        printf '%s\n' "${changes//;;/$'\n'}"
    } >"$context/Dockerfile"
    log "docker buildx build $name (linux/amd64, linux/arm64)"
    if ! docker buildx build --quiet --provenance=false --platform linux/amd64,linux/arm64 \
        --output "type=image,name=${name}" "$context" >/dev/null; then
        rm -rf "$context"
        die "could not make $name"
    fi
    rm -rf "$context"
}
if ((${#multi_todo[@]})) && [[ "$(dpkg --print-architecture)" != amd64 ]]; then
    log "the multi-platform stand-ins are made on an amd64 machine (its trees are their amd64 half): skipped"
    multi_todo=()
fi
arm64_ready=0
if ((${#multi_todo[@]})); then
    for entry in "${multi_todo[@]}"; do
        kind="$(field "$entry" 1)"
        if [[ ! -s "$TARS/$kind.tar.zst" ]]; then
            make_tar "$kind" "$TARS/$kind.tmp.tar.zst"
            mv "$TARS/$kind.tmp.tar.zst" "$TARS/$kind.tar.zst"
        fi
        if [[ ! -s "$TARS/$kind-arm64.tar.zst" ]]; then
            build_src
            if [[ $arm64_ready == 0 ]]; then # this run's own: never a tree a failed run left
                rm -rf "$ARM64"
                log "mmdebstrap --variant=extract: arm64 ${ARM64_PACKAGES}"
                mmdebstrap --quiet --variant=extract --skip=output/dev --architectures=arm64 \
                    --include="$ARM64_PACKAGES" "$SUITE" "$ARM64" "${mirror_args[@]}" </dev/null
                arm64_ready=1
            fi
            tmp="$CACHE/tree-$kind-arm64"
            rm -rf "$tmp"
            mkdir -p "$tmp"
            arm64_tree "$kind" "$tmp"
            tar --numeric-owner --sort=name -C "$tmp" -c . | zstd -q -T0 >"$TARS/$kind-arm64.tmp.tar.zst"
            mv "$TARS/$kind-arm64.tmp.tar.zst" "$TARS/$kind-arm64.tar.zst"
            rm -rf "$tmp"
        fi
        multi_image "$entry"
    done
    rm -rf "$SRC" "$ARM64"
fi
docker image prune -f --filter "label=${VERSION_LABEL}" >/dev/null 2>&1 || true
print_table
