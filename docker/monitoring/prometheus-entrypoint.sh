#!/bin/sh
# Entry point of the noa prometheus image: llama's /metrics wants its API key as a bearer token,
# which Prometheus reads from a file (prometheus.yml: credentials_file). The key comes in
# LLAMA_API_KEY (or the file LLAMA_API_KEY_FILE names); it is written, 0600, to /tmp (a tmpfs),
# removed from the environment and Prometheus started with the arguments given.
set -eu

die() { echo "noa-prometheus: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. /usr/local/lib/noa/secret-env.sh

umask 077
secret LLAMA_API_KEY >/tmp/llama-api-key
unset LLAMA_API_KEY LLAMA_API_KEY_FILE
exec /usr/local/bin/prometheus "$@"
