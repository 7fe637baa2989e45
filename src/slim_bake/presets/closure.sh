# Collect the shared-library closure of every program in $SLIM_BINARIES (space-separated
# absolute paths) into /closure, each file at
# the exact path the dynamic loader looks for it. ldd resolves DT_NEEDED
# recursively; libraries that programs dlopen (libgcc_s for pthread_cancel and
# unwinding, NSS modules) are named in $SLIM_CLOSURE_EXTRA and found by name.
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
collect() {
  ldd "$1" | while read -r first arrow path rest; do
    case "$first" in linux-vdso.so.*|linux-gate.so.*) continue ;; esac
    if [ "$arrow" = "=>" ]; then lib="$path"; else lib="$first"; fi
    case "$lib" in /*) cp -L --parents "$lib" /closure/ ;; esac
  done
}
for binary in $dynamic; do collect "$binary"; done
first=${dynamic# }
first=${first%% *}
libdir=$(dirname "$(ldd "$first" | awk '$1 ~ /^libc\.so/ {print $3}')")
for name in $SLIM_CLOSURE_EXTRA; do
  found=$(find /lib /usr/lib /lib64 -name "$name" 2>/dev/null | head -n 1)
  if [ -z "$found" ]; then echo "slim: closure: $name not found in the build image" >&2; exit 1; fi
  mkdir -p "/closure$libdir"
  cp -L "$found" "/closure$libdir/$name"
  collect "$found"
done
