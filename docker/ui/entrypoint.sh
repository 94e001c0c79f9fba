#!/bin/sh
# Entry point of the noa ui image. nginx reads no environment, so this writes what the dashboard's
# metrics view needs into /tmp/noa-ui.conf (a tmpfs), which services/ui/nginx.conf includes:
# - the resolver: Prometheus runs only with the monitoring profile, so nginx looks its name up per
#   request (a name looked up at start would stop nginx from starting without it);
# - $prometheus_url, from PROMETHEUS_URL (an http(s) base URL, as env-check requires).
# Then it starts the command given (nginx).
set -eu

die() { echo "noa-ui: $*" >&2; exit 2; }

[ -n "${PROMETHEUS_URL:-}" ] || die "PROMETHEUS_URL is not set (compose and the manifests pass the catalogue's)"
url=${PROMETHEUS_URL%/}
# Written into nginx's configuration: only a scheme, a host name or IPv4 address and a port.
printf '%s\n' "$url" | grep -Eqx 'https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?' \
    || die "PROMETHEUS_URL must be an http(s) base URL such as http://prometheus:9090, without path or query"

# The first name server (Docker's 127.0.0.11, the cluster's DNS); an IPv6 one in brackets.
nameserver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf 2>/dev/null || true)
case "$nameserver" in
    *:*) nameserver="[$nameserver]" ;;
esac

{
    if [ -n "$nameserver" ]; then
        echo "resolver $nameserver valid=10s ipv6=off;"
        echo "resolver_timeout 2s;"
    fi
    echo "map \$uri \$prometheus_url { default \"$url\"; }"
} >/tmp/noa-ui.conf
exec "$@"
