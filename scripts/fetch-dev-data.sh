#!/usr/bin/env bash
# Fetch dlib's example photos (faces/ with ground-truth boxes, johns/ identities) from the Debian
# package libdlib19.1 for the vision tests and bench. Idempotent: does nothing when already present.
# Usage: scripts/fetch-dev-data.sh [destDir]   (default test/.fixtures/dlib; never commit these photos)
set -euo pipefail

DEST="${1:-test/.fixtures/dlib}"
PKG="libdlib19.1"
DOC="usr/share/doc/${PKG}/examples"

if [[ -f "${DEST}/faces/training.xml" && -f "${DEST}/faces/testing.xml" && -d "${DEST}/johns" ]]; then
  echo "dev data already present in ${DEST}"
  exit 0
fi

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found (Debian/Ubuntu needed)" >&2; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
chmod 777 "$TMP"   # lets apt's sandbox user write the .deb

( cd "$TMP" && apt-get download "$PKG" >/dev/null 2>&1 ) || {
  echo "error: 'apt-get download $PKG' failed (try 'apt-get update' first)" >&2; exit 1; }
dpkg-deb -x "$TMP"/${PKG}_*.deb "$TMP/x"

mkdir -p "$DEST"
rm -rf "${DEST}/faces" "${DEST}/johns"
cp -r "$TMP/x/${DOC}/faces" "${DEST}/faces"
cp -r "$TMP/x/${DOC}/johns" "${DEST}/johns"
# Debian compresses some docs; tests need plain files.
find "$DEST" -name '*.gz' -exec gunzip -f {} +
echo "dev data written to ${DEST}"
