-- wrk script for bench/soak.sh: counts responses by HTTP status across all threads and prints
-- one machine-readable line at the end:
--   SOAK_RESULT requests=N seconds=S rps=R p50_ms=.. p99_ms=.. max_ms=.. err_connect=.. err_read=..
--               err_write=.. err_timeout=.. status=200:N,503:M,...
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("counts")) do
      total[code] = (total[code] or 0) + n
    end
  end
  local codes = {}
  for code, _ in pairs(total) do table.insert(codes, code) end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do table.insert(parts, code .. ":" .. total[code]) end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "SOAK_RESULT requests=%d seconds=%.2f rps=%.2f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
    "err_connect=%d err_read=%d err_write=%d err_timeout=%d status=%s\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
