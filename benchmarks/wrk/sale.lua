-- wrk script for POST /track/sale.
-- Arguments after `--`: MODE RUN_ID [TOKEN] [LIMIT] [DONE_PREFIX]
--   MODE "new":   every request carries a new invoiceId (a new sale each time)
--   MODE "fixed": every request carries the same invoiceId (idempotent hits)
--   LIMIT:        stop each thread after this many responses (0 = run for -d)
--   DONE_PREFIX:  with LIMIT, a thread that stops creates the file DONE_PREFIX<thread number>,
--                 so the harness can end wrk (whose main thread sleeps for all of -d) early
--                 ("-" when unused)
-- done() prints one JSON line (prefixed "WRK_JSON ") that the harness parses.

local threads = {}
local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
  table.insert(threads, thread)
end

local mode, run_id, limit, done_prefix
local n = 0
local seen = 0
local prefix, fixed_body

function init(args)
  mode = args[1] or "new"
  run_id = args[2] or "run"
  local token = args[3] or "dub_bench"
  limit = tonumber(args[4] or "0")
  done_prefix = args[5]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  prefix = '{"customerExternalId":"bench_cus","amount":1000,"invoiceId":"'
  fixed_body = prefix .. "inv_fixed_" .. run_id .. '"}'
  wrk.body = fixed_body
  if limit == 0 then
    -- without a limit, drop response(): wrk then skips header and body callbacks entirely
    response = nil
  end
end

function request()
  if mode == "new" then
    n = n + 1
    return wrk.format(nil, nil, nil, prefix .. "inv_" .. run_id .. "_" .. tid .. "_" .. n .. '"}')
  end
  return wrk.format(nil, nil, nil, fixed_body)
end

function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    if done_prefix and done_prefix ~= "-" then
      local f = io.open(done_prefix .. tid, "w")
      if f then
        f:close()
      end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
