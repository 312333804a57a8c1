-- POST /api/v1/public/auth/login with correct credentials, each user once.
-- Argument: a file of "USERNAME PASSWORD OTP" lines; threads take disjoint slices.
local bodies = {}
local index = 0
local last = 0
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local all = {}
  for line in io.lines(args[1]) do all[#all + 1] = line end
  local threads = tonumber(args[2] or "2")
  local slice = math.floor(#all / threads)
  local first = (tid or 0) * slice + 1
  last = first + slice - 1
  for i = first, last do
    local user, password, otp = all[i]:match("(%S+) (%S+) (%S+)")
    bodies[#bodies + 1] = string.format(
      '{"username":"%s","password":"%s","otp":"%s"}', user, password, otp)
  end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  index = index + 1
  if index > #bodies then index = 1 end  -- wraps only if the run outlasts the accounts
  return wrk.format("POST", "/api/v1/public/auth/login", nil, bodies[index])
end
