-- Noa Server database schema.
--
-- Run once by the postgres image on a fresh volume (psql -v ON_ERROR_STOP=1). Every statement is
-- idempotent (IF NOT EXISTS, CREATE OR REPLACE, DROP TRIGGER IF EXISTS, ON CONFLICT DO NOTHING), so
-- running it again on a live database is safe and completes a half-built one. One transaction: a
-- failure leaves nothing behind, instead of a schema that a restarted container would never finish.
--
-- The app services check at startup that their tables exist (/health/startup); they never create
-- or migrate the schema themselves.

-- The "already exists, skipping" notices of a second run are expected; keep the init log readable.
SET client_min_messages = warning;

BEGIN;

-- uuid-ossp and pg_trgm are trusted extensions (PostgreSQL >= 13): the database owner may create them.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- pgvector is optional: the stock image does not ship it, and an unconditional CREATE EXTENSION
-- (or a vector(1536) column) aborted the earlier init script halfway.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        CREATE EXTENSION IF NOT EXISTS vector;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS noa_core;
CREATE SCHEMA IF NOT EXISTS noa_agents;
CREATE SCHEMA IF NOT EXISTS noa_memory;

-- One trigger function keeps updated_at honest for every table that has it.
CREATE OR REPLACE FUNCTION noa_core.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- noa_core: the services and their health history
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS noa_core.services (
    id          serial PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    type        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'unknown',
    port        integer     CHECK (port BETWEEN 1 AND 65535),
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS services_status_idx ON noa_core.services (status);

CREATE TABLE IF NOT EXISTS noa_core.health_checks (
    id                bigserial PRIMARY KEY,
    service_id        integer     NOT NULL REFERENCES noa_core.services (id) ON DELETE CASCADE,
    status            text        NOT NULL,
    response_time_ms  double precision,
    details           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    checked_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS health_checks_checked_at_idx ON noa_core.health_checks (checked_at);
CREATE INDEX IF NOT EXISTS health_checks_service_id_idx ON noa_core.health_checks (service_id);
CREATE INDEX IF NOT EXISTS health_checks_status_idx ON noa_core.health_checks (status);

-- ---------------------------------------------------------------------------------------------
-- noa_agents: agents, their tasks, and workflows run by claude-flow
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS noa_agents.agents (
    id                 uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
    name               text        NOT NULL UNIQUE,
    type               text        NOT NULL DEFAULT 'generic',
    -- Registration state; whether an agent is online is its Redis heartbeat key, not this column.
    status             text        NOT NULL DEFAULT 'registered',
    capabilities       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    metadata           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_heartbeat_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agents_status_idx ON noa_agents.agents (status);

CREATE TABLE IF NOT EXISTS noa_agents.tasks (
    id            uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
    agent_id      uuid        REFERENCES noa_agents.agents (id) ON DELETE CASCADE,
    title         text        NOT NULL,
    description   text,
    status        text        NOT NULL DEFAULT 'pending',
    priority      integer     NOT NULL DEFAULT 0,
    result        jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS tasks_agent_id_idx ON noa_agents.tasks (agent_id);
CREATE INDEX IF NOT EXISTS tasks_status_idx ON noa_agents.tasks (status);

CREATE TABLE IF NOT EXISTS noa_agents.workflows (
    id            uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
    name          text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    definition    jsonb       NOT NULL,
    result        jsonb,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX IF NOT EXISTS workflows_status_idx ON noa_agents.workflows (status);

CREATE TABLE IF NOT EXISTS noa_agents.workflow_steps (
    id            bigserial   PRIMARY KEY,
    workflow_id   uuid        NOT NULL REFERENCES noa_agents.workflows (id) ON DELETE CASCADE,
    position      integer     NOT NULL CHECK (position >= 0),
    tool          text        NOT NULL,
    arguments     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped')),
    result        jsonb,
    error         text,
    attempts      integer     NOT NULL DEFAULT 0,
    started_at    timestamptz,
    completed_at  timestamptz,
    -- Also serves as the index on the workflow_id foreign key (leading column).
    UNIQUE (workflow_id, position)
);
CREATE INDEX IF NOT EXISTS workflow_steps_status_idx ON noa_agents.workflow_steps (status);

-- ---------------------------------------------------------------------------------------------
-- noa_memory: sessions, memories (searched by mcp) and embeddings
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS noa_memory.sessions (
    id           uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
    session_key  text        NOT NULL UNIQUE,
    data         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    expires_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON noa_memory.sessions (expires_at);

CREATE TABLE IF NOT EXISTS noa_memory.memories (
    id          uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
    namespace   text        NOT NULL DEFAULT 'default',
    content     text        NOT NULL,
    tags        text[]      NOT NULL DEFAULT '{}',
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- memory_search ranks by trigram similarity and falls back to ILIKE; both use this index.
CREATE INDEX IF NOT EXISTS memories_content_trgm_idx ON noa_memory.memories USING gin (content gin_trgm_ops);
CREATE INDEX IF NOT EXISTS memories_namespace_idx ON noa_memory.memories (namespace, created_at);
CREATE INDEX IF NOT EXISTS memories_tags_idx ON noa_memory.memories USING gin (tags);

-- The embedding column is vector(1536) where pgvector exists, else a plain array, decided at run
-- time so one script serves both images. An existing table is left as it is.
DO $$
DECLARE
    embedding_type text := 'double precision[]';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        embedding_type := 'vector(1536)';
    END IF;
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS noa_memory.embeddings (
            id          uuid        PRIMARY KEY DEFAULT uuid_generate_v4(),
            memory_id   uuid        REFERENCES noa_memory.memories (id) ON DELETE CASCADE,
            content     text,
            embedding   %s,
            metadata    jsonb       NOT NULL DEFAULT ''{}''::jsonb,
            created_at  timestamptz NOT NULL DEFAULT now()
        )', embedding_type);
END
$$;
CREATE INDEX IF NOT EXISTS embeddings_memory_id_idx ON noa_memory.embeddings (memory_id);
CREATE INDEX IF NOT EXISTS embeddings_metadata_idx ON noa_memory.embeddings USING gin (metadata);

-- ---------------------------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------------------------
DROP TRIGGER IF EXISTS services_set_updated_at ON noa_core.services;
CREATE TRIGGER services_set_updated_at BEFORE UPDATE ON noa_core.services
    FOR EACH ROW EXECUTE FUNCTION noa_core.set_updated_at();

DROP TRIGGER IF EXISTS agents_set_updated_at ON noa_agents.agents;
CREATE TRIGGER agents_set_updated_at BEFORE UPDATE ON noa_agents.agents
    FOR EACH ROW EXECUTE FUNCTION noa_core.set_updated_at();

DROP TRIGGER IF EXISTS workflows_set_updated_at ON noa_agents.workflows;
CREATE TRIGGER workflows_set_updated_at BEFORE UPDATE ON noa_agents.workflows
    FOR EACH ROW EXECUTE FUNCTION noa_core.set_updated_at();

DROP TRIGGER IF EXISTS sessions_set_updated_at ON noa_memory.sessions;
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON noa_memory.sessions
    FOR EACH ROW EXECUTE FUNCTION noa_core.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Seed rows: the services of the stack (names and ports as in noa_ops/catalogue.py)
-- ---------------------------------------------------------------------------------------------
INSERT INTO noa_core.services (name, type, port) VALUES
    ('mcp',          'coordination',  8001),
    ('claude-flow',  'orchestration', 9100),
    ('ui-dashboard', 'frontend',      9200),
    ('llama-cpp',    'neural',        9300),
    ('agenticos',    'agent-system',  9400)
ON CONFLICT (name) DO NOTHING;

-- ---------------------------------------------------------------------------------------------
-- Ownership: the database owner (POSTGRES_USER) owns the schemas and everything in them. When
-- another superuser runs this script instead, hand them to that owner. The services own nothing:
-- they log in as roles of their own, which docker/postgres/roles.sql grants their tables.
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    db_owner name := (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database());
    obj record;
BEGIN
    IF db_owner = current_user THEN
        RETURN;
    END IF;
    FOR obj IN
        SELECT n.nspname AS schema_name FROM pg_namespace n
        WHERE n.nspname IN ('noa_core', 'noa_agents', 'noa_memory')
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', obj.schema_name, db_owner);
    END LOOP;
    FOR obj IN
        SELECT n.nspname AS schema_name, c.relname AS rel_name,
               CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('noa_core', 'noa_agents', 'noa_memory')
          AND c.relkind IN ('r', 'p')
    LOOP
        -- Owned sequences (serial columns) follow their table.
        EXECUTE format('ALTER %s %I.%I OWNER TO %I', obj.kind, obj.schema_name, obj.rel_name, db_owner);
    END LOOP;
    EXECUTE format('ALTER FUNCTION noa_core.set_updated_at() OWNER TO %I', db_owner);
END
$$;

COMMIT;
