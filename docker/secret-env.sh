#!/bin/sh
# Sourced by the postgres and redis entrypoints (which define die): each password comes from the
# variable NAME or from the file NAME_FILE names (Kubernetes mounts the Secret's keys as files).

# secret NAME: print the value of $NAME, or the contents of $NAME_FILE; refuse an empty one.
secret() {
    file=$(printenv "${1}_FILE" || true)
    if [ -n "$file" ]; then
        [ -r "$file" ] || die "${1}_FILE=$file is not readable"
        value=$(cat "$file")
    else
        value=$(printenv "$1" || true)
    fi
    [ -n "$value" ] || die "$1 (or ${1}_FILE) is not set; refusing to start without a password"
    printf '%s' "$value"
}
