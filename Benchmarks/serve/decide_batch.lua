-- wrk script: POST /v1/decide-batch with 10 users of 10 candidates each, new users per request.
local n = 0
local cands = {}
for k = 1, 10 do
  cands[#cands + 1] = string.format('{"coupon_id":"c%d","uplift":%d.5,"cost":%d.25,"channel":"push"}', k, 20 + k, 1 + k % 4)
end
local list = table.concat(cands, ",")
request = function()
  n = n + 1
  local users = {}
  local r = math.random(1000000)
  for u = 1, 10 do
    users[u] = string.format('{"user_id":"b%d-%d-%d","candidates":[%s]}', r, n, u, list)
  end
  return wrk.format("POST", "/v1/decide-batch", {["Content-Type"] = "application/json"}, "[" .. table.concat(users, ",") .. "]")
end
