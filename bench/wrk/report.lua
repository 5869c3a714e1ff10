-- Shared by every bench script: counts responses by status in each thread and prints one
-- machine-readable line from done(). wrk runs each thread in its own Lua state, so counters
-- live per thread and done() (main state) collects them through thread:get().

local report = {}

local threads = {}
local next_thread_id = 0

function report.setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

statuses = {}
samples = {}
non2xx = 0

local MAX_SAMPLES = 3

function report.response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if #samples < MAX_SAMPLES then
      table.insert(samples, key .. " " .. string.sub(body or "", 1, 300))
    end
  end
end

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(char)
    if char == '"' then return '\\"' end
    if char == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(char))
  end)
  return '"' .. escaped .. '"'
end

function report.done(summary, latency, requests)
  local merged = {}
  local all_samples = {}
  local total_non2xx = 0
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
    for code, count in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
    for _, sample in ipairs(thread:get("samples") or {}) do
      if #all_samples < MAX_SAMPLES then
        table.insert(all_samples, json_string(sample))
      end
    end
  end
  local codes = {}
  for code, count in pairs(merged) do
    table.insert(codes, json_string(code) .. ":" .. count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_errors":%d,'
      .. '"statuses":{%s},"samples":[%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, total_non2xx, errors.connect, errors.read, errors.write, errors.timeout,
    errors.status, table.concat(codes, ","), table.concat(all_samples, ",")
  ))
end

return report
