#!/bin/sh
# Docker HEALTHCHECK of the noa redis image: an authenticated PING whose reply must be PONG.
# redis-cli exits 0 even when the server answers NOAUTH, so its exit code alone proves nothing.
# REDISCLI_AUTH keeps the password out of the probe's own command line.
set -eu

password=${REDIS_PASSWORD:-}
if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
    password=$(cat "$REDIS_PASSWORD_FILE")
fi

reply=$(REDISCLI_AUTH="$password" timeout 2 redis-cli --no-auth-warning -h 127.0.0.1 \
    -p "${REDIS_PORT:-6379}" ping)
[ "$reply" = PONG ]
