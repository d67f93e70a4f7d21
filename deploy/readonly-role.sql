-- A PostgreSQL login role for dbos-drain that can read exactly the DBOS system tables dbos-drain
-- reads, and nothing else. Run it as the owner of the DBOS system tables (or a superuser), connected
-- to the DBOS system database:
--
--   psql -v ON_ERROR_STOP=1 -v schema=dbos -v password="$DBOS_DRAIN_PASSWORD" \
--        -f examples/sql/readonly-role.sql "postgresql://admin@db.example.internal:5432/my_app_dbos_sys"
--
-- Variables:
--   schema    the DBOS system schema (default dbos; Python `dbos_system_schema`, TypeScript
--             `systemDatabaseSchemaName`, Go `Config.DatabaseSchema`)
--   password  the new role's password (required). Give it from the environment as above, not
--             literally on a shared command line. psql quotes it (:'password'), so any characters
--             are fine. Note that a server with log_statement = 'ddl' or 'all' logs ALTER ROLE
--             statements, password included; use `\password dbos_drain` afterwards if that matters.
--   role      the role name (default dbos_drain)
--
-- Idempotent: run it again after every DBOS upgrade (new tables, e.g. application_versions and
-- queues appearing with the 4.x TypeScript SDK, get their grant then) or to change the password.
-- Each run revokes whatever else the role had on the schema's tables, then grants exactly:
--   CONNECT on this database, USAGE on the schema, and SELECT on
--   workflow_status (required), application_versions, queues, dbos_migrations (where they exist).
-- The role also gets default_transaction_read_only = on: an extra guard against accidental writes,
-- not a security boundary (a session may switch it off; the missing grants are the boundary).
--
-- Like every role, dbos_drain also has what PUBLIC has: by default CONNECT and TEMPORARY on
-- databases, USAGE on schema public (and CREATE on it before PostgreSQL 15), and read access to
-- pg_catalog and information_schema, which dbos-drain uses to recognize the schema version.
\set ON_ERROR_STOP on
\if :{?schema}
\else
  \set schema dbos
\endif
\if :{?role}
\else
  \set role dbos_drain
\endif
\if :{?password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'readonly-role.sql: no password; run with -v password=...'; END $$;
\endif

BEGIN;

-- The DO blocks below cannot see psql variables; hand them over as transaction-local settings.
SELECT set_config('dbos_drain.schema', :'schema', true) AS _schema,
       set_config('dbos_drain.role', :'role', true) AS _role \gset

-- Refuse to run against the wrong database or schema before changing anything.
DO $$
DECLARE
  s text := current_setting('dbos_drain.schema');
BEGIN
  IF to_regnamespace(quote_ident(s)) IS NULL THEN
    RAISE EXCEPTION 'schema "%" does not exist in database "%"', s, current_database()
      USING HINT = 'Connect to the DBOS system database and pass its schema with -v schema=...';
  END IF;
  IF to_regclass(format('%I.workflow_status', s)) IS NULL THEN
    RAISE EXCEPTION 'table %.workflow_status does not exist in database "%"', s, current_database()
      USING HINT = 'Is this the DBOS system database? Has DBOS created its tables yet?';
  END IF;
END
$$;

-- The role: created once, then (re)configured on every run.
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') AS create_role \gset
\if :create_role
CREATE ROLE :"role" LOGIN;
\endif
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD :'password';
ALTER ROLE :"role" SET default_transaction_read_only = on;

GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";

REVOKE ALL ON SCHEMA :"schema" FROM :"role";
GRANT USAGE ON SCHEMA :"schema" TO :"role";

-- Start from nothing on the schema's tables and sequences, then grant the four tables.
REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM :"role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA :"schema" FROM :"role";

DO $$
DECLARE
  s text := current_setting('dbos_drain.schema');
  r text := current_setting('dbos_drain.role');
  t text;
BEGIN
  -- workflow_status exists (checked above); the others depend on the SDK and its version.
  FOREACH t IN ARRAY ARRAY['workflow_status', 'application_versions', 'queues', 'dbos_migrations'] LOOP
    IF to_regclass(format('%I.%I', s, t)) IS NOT NULL THEN
      EXECUTE format('GRANT SELECT ON TABLE %I.%I TO %I', s, t, r);
      RAISE NOTICE 'granted SELECT on %.% to %', s, t, r;
    ELSE
      RAISE NOTICE 'skipped %.%: not in this schema (older DBOS)', s, t;
    END IF;
  END LOOP;
END
$$;

COMMIT;

-- What the role can do on the schema now (from the ACLs, whoever granted them).
SELECT c.relname AS "table", string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) AS privileges
FROM pg_class c
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE c.relnamespace = to_regnamespace(quote_ident(:'schema'))
  AND a.grantee = to_regrole(quote_ident(:'role'))
GROUP BY c.relname
ORDER BY c.relname;
