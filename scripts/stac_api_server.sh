#!/usr/bin/env bash
# A real STAC API on loopback for landcover's stac_search tests: stac-fastapi-pgstac over a
# throw-away PostgreSQL 15 + PostGIS cluster.
#
#   scripts/stac_api_server.sh FOLDER COLLECTION.json ITEMS.ndjson
#
# FOLDER (created if missing, must be empty or absent) holds the cluster and its socket. The
# script initialises the cluster as the `postgres` user (initdb -A trust), starts it on 127.0.0.1
# at a free port with its socket in FOLDER, runs `pypgstac migrate`, loads the collection and the
# items (`pypgstac load ... --method upsert`), starts uvicorn with stac_fastapi.pgstac on another
# free port, and prints `listening on http://127.0.0.1:PORT` once the API answers. It runs until
# it is sent SIGTERM or SIGINT, a file FOLDER/stop appears, or uvicorn exits; then it stops
# uvicorn and the cluster, and removes FOLDER's cluster files.
#
# Needs: Debian postgresql-15 and postgresql-15-postgis-3 (scripts/install-clients.sh), PyPI
# pypgstac[psycopg], stac-fastapi.pgstac[server] and uvicorn (scripts/setup.sh --python).
set -euo pipefail

folder="$1" collection="$2" items="$3"
bin=/usr/lib/postgresql/15/bin
for tool in "$bin/initdb" "$bin/pg_ctl"; do
  [ -x "$tool" ] || { echo "stac_api_server: $tool missing; run scripts/install-clients.sh" >&2; exit 3; }
done
[ -f /usr/share/postgresql/15/extension/postgis.control ] || { echo "stac_api_server: PostGIS for PostgreSQL 15 missing; run scripts/install-clients.sh" >&2; exit 3; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

mkdir -p "$folder"
folder="$(cd "$folder" && pwd)"
data="$folder/pgdata"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$folder"; fi
# The items are read by pypgstac (as this user); the cluster files belong to postgres.

uvicorn_pid=""
stop() {
  trap - TERM INT EXIT
  # Fast: the caller gives a stop a few seconds before it kills this script (and the cluster is thrown away).
  if [ -n "$uvicorn_pid" ]; then kill -9 "$uvicorn_pid" 2>/dev/null || true; wait "$uvicorn_pid" 2>/dev/null || true; fi
  if [ -f "$data/postmaster.pid" ]; then as_postgres "$bin/pg_ctl" -D "$data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true; fi
  rm -rf "$data"
}
trap stop EXIT
trap 'exit 0' TERM INT

pg_port="$(free_port)"
as_postgres "$bin/initdb" -D "$data" -A trust -U postgres >"$folder/initdb.log" 2>&1 \
  || { cat "$folder/initdb.log" >&2; exit 3; }
as_postgres "$bin/pg_ctl" -D "$data" -l "$folder/postgres.log" -w -t 60 \
  -o "-p $pg_port -k $folder -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
  || { cat "$folder/postgres.log" >&2; exit 3; }

export PGHOST=127.0.0.1 PGPORT="$pg_port" PGUSER=postgres PGDATABASE=postgres PGPASSWORD=unused
pypgstac migrate >"$folder/migrate.log" 2>&1 || { cat "$folder/migrate.log" >&2; exit 3; }
pypgstac load collections "$collection" --method upsert >"$folder/load.log" 2>&1 || { cat "$folder/load.log" >&2; exit 3; }
pypgstac load items "$items" --method upsert >>"$folder/load.log" 2>&1 || { cat "$folder/load.log" >&2; exit 3; }

api_port="$(free_port)"
export POSTGRES_USER=postgres POSTGRES_PASS=unused POSTGRES_DBNAME=postgres \
  POSTGRES_HOST_READER=127.0.0.1 POSTGRES_HOST_WRITER=127.0.0.1 POSTGRES_PORT="$pg_port" \
  PGUSER=postgres PGPASSWORD=unused PGHOST=127.0.0.1 PGDATABASE=postgres
uvicorn stac_fastapi.pgstac.app:create_app --factory --host 127.0.0.1 --port "$api_port" --log-level warning &
uvicorn_pid=$!
for _ in $(seq 1 600); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$api_port/collections', timeout=2)" 2>/dev/null; then
    echo "listening on http://127.0.0.1:$api_port"
    # Until uvicorn ends or FOLDER/stop appears: a test runner's children may inherit a blocked
    # SIGTERM, so the stop file is the reliable way to ask for a clean stop (the EXIT trap).
    while kill -0 "$uvicorn_pid" 2>/dev/null && [ ! -e "$folder/stop" ]; do sleep 0.2; done
    exit 0
  fi
  kill -0 "$uvicorn_pid" 2>/dev/null || { echo "stac_api_server: uvicorn exited" >&2; exit 3; }
  sleep 0.1
done
echo "stac_api_server: the STAC API did not answer in 60 s" >&2
exit 3
