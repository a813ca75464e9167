-- wrk script for POST /track/lead.
-- Arguments after `--`: MODE RUN_ID TOKEN LIMIT DONE_PREFIX CLICK_ID
--   MODE "new":   every request a new customerExternalId (a new customer and lead each time)
--   MODE "fixed": every request the same customerExternalId and eventName (after the first,
--                 each one is a duplicate within Dub's 7-day window: nothing recorded)
--   LIMIT, DONE_PREFIX: as in sale.lua ("-" when unused)
--   CLICK_ID:     the click every lead is attributed to (the bench seeds it via the admin API)
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
  local click_id = args[6] or "bench_click_0001"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  prefix = '{"clickId":"' .. click_id .. '","eventName":"Sign up","customerExternalId":"'
  fixed_body = prefix .. "lead_fixed_" .. run_id .. '"}'
  wrk.body = fixed_body
  if limit == 0 then
    response = nil -- wrk then skips header and body callbacks entirely
  end
end

function request()
  if mode == "new" then
    n = n + 1
    return wrk.format(nil, nil, nil, prefix .. "lead_" .. run_id .. "_" .. tid .. "_" .. n .. '"}')
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
