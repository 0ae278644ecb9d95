#!/usr/bin/env bash
# Make sure a PostgreSQL answers on 127.0.0.1:5432 with trust auth for user postgres.
# Uses the one already running; otherwise starts the Debian cluster, or installs PostgreSQL
# and runs its own cluster under /var/tmp/petaport-pg as the postgres user (never as root).
set -euo pipefail
answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
command -v pg_isready >/dev/null && answers && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "Installing PostgreSQL from Debian packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start 2>/dev/null || true
  for _ in $(seq 1 30); do answers && break; sleep 0.5; done
  if answers && psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then exit 0; fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main stop 2>/dev/null || true
fi
bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=/var/tmp/petaport-pg
if [ ! -f "$data/PG_VERSION" ]; then
  $SUDO mkdir -p "$data" && $SUDO chown postgres:postgres "$data"
  $SUDO runuser -u postgres -- "$bindir/initdb" -D "$data" --auth=trust --username=postgres >/dev/null
fi
$SUDO runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -l "$data/server.log" \
  -o "-p 5432 -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
answers && echo "PostgreSQL started from $data" && exit 0
echo "PostgreSQL could not be started; see $data/server.log" >&2
exit 1
