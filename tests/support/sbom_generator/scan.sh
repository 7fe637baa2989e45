#!/bin/sh
# A stand-in SBOM generator for BuildKit's SBOM protocol (docker/buildkit-syft-scanner
# cannot be pulled where no registry is reachable): for each root file system BuildKit
# mounts (BUILDKIT_SCAN_SOURCE, and each folder of BUILDKIT_SCAN_SOURCE_EXTRAS: the build
# stage with BUILDKIT_SBOM_SCAN_STAGE), an in-toto statement whose predicate is an SPDX 2.3
# document of the Debian packages its dpkg database lists (none without one).
set -eu
scan() {
  root=$1
  name=$(basename "$root")
  packages=""
  if [ -f "$root/var/lib/dpkg/status" ]; then
    # Debian package names, versions and architectures are [A-Za-z0-9.+~:-]: JSON-safe.
    packages=$(dpkg-query --admindir="$root/var/lib/dpkg" -W \
      -f='${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n' | awk -F'|' '
      $1 ~ /^ii/ {
        printf "%s{\"SPDXID\":\"SPDXRef-Package-%d\",\"name\":\"%s\",\"versionInfo\":\"%s\",", (n ? "," : ""), n, $2, $3
        printf "\"downloadLocation\":\"NOASSERTION\",\"externalRefs\":[{\"referenceCategory\":\"PACKAGE-MANAGER\","
        printf "\"referenceType\":\"purl\",\"referenceLocator\":\"pkg:deb/debian/%s@%s?arch=%s\"}]}", $2, $3, $4
        n++
      }')
  fi
  printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"%s","documentNamespace":"https://slim-bake.invalid/sbom/%s","creationInfo":{"created":"1970-01-01T00:00:00Z","creators":["Tool: slim-standin-sbom-dpkg"]},"packages":[%s]}}\n' \
    "$name" "$name" "$packages" >"$BUILDKIT_SCAN_DESTINATION/$name.spdx.json"
}
scan "$BUILDKIT_SCAN_SOURCE"
if [ -n "${BUILDKIT_SCAN_SOURCE_EXTRAS:-}" ] && [ -d "$BUILDKIT_SCAN_SOURCE_EXTRAS" ]; then
  for extra in "$BUILDKIT_SCAN_SOURCE_EXTRAS"/*; do
    if [ -d "$extra" ]; then scan "$extra"; fi
  done
fi
