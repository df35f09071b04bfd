-- What the benchmarks' wrk scripts share: a wall clock, a pacer, counters
-- kept per thread and gathered at the end, and one JSON line of results.
--
-- wrk runs each thread's copy of a script in its own Lua state and calls
-- setup() and done() in yet another one, so counters live in a global
-- table of each thread state ("counts") and done() reads them back through
-- thread:get(). Load this with require("benchlib") and LUA_PATH pointing at
-- this folder.

local ffi = require("ffi")

ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local clock_buffer = ffi.new("bench_timespec")

local M = {}

-- Milliseconds on the monotonic clock (os.clock is CPU time, not wall time).
function M.now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock_buffer)
  return tonumber(clock_buffer.tv_sec) * 1000 + tonumber(clock_buffer.tv_nsec) / 1e6
end

-- A delay() hook holding this thread to `rate` requests per second.
--
-- Requests are given evenly spaced send times; each connection that comes
-- free takes the next one and waits for it. The rate therefore does not
-- depend on the answers' latency as long as enough connections are open.
-- A thread that fell behind sends at once until it has caught up.
function M.pacer(rate)
  local interval = 1000.0 / rate
  local next_at = nil
  return function()
    local now = M.now_ms()
    if next_at == nil then
      next_at = now
    end
    local wait = next_at - now
    next_at = next_at + interval
    if wait <= 0 then
      return 0
    end
    return math.floor(wait + 0.5)
  end
end

-- Count one event under `key` in this thread's counters.
function M.count(key)
  counts[key] = (counts[key] or 0) + 1
end

-- The lower edge of the histogram bucket of a latency in milliseconds:
-- 0.1 ms wide below 10 ms, 1 ms below 100 ms, 10 ms below 1 s, then 100 ms.
local function bucket(ms)
  local width = 0.1
  if ms >= 1000 then
    width = 100
  elseif ms >= 100 then
    width = 10
  elseif ms >= 10 then
    width = 1
  end
  return math.floor(ms / width) * width
end

-- Record one latency sample, in milliseconds, under `key`. Samples are
-- kept as a flat histogram ("key bucket" -> count), because wrk's
-- thread:get() cannot copy nested tables back reliably.
function M.sample(key, ms)
  local name = string.format("%s %.1f", key, bucket(ms))
  histogram[name] = (histogram[name] or 0) + 1
end

counts = {}
histogram = {}

local threads = {}

-- setup() hook: remember every thread so that done() can read its counters.
function M.setup(thread)
  table.insert(threads, thread)
end

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      table.insert(parts, string.format("%q:%s", tostring(key), encode(item)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    return string.format("%.10g", value)
  elseif kind == "boolean" then
    return tostring(value)
  end
  return string.format("%q", tostring(value))
end

M.encode = encode

-- done() hook: print one "WRK_JSON {...}" line with the summary, the
-- latency distribution in microseconds and the threads' counters summed.
function M.done(summary, latency, requests)
  local gathered, buckets = {}, {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get("counts") or {}) do
      gathered[key] = (gathered[key] or 0) + value
    end
    for key, value in pairs(thread:get("histogram") or {}) do
      buckets[key] = (buckets[key] or 0) + value
    end
  end
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
    percentiles[tostring(p)] = latency:percentile(p)
  end
  local result = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      mean = latency.mean,
      stdev = latency.stdev,
      min = latency.min,
      max = latency.max,
      percentiles = percentiles,
    },
    counts = gathered,
    histogram_ms = buckets,
  }
  io.write("WRK_JSON " .. encode(result) .. "\n")
end

return M
