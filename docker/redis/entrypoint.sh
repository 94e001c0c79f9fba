#!/bin/sh
# Entry point of the noa redis image (runs as uid 10001 under tini). Redis has no password
# unless one is given, so this refuses to start unless every user's password is set: it renders
# /etc/noa-redis/users.acl, where each <NAME> stands for the password in $NAME (or in the file
# $NAME_FILE names), into an ACL file in /tmp that holds only each password's sha256, and starts
# Redis with it. The default user (REDIS_PASSWORD) administers; each app service has its own user.
set -eu

TEMPLATE=/etc/noa-redis/users.acl
ACL_FILE=/tmp/noa-redis-users.acl

die() {
    printf 'noa-redis: error: %s\n' "$*" >&2
    exit 1
}

# shellcheck source=/dev/null
. /usr/local/lib/noa/secret-env.sh

password_names() {
    grep -v '^#' "$TEMPLATE" | grep -o '<[A-Z_]*>' | tr -d '<>' | sort -u
}

# The template without its comments (an ACL file has none), each password as its sha256.
render_acl() {
    umask 077
    grep -v -e '^#' -e '^$' "$TEMPLATE" >"$ACL_FILE.new"
    for name in $(password_names); do
        value=$(secret "$name") || exit 1
        digest=$(printf '%s' "$value" | sha256sum | cut -d' ' -f1)
        sed -i "s/<$name>/$digest/" "$ACL_FILE.new"
    done
    mv "$ACL_FILE.new" "$ACL_FILE"
}

if [ "${1:-}" = redis-server ]; then
    shift
    render_acl
    for name in $(password_names); do
        unset "$name"
    done
    set -- redis-server /etc/noa-redis/redis.conf --aclfile "$ACL_FILE" "$@"
fi
exec "$@"
