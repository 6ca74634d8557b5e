#!/usr/bin/env bash
# System packages sieve needs beyond npm:
# - node-mlx (@frost-beta/mlx, used only for training) links libblas.so.3 and liblapack.so.3; OpenBLAS
#   provides both and is much faster than the reference BLAS.
# - the web page's end-to-end test drives Debian's headless Chromium through playwright-core (no browser
#   download: playwright's own browser fetch is not used).
# Idempotent: installs only what is missing; does nothing when not on Debian/Ubuntu Linux.
set -euo pipefail
if [ "$(uname -s)" != "Linux" ]; then exit 0; fi
missing=()
if ! { ldconfig -p 2>/dev/null | grep -q 'liblapack.so.3' && ldconfig -p 2>/dev/null | grep -q 'libblas.so.3'; }; then
  missing+=(libopenblas0)
fi
if ! command -v chromium >/dev/null; then missing+=(chromium); fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "sieve: install ${missing[*]} with your package manager (OpenBLAS for training, Chromium for the page test)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "sieve: installed ${missing[*]}" >&2
