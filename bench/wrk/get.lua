-- GET the URL's path with optional extra headers. Args: name, value pairs
-- ("Authorization", "Bearer <jwt>" or "Cookie", "sessionid=...").
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local prepared

setup = report.setup
response = report.response
done = report.done

function init(args)
  local headers = {}
  for i = 1, #args - 1, 2 do
    headers[args[i]] = args[i + 1]
  end
  -- Every request is the same: format it once.
  prepared = wrk.format("GET", nil, headers, nil)
end

function request()
  return prepared
end
