#!/usr/bin/env bash
# Debian packages the tests need: Chromium (Playwright drives Debian's binary) and a CJK font;
# Open MPI (the AI Lab's MPI template); gcc and Python's headers (the compiled scheduler core); WeasyPrint (invoice PDFs) needs Pango, and HarfBuzz's subsetter to embed fonts fast.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)  # no -q: SIGPIPE + pipefail
for pkg_so in libpango-1.0-0:libpango-1.0.so.0 libpangoft2-1.0-0:libpangoft2-1.0.so.0 \
              libharfbuzz-subset0:libharfbuzz-subset.so.0; do
  ldconfig -p | grep -F "${pkg_so#*:}" >/dev/null || need+=("${pkg_so%%:*}")
done
command -v mpirun >/dev/null || need+=(openmpi-bin)
# a C compiler and Python's headers: mypyc compiles the scheduler core (scripts/build-core.py)
command -v cc >/dev/null || need+=(gcc)
py=python3; [ -x .venv/bin/python ] && py=.venv/bin/python
"$py" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || need+=(python3-dev)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
