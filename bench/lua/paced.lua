-- One request, repeated at a fixed rate, with its answers counted by status.
--
-- Arguments after "--": rate (requests per second for each thread), method,
-- a file holding the body ("-" for none), then "Name: value" headers.
local lib = require("benchlib")

setup = lib.setup
done = lib.done

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  delay = lib.pacer(tonumber(args[1]))
  wrk.method = args[2]
  if args[3] ~= "-" then
    wrk.body = read_file(args[3])
  end
  for index = 4, #args do
    local name, value = args[index]:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
end

function response(status, headers, body)
  lib.count(tostring(status))
end
