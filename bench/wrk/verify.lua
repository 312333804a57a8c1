-- GET /api/v1/auth/verify with valid headers, cycling through many users' sessions.
-- Argument: a file of "ACCESS_TOKEN OTP" lines.
local lines = {}
local index = 0
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local token, otp = line:match("(%S+) (%S+)")
    -- Formatted once here: request() only picks one, so wrk's own cost stays that of a
    -- static request and the measurement is the server's.
    lines[#lines + 1] = wrk.format("GET", "/api/v1/auth/verify",
                                   { ["Authorization"] = "Bearer " .. token, ["otp"] = otp })
  end
  index = (tid or 0) * 7919 % #lines
end

function request()
  index = index % #lines + 1
  return lines[index]
end
