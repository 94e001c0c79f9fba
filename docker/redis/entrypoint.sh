#!/bin/sh
# Entry point of the noa redis image (runs as uid 10001 under tini). Redis has no password
# unless one is given, so this refuses to start without REDIS_PASSWORD (or REDIS_PASSWORD_FILE).
# The password goes on the command line: Redis replaces its process title at start-up, so it
# does not stay visible in /proc/<pid>/cmdline, and it never lands in a file.
set -eu

if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
    if [ ! -r "$REDIS_PASSWORD_FILE" ]; then
        printf 'noa-redis: error: REDIS_PASSWORD_FILE=%s is not readable\n' "$REDIS_PASSWORD_FILE" >&2
        exit 1
    fi
    REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE")
fi

if [ "${1:-}" = redis-server ]; then
    if [ -z "${REDIS_PASSWORD:-}" ]; then
        printf 'noa-redis: error: REDIS_PASSWORD (or REDIS_PASSWORD_FILE) is not set; refusing to start without a password\n' >&2
        exit 1
    fi
    shift
    set -- redis-server /etc/noa-redis/redis.conf --requirepass "$REDIS_PASSWORD" "$@"
    unset REDIS_PASSWORD
fi
exec "$@"
