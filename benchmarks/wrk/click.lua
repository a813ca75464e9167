-- wrk script for POST /track/click (no key: the browser's call).
-- Arguments after `--`: MODE RUN_ID TOKEN LIMIT DONE_PREFIX DOMAIN KEY
--   MODE "new":   every request a new visitor (its own User-Agent): a new click each time
--   MODE "fixed": every request the same visitor (same address and User-Agent): after the
--                 first, Dub's one-hour de-duplication answers the same clickId, nothing recorded
--   TOKEN:        unused (the route takes no key); kept so every script reads the same arguments
--   LIMIT, DONE_PREFIX: as in sale.lua ("-" when unused)
--   DOMAIN, KEY:  the short link clicked (the bench seeds it via the admin API)
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
local agent_prefix

function init(args)
  mode = args[1] or "new"
  run_id = args[2] or "run"
  limit = tonumber(args[4] or "0")
  done_prefix = args[5]
  local domain = args[6] or "dub.sh"
  local key = args[7] or "bench"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"domain":"' .. domain .. '","key":"' .. key .. '"}'
  agent_prefix = "dub-mock-bench/" .. run_id .. "/" .. tid .. "/"
  wrk.headers["User-Agent"] = "dub-mock-bench/repeat/" .. run_id
  if limit == 0 then
    response = nil -- wrk then skips header and body callbacks entirely
  end
end

function request()
  if mode == "new" then
    n = n + 1
    wrk.headers["User-Agent"] = agent_prefix .. n
  end
  return wrk.format()
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
