-- wrk script for Benchmarks/serve/durability.py: POST /v1/decide for users of a pool of 20,000
-- (so a user comes back, and the frequency cap matters) with the snapshot's 5 coupons; every
-- answered response (status 200) is appended to the file named by the ANSWERS environment
-- variable, one body a line, flushed at once, so that the log holds exactly what was answered.
local answers = assert(io.open(os.getenv("ANSWERS"), "a"))
local n = 0
request = function()
  n = n + 1
  local user = math.random(20000)
  local cands = {}
  for k = 1, 5 do
    local uplift = 40 + ((user * 7 + k * 13) % 23)
    local cost = 1 + ((user + k * 5) % 4)
    cands[k] = string.format('{"coupon_id":"c%d","uplift":%d.5,"cost":%d.25}', k, uplift, cost)
  end
  local body = string.format('{"user_id":"d%d","candidates":[%s]}', user, table.concat(cands, ","))
  return wrk.format("POST", "/v1/decide", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status == 200 then
    answers:write(body)
    answers:flush()
  end
end
