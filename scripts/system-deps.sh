#!/usr/bin/env bash
# System libraries sieve needs beyond npm: node-mlx (@frost-beta/mlx, used only for training) links
# libblas.so.3 and liblapack.so.3. OpenBLAS provides both and is much faster than the reference BLAS.
# Idempotent: does nothing when they are already present or when not on Debian/Ubuntu Linux.
set -euo pipefail
if [ "$(uname -s)" != "Linux" ]; then exit 0; fi
if ldconfig -p 2>/dev/null | grep -q 'liblapack.so.3' && ldconfig -p 2>/dev/null | grep -q 'libblas.so.3'; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "sieve: install OpenBLAS (libblas.so.3 and liblapack.so.3) with your package manager for training" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libopenblas0 >/dev/null
echo "sieve: installed libopenblas0 (libblas.so.3, liblapack.so.3)" >&2
