#!/usr/bin/env bash
# Loads demo data into an existing, empty PostgreSQL database: the newest DBOS system database
# schema (test/fixtures/schema-newest.sql, schema "dbos") and the rows of three versions of an
# application "shop", as its workers would have left them:
#   v1  drained: every workflow finished (SUCCESS/ERROR)
#   v2  not drained: 2 PENDING (the oldest 2h 5m old, on two executors), 3 ENQUEUED on queue "tasks"
#   v3  the latest: 1 PENDING, plus 1 ENQUEUED by a client with no version (NULL), which only the
#       latest version's workers take, so it counts toward v3
#
#   scripts/load-demo.sh postgresql://USER@HOST:PORT/DBNAME
set -euo pipefail

url=${1:-}
if [ -z "$url" ] || [ $# -ne 1 ]; then
  echo "usage: scripts/load-demo.sh DATABASE_URL   (an existing, empty database)" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v psql >/dev/null || { echo "load-demo: psql not found (run scripts/install-deps.sh)" >&2; exit 2; }

psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -f "$root/test/fixtures/schema-newest.sql" -d "$url"

psql -X -q -v ON_ERROR_STOP=1 -d "$url" <<'SQL'
SET search_path TO dbos;
-- Epoch milliseconds, as DBOS stores them, for "so long ago".
CREATE FUNCTION pg_temp.ago(i interval) RETURNS bigint LANGUAGE sql AS
  $$ SELECT (extract(epoch FROM now() - i) * 1000)::bigint $$;

INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at, application_name) VALUES
  ('demo-v1', 'v1', pg_temp.ago('3 days'), pg_temp.ago('3 days'), 'shop'),
  ('demo-v2', 'v2', pg_temp.ago('1 day'), pg_temp.ago('1 day'), 'shop'),
  ('demo-v3', 'v3', pg_temp.ago('10 minutes'), pg_temp.ago('10 minutes'), 'shop');

INSERT INTO queues (name, concurrency, worker_concurrency, application_name) VALUES ('tasks', NULL, 2, 'shop');

INSERT INTO workflow_status (workflow_uuid, status, name, executor_id, created_at, updated_at,
                             application_version, queue_name, application_name)
-- v1: all finished.
SELECT 'v1-done-' || i, CASE WHEN i % 7 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, 'checkout', 'worker-v1-a',
       pg_temp.ago('2 days') + i, pg_temp.ago('2 days') + i + 500, 'v1', NULL, 'shop'
  FROM generate_series(1, 14) AS i
UNION ALL
-- v2: finished work, and work still in flight.
SELECT 'v2-done-' || i, 'SUCCESS', 'checkout', 'worker-v2-a', pg_temp.ago('20 hours') + i, pg_temp.ago('20 hours') + i + 500,
       'v2', NULL, 'shop'
  FROM generate_series(1, 10) AS i
UNION ALL VALUES
  ('v2-checkout-1', 'PENDING', 'checkout', 'worker-v2-a', pg_temp.ago('2 hours 5 minutes'), pg_temp.ago('2 hours'), 'v2', NULL, 'shop'),
  ('v2-checkout-2', 'PENDING', 'checkout', 'worker-v2-b', pg_temp.ago('40 minutes'), pg_temp.ago('40 minutes'), 'v2', NULL, 'shop'),
  ('v2-task-1', 'ENQUEUED', 'processTask', 'worker-v2-a', pg_temp.ago('30 minutes'), pg_temp.ago('30 minutes'), 'v2', 'tasks', 'shop'),
  ('v2-task-2', 'ENQUEUED', 'processTask', 'worker-v2-a', pg_temp.ago('29 minutes'), pg_temp.ago('29 minutes'), 'v2', 'tasks', 'shop'),
  ('v2-task-3', 'ENQUEUED', 'processTask', 'worker-v2-b', pg_temp.ago('28 minutes'), pg_temp.ago('28 minutes'), 'v2', 'tasks', 'shop'),
  -- v3: the latest version.
  ('v3-checkout-1', 'PENDING', 'checkout', 'worker-v3-a', pg_temp.ago('1 minute'), pg_temp.ago('1 minute'), 'v3', NULL, 'shop'),
  ('v3-done-1', 'SUCCESS', 'checkout', 'worker-v3-a', pg_temp.ago('5 minutes'), pg_temp.ago('5 minutes'), 'v3', NULL, 'shop'),
  ('v3-done-2', 'SUCCESS', 'checkout', 'worker-v3-a', pg_temp.ago('4 minutes'), pg_temp.ago('4 minutes'), 'v3', NULL, 'shop'),
  -- Enqueued by a client (DBOSClient): no version yet, empty executor, no application.
  ('client-task-1', 'ENQUEUED', 'processTask', '', pg_temp.ago('15 seconds'), pg_temp.ago('15 seconds'), NULL, 'tasks', NULL);
SQL

echo "load-demo: loaded the DBOS schema and demo rows for versions v1 (drained), v2 (not drained) and v3 (latest)" >&2
