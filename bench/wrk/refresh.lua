-- POST /api/v1/public/auth/refresh, following each rotation: every response's new refresh
-- token goes back into the thread's queue. Argument: a file of refresh tokens.
local queue = {}
local head = 1
local tail = 0
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local all = {}
  for line in io.lines(args[1]) do all[#all + 1] = line end
  local threads = tonumber(args[2] or "2")
  for i = 1, #all do
    if (i - 1) % threads == (tid or 0) then
      tail = tail + 1
      queue[tail] = all[i]
    end
  end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local token = queue[head]
  if token then
    queue[head] = nil
    head = head + 1
  else
    token = "exhausted"  -- answered 401, counted by wrk as a non-2xx response
  end
  return wrk.format("POST", "/api/v1/public/auth/refresh", nil,
                    '{"refreshToken":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refreshToken":"([^"]+)"')
  if token then
    tail = tail + 1
    queue[tail] = token
  end
end
