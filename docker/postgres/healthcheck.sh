#!/bin/sh
# Docker HEALTHCHECK of the noa postgres image: log in over TCP on 127.0.0.1 with the configured
# password and run SELECT 1. pg_isready would pass with a wrong password or a broken pg_hba.conf.
set -eu

password=${POSTGRES_PASSWORD:-}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    password=$(cat "$POSTGRES_PASSWORD_FILE")
fi

reply=$(PGPASSWORD="$password" PGCONNECT_TIMEOUT=2 psql -X --no-align --tuples-only --quiet \
    --host=127.0.0.1 --port="${PGPORT:-5432}" --username="${POSTGRES_USER:-noa}" \
    --dbname="${POSTGRES_DB:-${POSTGRES_USER:-noa}}" --command='SELECT 1')
[ "$reply" = 1 ]
