#!/usr/bin/env bash
# Runs the test suite with the project's interpreter; treats "no tests collected" (pytest exit 5)
# as a failure, because a suite that runs nothing proves nothing.
set -uo pipefail
py="$1"; shift
"$py" -m pytest -q -n 2 --dist loadfile "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
