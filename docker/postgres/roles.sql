-- The app services' own PostgreSQL roles (noa_common.env_catalogue.data_user names them): each
-- may log in to the Noa database and use the tables its code uses, nothing else; noa_backup,
-- which may read every table for pg_dump and write nothing; and noa_monitor, which may read the
-- server's statistics (pg_monitor) and no table. No role is a
-- superuser, creates roles or databases, replicates, bypasses row security or may run
-- COPY ... PROGRAM (pg_execute_server_program), and none owns a schema or a table.
--
-- The postgres image's entrypoint runs this at every start, as the superuser on the local socket,
-- after init-db.sql: it creates the roles that are missing, sets each password from the
-- environment (a new password takes effect at the next start) and grants again exactly what is
-- written here, so a privilege removed from this file is removed from the role too.
-- The entrypoint reads the variable names from the \getenv lines and refuses to start when one
-- of them is empty.
\getenv mcp_password MCP_POSTGRES_PASSWORD
\getenv claude_flow_password CLAUDE_FLOW_POSTGRES_PASSWORD
\getenv agenticos_password AGENTICOS_POSTGRES_PASSWORD
\getenv backup_password BACKUP_POSTGRES_PASSWORD
\getenv monitor_password MONITOR_POSTGRES_PASSWORD

SET client_min_messages = warning;

BEGIN;

SELECT format('CREATE ROLE %I', name)
FROM unnest(ARRAY['noa_mcp', 'noa_claude_flow', 'noa_agenticos', 'noa_backup', 'noa_monitor']) AS name
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = name)\gexec

ALTER ROLE noa_mcp WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'mcp_password';
ALTER ROLE noa_claude_flow WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'claude_flow_password';
ALTER ROLE noa_agenticos WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'agenticos_password';
ALTER ROLE noa_backup WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'backup_password';
ALTER ROLE noa_monitor WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'monitor_password';

-- Nobody but the roles below (and the superuser) connects, to this database only (template1 stays
-- open for the tools that expect it); nobody creates objects anywhere.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', datname)
FROM pg_database WHERE datallowconn AND datname <> 'template1'\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO noa_mcp, noa_claude_flow, noa_agenticos, noa_backup, noa_monitor',
              current_database())\gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA noa_core, noa_agents, noa_memory FROM PUBLIC;

-- Start from nothing (memberships included), then grant.
SELECT format('REVOKE %I FROM %I', granted.rolname, member.rolname)
FROM pg_auth_members m
JOIN pg_roles granted ON granted.oid = m.roleid
JOIN pg_roles member ON member.oid = m.member
WHERE member.rolname IN ('noa_mcp', 'noa_claude_flow', 'noa_agenticos', 'noa_backup', 'noa_monitor')\gexec
REVOKE ALL ON SCHEMA noa_core, noa_agents, noa_memory FROM noa_mcp, noa_claude_flow, noa_agenticos;
REVOKE ALL ON ALL TABLES IN SCHEMA noa_core, noa_agents, noa_memory
    FROM noa_mcp, noa_claude_flow, noa_agenticos;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA noa_core, noa_agents, noa_memory
    FROM noa_mcp, noa_claude_flow, noa_agenticos;

-- mcp: stores and searches memories; lists agents (not their metadata).
GRANT USAGE ON SCHEMA noa_memory, noa_agents TO noa_mcp;
GRANT SELECT, INSERT ON noa_memory.memories TO noa_mcp;
GRANT SELECT (id, name, type, status, capabilities, last_heartbeat_at) ON noa_agents.agents TO noa_mcp;

-- claude-flow: its workflows and their steps.
GRANT USAGE ON SCHEMA noa_agents TO noa_claude_flow;
GRANT SELECT, INSERT, UPDATE, DELETE ON noa_agents.workflows TO noa_claude_flow;
GRANT SELECT, INSERT, UPDATE ON noa_agents.workflow_steps TO noa_claude_flow;
GRANT USAGE ON SEQUENCE noa_agents.workflow_steps_id_seq TO noa_claude_flow;

-- agenticos: agents and their tasks.
GRANT USAGE ON SCHEMA noa_agents TO noa_agenticos;
GRANT SELECT, INSERT, UPDATE ON noa_agents.agents, noa_agents.tasks TO noa_agenticos;

-- backup (the Kubernetes CronJob's pg_dump, noa-postgres-backup): reads every table, writes none.
GRANT pg_read_all_data TO noa_backup;

-- monitor (the monitoring profile's postgres-exporter): the server's statistics, no table.
GRANT pg_monitor TO noa_monitor;

COMMIT;
