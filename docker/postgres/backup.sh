#!/bin/sh
# noa-postgres-backup DIRECTORY: the Kubernetes backup CronJob's dump (k8s/base/postgres-backup.yaml),
# made as `invoke db-backup` makes one (noa_ops/backups.py): one read-only REPEATABLE READ
# transaction exports its snapshot, `pg_dump --format=custom --snapshot` dumps exactly that
# snapshot while the services write, and the same transaction counts and hashes every noa_* table
# (table-figures.sql). Beside NAME.dump it writes NAME.dump.sha256 (a sha256sum line) and the
# manifest NAME.json that `invoke db-restore --from` accepts. Files are 0600; a failed run leaves
# nothing behind. Then it deletes all but the newest BACKUP_KEEP backups (default 7).
# Logs in over TCP as PGUSER (default noa_backup) with BACKUP_POSTGRES_PASSWORD or the file
# BACKUP_POSTGRES_PASSWORD_FILE names, to PGHOST, PGPORT and PGDATABASE.
set -eu

die() { echo "noa-postgres-backup: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. /usr/local/lib/noa/secret-env.sh

dir=${1:-}
[ -n "$dir" ] || die "usage: noa-postgres-backup DIRECTORY"
{ [ -d "$dir" ] && [ -w "$dir" ]; } || die "$dir is not a writable directory"
keep=${BACKUP_KEEP:-7}
case $keep in '' | *[!0-9]* | 0*) die "BACKUP_KEEP=$keep is not a whole number of at least 1" ;; esac
PGPASSWORD=$(secret BACKUP_POSTGRES_PASSWORD)
export PGPASSWORD PGUSER="${PGUSER:-noa_backup}" PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"

umask 077
name="noa-${BACKUP_ENVIRONMENT:-postgres}-$(date -u +%Y%m%dT%H%M%SZ)"
dump="$dir/$name.dump"
manifest="$dir/$name.json"
[ ! -e "$manifest" ] || die "$manifest exists"
work=$(mktemp -d)
trap 'rm -rf "$work" "$dump.partial" "$dump.sha256.partial" "$manifest.partial"' EXIT
END=--noa-end--

# The transaction that holds the snapshot: psql reading from one fifo, answering into another.
mkfifo "$work/to-psql" "$work/from-psql"
psql -X -q -At -v ON_ERROR_STOP=1 <"$work/to-psql" >"$work/from-psql" 2>"$work/psql.err" &
psql_pid=$!
exec 3>"$work/to-psql" 4<"$work/from-psql"
psql_failed() { die "$(tail -n 1 "$work/psql.err" 2>/dev/null || echo psql stopped)"; }

printf "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n" >&3
read -r snapshot <&4 || psql_failed
pg_dump --format=custom --snapshot="$snapshot" --file="$dump.partial" || die "pg_dump failed"

{ cat /usr/local/lib/noa/table-figures.sql; printf "\nSELECT '%s';\n" "$END"; } >&3
line=
: >"$work/figures"
while read -r line <&4 && [ "$line" != "$END" ]; do
    printf '%s\n' "$line" >>"$work/figures"
done
[ "$line" = "$END" ] || psql_failed
printf 'COMMIT;\n\\q\n' >&3
exec 3>&- 4<&-
wait "$psql_pid" || psql_failed

sha=$(sha256sum "$dump.partial" | cut -d ' ' -f 1)
bytes=$(stat -c %s "$dump.partial")
printf '%s  %s\n' "$sha" "$name.dump" >"$dump.sha256.partial"
tables=$(awk -F '|' '{ printf "%s\n    \"%s\": {\"rows\": %s, \"md5\": \"%s\"}", (NR > 1 ? "," : ""), $1, $2, $3 }' \
    "$work/figures")
cat >"$manifest.partial" <<MANIFEST
{
  "format": 1,
  "environment": "${BACKUP_ENVIRONMENT:-postgres}",
  "created": "$(date -u +%Y-%m-%dT%H:%M:%S+00:00)",
  "revision": "${NOA_VERSION:-unknown}",
  "dump": "$name.dump",
  "sha256": "$sha",
  "bytes": $bytes,
  "tables": {$tables
  }
}
MANIFEST
# The manifest last: a backup without one was never finished.
mv "$dump.partial" "$dump"
mv "$dump.sha256.partial" "$dump.sha256"
mv "$manifest.partial" "$manifest"

# Retention: the newest $keep manifests stay (the glob sorts them by time), each with its dump.
set -- "$dir"/noa-*-????????T??????Z.json
excess=$(($# - keep))
for old in "$@"; do
    [ "$excess" -gt 0 ] || break
    rm -f "$old" "${old%.json}.dump" "${old%.json}.dump.sha256"
    excess=$((excess - 1))
done
echo "noa-postgres-backup: wrote $dump ($bytes bytes, $(wc -l <"$work/figures") tables, sha256 $sha)"
