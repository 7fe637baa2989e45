# Collect the shared-library closure of every program in $SLIM_BINARIES (space-separated
# absolute paths) into /closure, each file at
# the exact path the dynamic loader looks for it. ldd resolves DT_NEEDED
# recursively; libraries that programs dlopen (libgcc_s for pthread_cancel and
# unwinding, NSS modules) are named in $SLIM_CLOSURE_EXTRA and found by name.
# A library whose soname matches a pattern of $SLIM_CLOSURE_PROVIDED is in the runtime
# base already (glibc on busybox:glibc) and is left out.
mkdir -p /closure
dynamic=""
for binary in $SLIM_BINARIES; do
  if [ -L "$binary" ]; then continue; fi  # a link to another executable (multi-call)
  if ldd "$binary" >/dev/null 2>&1; then
    dynamic="$dynamic $binary"
  else
    # Statically linked (e.g. Go without cgo): no loader, nothing to collect.
    echo "slim: closure: $binary is not dynamically linked: nothing to collect for it" >&2
  fi
done
if [ -z "$dynamic" ]; then exit 0; fi
provided() {
  set -f  # the patterns are matched, not expanded against files
  for pattern in $SLIM_CLOSURE_PROVIDED; do
    case "$1" in $pattern) set +f; return 0 ;; esac
  done
  set +f
  return 1
}
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
