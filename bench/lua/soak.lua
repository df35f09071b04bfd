-- The soak's traffic: creates, reads and deletes of VMs at a fixed rate.
--
-- Arguments after "--": rate (requests per second for each thread), the
-- tenant's API key, and the seconds a created VM is left before it is
-- deleted.
--
-- Every ten requests are two creates, three listings of VMs, three of jobs
-- and two deletes. A delete takes the oldest VM this thread created that is
-- old enough; when there is none yet it becomes a listing of VMs instead.
-- Each request carries an X-Request-Id naming what it is (and, for a
-- delete, which VM), which the broker echoes, so that response() knows what
-- an answer was about: a create's id is queued for deletion, and a delete
-- refused with 409 because the VM is still being created is queued again.
local lib = require("benchlib")

setup = lib.setup
done = lib.done

local CYCLE = {
  "create", "vms", "jobs", "delete", "vms",
  "create", "jobs", "vms", "delete", "jobs",
}

local key, min_age_ms
local queue, head, tail = {}, 1, 0
local sequence = 0
local sent_at = {}
local thread_tag

local function push(id)
  tail = tail + 1
  queue[tail] = { id = id, at = lib.now_ms() }
end

local function pop_ready()
  local entry = queue[head]
  if entry == nil or lib.now_ms() - entry.at < min_age_ms then
    return nil
  end
  queue[head] = nil
  head = head + 1
  return entry.id
end

function init(args)
  delay = lib.pacer(tonumber(args[1]))
  key = args[2]
  min_age_ms = tonumber(args[3]) * 1000
  math.randomseed(os.time())
  thread_tag = tostring(math.random(100000, 999999))
end

local function headers_for(tag)
  sent_at[tag] = lib.now_ms()
  return {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
    ["X-Request-Id"] = tag,
  }
end

function request()
  sequence = sequence + 1
  local op = CYCLE[(sequence - 1) % #CYCLE + 1]
  local serial = thread_tag .. "-" .. sequence
  if op == "delete" then
    local id = pop_ready()
    if id ~= nil then
      lib.count("sent delete")
      return wrk.format("DELETE", "/v1/vms/" .. id, headers_for("del-" .. id))
    end
    op = "vms"
  end
  lib.count("sent " .. op)
  if op == "create" then
    local body = string.format(
      '{"name":"soak-%s","cpu":{"cores":1},"memory_mib":256}', serial)
    return wrk.format("POST", "/v1/vms", headers_for("create-" .. serial), body)
  elseif op == "vms" then
    return wrk.format("GET", "/v1/vms?limit=20", headers_for("vms-" .. serial))
  end
  return wrk.format("GET", "/v1/jobs?limit=20", headers_for("jobs-" .. serial))
end

function response(status, headers, body)
  local tag = headers["X-Request-Id"] or headers["x-request-id"] or "unknown-"
  local op = tag:match("^(%a+)-") or "unknown"
  lib.count(op .. " " .. status)
  local started = sent_at[tag]
  if started ~= nil then
    sent_at[tag] = nil
    lib.sample(op, lib.now_ms() - started)
  end
  if status >= 500 then
    lib.count("5xx")
  elseif status >= 400 then
    lib.count("4xx")
  end
  if op == "create" and status == 202 then
    local id = body:match('^{"id":"(%x+)"')
    if id ~= nil then
      push(id)
    else
      lib.count("create without id")
    end
  elseif op == "del" and status == 409 then
    push(tag:sub(5))
  end
end
