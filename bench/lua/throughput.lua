-- As fast as the connections allow: wrk's own request, no per-request Lua,
-- and one JSON line of results at the end.
local lib = require("benchlib")

setup = lib.setup
done = lib.done
