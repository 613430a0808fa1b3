-- wrk script: POST $BODY with JSON content type, optional $HEADER_NAME:
-- $HEADER_VALUE, and an optional fixed delay between a connection's requests
-- ($DELAY_MS) to hold a lower rate for latency measurements.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BODY") or "{}"
local hn, hv = os.getenv("HEADER_NAME"), os.getenv("HEADER_VALUE")
if hn and hn ~= "" then wrk.headers[hn] = hv end
local d = tonumber(os.getenv("DELAY_MS") or "0")
if d > 0 then
  function delay() return d end
end
