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
collect() {
  ldd "$1" | while read -r first arrow path rest; do
    case "$first" in linux-vdso.so.*|linux-gate.so.*) continue ;; esac
    if provided "${first##*/}"; then continue; fi
    if [ "$arrow" = "=>" ]; then lib="$path"; else lib="$first"; fi
    case "$lib" in /*) cp -L --parents "$lib" /closure/ ;; esac
  done
}
for binary in $dynamic; do collect "$binary"; done
first=${dynamic# }
first=${first%% *}
libdir=$(dirname "$(ldd "$first" | awk '$1 ~ /^libc\.so/ {print $3}')")
for name in $SLIM_CLOSURE_EXTRA; do
  if provided "$name"; then continue; fi
  found=$(find /lib /usr/lib /lib64 -name "$name" 2>/dev/null | head -n 1)
  if [ -z "$found" ]; then echo "slim: closure: $name not found in the build image" >&2; exit 1; fi
  mkdir -p "/closure$libdir"
  cp -L "$found" "/closure$libdir/$name"
  collect "$found"
done
