#!/bin/sh
# Entry point of the noa postgres image (runs as uid 10001 under tini).
#
# On an empty PGDATA: initdb with POSTGRES_USER as the superuser and POSTGRES_PASSWORD
# (scram-sha-256 everywhere, also on the local socket). Then, at every start, a socket-only server
# in /tmp: until the marker file exists it creates POSTGRES_DB and runs
# /docker-entrypoint-initdb.d/*.sql with ON_ERROR_STOP (then writes the marker); always, it runs
# /etc/noa-postgres/roles.sql, which gives each app service its own role, with the password from
# the environment, and only its own tables. A failed init is retried at the next start (the SQL
# is idempotent and init-db.sql is one transaction) instead of being skipped because PG_VERSION
# exists, so a half-built schema never becomes permanent. Finally exec the server (listening on
# all interfaces per /etc/noa-postgres/postgresql.conf). Each password comes from NAME or from
# the file NAME_FILE names.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-noa}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
INITDB_DIR=/docker-entrypoint-initdb.d
ROLES_SQL=/etc/noa-postgres/roles.sql
MARKER="$PGDATA/.noa-init-complete"
export PGDATA

log() {
    printf 'noa-postgres: %s\n' "$*" >&2
}

die() {
    log "error: $*"
    exit 1
}

# shellcheck source=/dev/null
. /usr/local/lib/noa/secret-env.sh

# load_secret NAME: export NAME from $NAME or from the file $NAME_FILE (secret-env.sh).
load_secret() {
    value=$(secret "$1") || exit 1
    export "$1=$value"
}

# The app roles' password variables: the \getenv lines of roles.sql.
role_password_names() {
    sed -n 's/^\\getenv [a-z_]* \([A-Z_]*\)$/\1/p' "$ROLES_SQL"
}

load_passwords() {
    load_secret POSTGRES_PASSWORD
    for name in $(role_password_names); do
        load_secret "$name"
    done
}

init_cluster() {
    log "empty data directory $PGDATA: running initdb for user $POSTGRES_USER"
    pwfile=$(mktemp /tmp/noa-pgpass.XXXXXX)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    # initdb removes what it created if it fails, so PG_VERSION only exists after success.
    if ! initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >&2; then
        rm -f "$pwfile"
        die "initdb failed"
    fi
    rm -f "$pwfile"
    printf "\ninclude '/etc/noa-postgres/postgresql.conf'\n" >>"$PGDATA/postgresql.conf"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
}

prepare_database() {
    export PGPASSWORD="$POSTGRES_PASSWORD" PGHOST=/tmp PGUSER="$POSTGRES_USER"
    pg_ctl --wait --timeout=60 --silent \
        -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start >&2 \
        || die "the temporary server did not start"
    [ -e "$MARKER" ] || run_init_sql
    log "granting the app roles their own tables ($ROLES_SQL)"
    psql -X -v ON_ERROR_STOP=1 --quiet --dbname="$POSTGRES_DB" --file="$ROLES_SQL" >&2 \
        || stop_and_die "$ROLES_SQL failed"
    pg_ctl --wait --timeout=60 --silent --mode=fast stop >&2 || die "the temporary server did not stop"
    unset PGPASSWORD PGHOST PGUSER
}

run_init_sql() {
    log "applying $INITDB_DIR/*.sql to database $POSTGRES_DB"
    # psql -c does not interpolate variables; a here-document does.
    psql -X -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" --dbname=postgres --quiet <<'SQL' >&2 || stop_and_die "could not create database $POSTGRES_DB"
SELECT format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
    for sql in "$INITDB_DIR"/*.sql; do
        [ -e "$sql" ] || continue
        log "running $sql"
        psql -X -v ON_ERROR_STOP=1 --quiet --dbname="$POSTGRES_DB" --file="$sql" >&2 \
            || stop_and_die "$sql failed; the next start runs the init again"
    done
    : >"$MARKER"
    log "initialisation complete"
}

stop_and_die() {
    pg_ctl --wait --timeout=60 --silent --mode=immediate stop >&2 || true
    die "$1"
}

if [ "${1:-}" = postgres ]; then
    load_passwords
    [ "$(id -u)" != 0 ] || die "refusing to run as root; run as uid 10001"
    [ -s "$PGDATA/PG_VERSION" ] || init_cluster
    prepare_database
    unset POSTGRES_PASSWORD
    for name in $(role_password_names); do
        unset "$name"
    done
fi
exec "$@"
