-- One line "schema.table|rows|md5 of the rows in text order" per table of the noa_* schemas: what a
-- backup's manifest records and what a restore compares. Read by noa_ops/backups.py (invoke
-- db-backup and db-restore) and, in the postgres image, by noa-postgres-backup (the CronJob).
SELECT format('SELECT %L || ''|'' || count(*) || ''|'' || '
              'md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %I.%I t',
              schemaname || '.' || tablename, schemaname, tablename)
FROM pg_tables WHERE schemaname LIKE 'noa\_%' ORDER BY schemaname, tablename \gexec
