#!/usr/bin/env bash
# Installs the open-source hardware tools the RTL library and its tests use: Verilator (>= 5,
# Debian/Ubuntu package `verilator`) and Yosys (package `yosys`). Skips quietly when both are
# there; otherwise installs the missing ones with apt-get, and says what to do when it cannot
# (the RTL tests, marked `rtl`, are then skipped with that reason).
set -euo pipefail
missing=()
command -v verilator >/dev/null 2>&1 || missing+=(verilator)
command -v yosys >/dev/null 2>&1 || missing+=(yosys)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing ${missing[*]} (apt-get)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  if ! { $SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || \
         { $SUDO apt-get update -q >/dev/null 2>&1 && \
           $SUDO apt-get install -y -q "${missing[@]}" >/dev/null; }; }; then
    echo "warning: could not install ${missing[*]}; run 'apt-get install ${missing[*]}'" >&2
    echo "         the RTL tests (marker rtl) are skipped without them" >&2
    exit 0
  fi
fi
major=$(verilator --version 2>/dev/null | awk '{print $2}' | cut -d. -f1)
if [ -n "$major" ] && [ "$major" -lt 5 ]; then
  echo "warning: $(verilator --version) is older than 5.0; the RTL tests need Verilator 5" >&2
fi
