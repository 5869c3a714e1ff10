-- POST a small MARKET IOC buy with a client_order_id unique in this run:
-- <run nonce>-<thread>-<counter>. Args: nonce, then zero or more Bearer tokens used in turn
-- (the two demo traders).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local nonce = "run"
local tokens = {}
local counter = 0

setup = report.setup
response = report.response
done = report.done

function init(args)
  nonce = args[1] or nonce
  for i = 2, #args do
    table.insert(tokens, args[i])
  end
end

function request()
  counter = counter + 1
  local headers = {["Content-Type"] = "application/json"}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  end
  local body = string.format(
    '{"symbol":"AAPL","type":"BUY","quantity":1,"order_type":"MARKET",'
      .. '"time_in_force":"IOC","client_order_id":"%s-%d-%d"}',
    nonce, thread_id, counter
  )
  return wrk.format("POST", nil, headers, body)
end
