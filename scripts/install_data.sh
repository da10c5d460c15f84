#!/usr/bin/env bash
# Installs the offline data set the demo and tests use: Debian's dataset-fashion-mnist
# (the full Fashion-MNIST as IDX files under /usr/share/dataset-fashion-mnist or similar).
# Skips quietly when it is already there; says what to do when it cannot install it.
set -euo pipefail
if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing Debian package dataset-fashion-mnist (offline Fashion-MNIST)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! { $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
       { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q dataset-fashion-mnist >/dev/null; }; }; then
  echo "warning: could not install dataset-fashion-mnist; run 'apt-get install dataset-fashion-mnist'" >&2
  echo "         the demo needs it; tests that need it are skipped" >&2
fi
