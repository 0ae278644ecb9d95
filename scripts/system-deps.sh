#!/usr/bin/env bash
# Debian packages the tests need: Chromium (Playwright drives Debian's binary), a CJK font, and
# Open MPI (the AI Lab's MPI template runs under mpirun; mpi4py's wheel loads its libmpi).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v mpirun >/dev/null || need+=(openmpi-bin)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
