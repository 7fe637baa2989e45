# Collect the shared-library closure of every program in $SLIM_BINARIES (space-separated
# absolute paths) into /closure, each file at
# the exact path the dynamic loader looks for it. ldd resolves DT_NEEDED
# recursively; libraries that programs dlopen (libgcc_s for pthread_cancel and
# unwinding, NSS modules) are named in $SLIM_CLOSURE_EXTRA and found by name.
# A library whose soname matches a pattern of $SLIM_CLOSURE_PROVIDED is in the runtime
# base already (glibc on busybox:glibc) and is left out.
# A program cross-compiled for another architecture (several `platforms:`) cannot be run,
# so neither can ldd nor the target's loader: its DT_NEEDED entries are walked with readelf
# in the cross toolchain's sysroot (/usr/<triplet>/lib, Debian's libc6-dev-arm64-cross),
# and the libraries go where that architecture's loader looks: /lib/<triplet>.
mkdir -p /closure
dynamic=""
foreign=""
interpreter() {
  readelf -l "$1" 2>/dev/null | sed -n 's|.*Requesting program interpreter: \(/[^]]*\)\]$|\1|p'
}
for binary in $SLIM_BINARIES; do
  if [ -L "$binary" ]; then continue; fi  # a link to another executable (multi-call)
  if ldd "$binary" >/dev/null 2>&1; then
    dynamic="$dynamic $binary"
  elif [ -n "$(interpreter "$binary")" ]; then
    foreign="$foreign $binary"
  else
    # Statically linked (e.g. Go without cgo): no loader, nothing to collect.
    echo "slim: closure: $binary is not dynamically linked: nothing to collect for it" >&2
  fi
done
if [ -z "$dynamic$foreign" ]; then exit 0; fi
provided() {
  set -f  # the patterns are matched, not expanded against files
  for pattern in $SLIM_CLOSURE_PROVIDED; do
    case "$1" in $pattern) set +f; return 0 ;; esac
  done
  set +f
  return 1
}
if [ -n "$foreign" ]; then
  first=${foreign# }
  first=${first%% *}
  loader=$(interpreter "$first")
  sysroot=""
  for lib in /usr/*-linux-*/lib; do
    if [ -e "$lib/${loader##*/}" ]; then sysroot=$lib; break; fi
  done
  if [ -z "$sysroot" ]; then
    echo "slim: closure: $first asks for $loader, which no cross sysroot (/usr/<triplet>/lib) has" >&2
    exit 1
  fi
  triplet=${sysroot%/lib}
  triplet=${triplet##*/}
  seen=" ${loader##*/} "  # libc names the loader too: it is copied once, at its own path
  mkdir -p "/closure${loader%/*}" "/closure/lib/$triplet"
  if ! provided "${loader##*/}"; then cp -L "$sysroot/${loader##*/}" "/closure$loader"; fi
  walk() {
    for name in $(readelf -d "$1" | sed -n 's|.*(NEEDED).*Shared library: \[\(.*\)\]$|\1|p'); do
      case "$seen" in *" $name "*) continue ;; esac
      seen="$seen$name "
      if provided "$name"; then continue; fi
      found=""
      for dir in "$sysroot" "/lib/$triplet" "/usr/lib/$triplet"; do
        if [ -e "$dir/$name" ]; then found="$dir/$name"; break; fi
      done
      if [ -z "$found" ]; then echo "slim: closure: $name (needed by $1) is not in $sysroot" >&2; exit 1; fi
      cp -L "$found" "/closure/lib/$triplet/$name"
      walk "$found"
    done
  }
  for binary in $foreign; do walk "$binary"; done
  for name in $SLIM_CLOSURE_EXTRA; do
    if provided "$name"; then continue; fi
    if [ ! -e "$sysroot/$name" ]; then echo "slim: closure: $name not in $sysroot" >&2; exit 1; fi
    cp -L "$sysroot/$name" "/closure/lib/$triplet/$name"
    walk "$sysroot/$name"
  done
fi
if [ -n "$dynamic" ]; then
  first=${dynamic# }
  first=${first%% *}
  libdir=$(dirname "$(ldd "$first" | awk '$1 ~ /^libc\.so/ {print $3}')")
  # The folders the loader searches with no ld.so.cache (scratch has none), as it lists them
  # (glibc 2.33 and later). A library ldd found elsewhere — through the build image's cache,
  # e.g. gcc:14's /usr/local/lib64 or a library installed in /usr/local/lib — goes beside
  # libc, where the loader will look; elsewhere it would not be found at run time.
  loader=$(ldd "$first" | awk '$2 != "=>" && $1 ~ /^\// {print $1; exit}')
  searched=$("$loader" --help 2>/dev/null | sed -n 's|^  \(/[^ ]*\) (system search path)$|\1|p')
  place() {
    if [ -n "$searched" ] && ! printf '%s\n' $searched | grep -qxF "$(dirname "$1")"; then
      mkdir -p "/closure$libdir"
      cp -L "$1" "/closure$libdir/${1##*/}"
    else
      cp -L --parents "$1" /closure/
    fi
  }
  collect() {
    ldd "$1" | while read -r first arrow path rest; do
      case "$first" in linux-vdso.so.*|linux-gate.so.*) continue ;; esac
      if provided "${first##*/}"; then continue; fi
      if [ "$arrow" = "=>" ]; then
        case "$path" in /*) place "$path" ;; esac
      else
        case "$first" in /*) cp -L --parents "$first" /closure/ ;; esac  # the loader: its own path
      fi
    done
  }
  for binary in $dynamic; do collect "$binary"; done
  for name in $SLIM_CLOSURE_EXTRA; do
    if provided "$name"; then continue; fi
    found=$(find /lib /usr/lib /lib64 -name "$name" 2>/dev/null | head -n 1)
    if [ -z "$found" ]; then echo "slim: closure: $name not found in the build image" >&2; exit 1; fi
    mkdir -p "/closure$libdir"
    cp -L "$found" "/closure$libdir/$name"
    collect "$found"
  done
fi
