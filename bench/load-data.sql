-- bench/load-data.sql: fills the workflow_status table of a DBOS system schema created from
-- test/fixtures/schema-newest.sql with FINISHED finished and INFLIGHT in-flight workflows over
-- VERSIONS application versions and three queues, with set-based SQL only (generate_series,
-- INSERT ... SELECT; no COPY, no dropped index or constraint). Driven by bench/load-data.sh,
-- which runs it once per chunk of rows so a 10M load shows progress and keeps transactions small.
--
-- psql variables:
--   schema    the DBOS system schema (created from the newest fixture)
--   app       application_name of the rows
--   versions  number of versions v1..vK; vK owns the K-th slice of the last 30 days
--   finished, inflight   total sizes (to place each row in time)
--   lo, hi    the rows of this chunk: 1..finished are finished rows, finished+1..finished+inflight
--             in-flight rows. Chunks go in order, so the heap fills in created_at order and the
--             in-flight rows sit at its end, as in a live system database.
--   now_ms    the load's "now" in epoch milliseconds
--
-- Row shape (what the DBOS TypeScript SDK 5.x writes; see ../shared/peers/README.md, "Data"):
-- random UUID ids, serialization js_superjson, '' class/config/user, '[]' roles, priority 0,
-- epoch-ms timestamps, application_name set, executor ids "<app>-vK-N" (4 pods per version),
-- recovery_attempts 1 once started. Payloads (inputs/outputs) are not written: SDK 5.x keeps them
-- in separate tables, which neither dbos-drain nor the fixture has.
--
-- Mix (deterministic per row number, via hashes, so every chunk and every run agrees):
--   finished: SUCCESS 95 %, ERROR 5 %; queue tasks 35 %, emails 15 %, reports 10 %, none 40 %.
--   in flight: PENDING 40 % (half not queued, half dequeued on a queue with started_at set),
--              ENQUEUED 45 % (2 % of them enqueued by a client: NULL version, executor ''),
--              DELAYED 15 % (delay_until 1 h .. 7 d ahead). ENQUEUED and DELAYED are always queued;
--              queued in-flight rows: tasks 60 %, emails 25 %, reports 15 %.
SET synchronous_commit = off;
SET work_mem = '64MB';

INSERT INTO :"schema".workflow_status
  (workflow_uuid, status, name, authenticated_user, assumed_role, authenticated_roles,
   executor_id, created_at, updated_at, application_version, class_name, config_name,
   recovery_attempts, queue_name, started_at_epoch_ms, priority, serialization,
   delay_until_epoch_ms, completed_at, application_name, creator_xid)
SELECT gen_random_uuid()::text, status,
       CASE queue WHEN 'tasks' THEN 'processOrder' WHEN 'emails' THEN 'sendReceiptEmail'
                  WHEN 'reports' THEN 'generateReport' ELSE 'checkoutWorkflow' END,
       '', '', '[]',
       CASE WHEN client THEN '' ELSE :'app' || '-v' || k || '-' || (h3 % 4) END,
       created,
       CASE WHEN done THEN created + dur WHEN started THEN created + 1000 ELSE created END,
       CASE WHEN client THEN NULL ELSE 'v' || k END,
       '', '',
       CASE WHEN done OR started THEN 1 ELSE 0 END,
       queue,
       CASE WHEN started OR (done AND queue IS NOT NULL) THEN created + 50 END,
       0, 'js_superjson',
       CASE WHEN status = 'DELAYED' THEN :now_ms + 3600000 + (h4 % 601200000) END,
       CASE WHEN done THEN created + dur END,
       :'app', gen_random_uuid()::text
FROM (
  SELECT g, done, k, h3, h4, created, dur,
         -- status
         CASE WHEN done THEN CASE WHEN h1 % 100 < 5 THEN 'ERROR' ELSE 'SUCCESS' END
              WHEN h1 % 100 < 40 THEN 'PENDING'
              WHEN h1 % 100 < 85 THEN 'ENQUEUED'
              ELSE 'DELAYED' END AS status,
         -- queue
         CASE WHEN done THEN CASE WHEN h2 % 100 < 35 THEN 'tasks' WHEN h2 % 100 < 50 THEN 'emails'
                                  WHEN h2 % 100 < 60 THEN 'reports' END
              WHEN h1 % 100 < 40 AND h2 % 100 < 50 THEN NULL  -- PENDING, started directly
              WHEN h5 % 100 < 60 THEN 'tasks' WHEN h5 % 100 < 85 THEN 'emails' ELSE 'reports' END AS queue,
         -- PENDING on a queue: dequeued by a worker
         (NOT done AND h1 % 100 < 40 AND h2 % 100 >= 50) AS started,
         -- ENQUEUED by a client without a version
         (NOT done AND h1 % 100 >= 40 AND h1 % 100 < 85 AND h3 % 100 < 2) AS client
  FROM (
    SELECT g, done,
           (hashint8(g * 8 + 1) & 2147483647) AS h1, (hashint8(g * 8 + 2) & 2147483647) AS h2,
           (hashint8(g * 8 + 3) & 2147483647) AS h3, (hashint8(g * 8 + 4) & 2147483647) AS h4,
           (hashint8(g * 8 + 6) & 2147483647) AS h5,
           -- position in time: finished rows spread evenly over 30 days in row order; in-flight
           -- rows spread over the same 30 days in their own order
           1 + ((CASE WHEN done THEN g - 1 ELSE g - :finished - 1 END) * :versions)
               / GREATEST(CASE WHEN done THEN :finished ELSE :inflight END, 1) AS k,
           :now_ms - 2592000000
             + ((CASE WHEN done THEN g - 1 ELSE g - :finished - 1 END) * 2592000000)
               / GREATEST(CASE WHEN done THEN :finished ELSE :inflight END, 1) AS created,
           50 + (hashint8(g * 8 + 5) & 2147483647) % 120000 AS dur
    FROM (SELECT g, g <= :finished AS done FROM generate_series(:lo::bigint, :hi::bigint) AS g) s
  ) r
) w;
