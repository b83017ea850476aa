-- wrk script: POST /v1/decide with 10 candidates (coupons c1 to c10, distinct: a request that
-- repeats a coupon is refused), a different user per request.
local n = 0
local cands = {}
for k = 1, 10 do
  cands[#cands + 1] = string.format('{"coupon_id":"c%d","uplift":%d.5,"cost":%d.25,"channel":"push"}', k, 20 + k, 1 + k % 4)
end
local list = table.concat(cands, ",")
request = function()
  n = n + 1
  local body = string.format('{"user_id":"w%d-%d","candidates":[%s]}', math.random(1000000), n, list)
  return wrk.format("POST", "/v1/decide", {["Content-Type"] = "application/json"}, body)
end
