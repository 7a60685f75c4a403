-- The realistic mix (docs/benchmarks.md, scenario "mix"): several tenants, each
-- request with its own tenant's token. Per request: a tenant at random, then
--   40%  GET /v1/tickets/{id}            a random seeded ticket of that tenant
--   32%  GET /v1/tickets?... first page  limit 10/25/50, sort -created_at/-updated_at/created_at,
--                                        a filter 3 times in 5 (status, priority, tag, q: FILTERS)
--   18%  GET /v1/tickets?...&cursor=     the next page of a list this thread already
--                                        read for that tenant (a first page when it has none yet)
--    5%  POST /v1/tickets                a new ticket (adds rows)
--    3%  PATCH /v1/tickets/{id}          priority of a random seeded ticket (no If-Match, no status move)
--    2%  POST /v1/tickets/{id}/comments  a public comment on a random seeded ticket
-- so 90% reads and 10% writes. No seeded ticket is closed and nothing here moves a
-- status, so every request should be 2xx.
--
-- Tenants: $HD_MIX_FILE, one line per tenant, "<access token> <file of its ticket ids>"
-- (written by tests/load/bench.sh). Each request carries an X-Request-Id naming
-- it (the gateway echoes a sane one, docs/gateway.md), so response() knows what
-- a reply answers: for a list, the tenant and query, to keep its next_cursor.
-- done() prints the share of each kind among the replies ("mix: replies ...")
-- and, if any, the replies that were not 2xx by kind and status ("mix: not 2xx ...").

local counter = 0
local threads = {}
function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
  threads[counter] = thread
end

local tenants = {}
for line in io.lines(os.getenv("HD_MIX_FILE") or error("HD_MIX_FILE is not set")) do
  local token, ids_file = line:match("^(%S+)%s+(%S+)$")
  if token then
    local ids = {}
    for id in io.lines(ids_file) do
      if #id > 0 then ids[#ids + 1] = id end
    end
    assert(#ids > 0, "no ticket ids in " .. ids_file)
    tenants[#tenants + 1] = { auth = "Bearer " .. token, ids = ids }
  end
end
assert(#tenants > 0, "no tenant in $HD_MIX_FILE")

local LIMITS = { 10, 25, 50 }
local SORTS = { "-created_at", "-updated_at", "created_at" }
-- 20 equally likely; values that match tests/load/seed.sql's rows (status
-- new/open/pending/on_hold/solved, priority low/normal/high/urgent, tags
-- printer+hardware or network, subjects "Printer on floor N is jammed again").
local FILTERS = { "", "", "", "", "", "", "", "",
  "&status=open", "&status=open", "&status=pending", "&status=pending",
  "&priority=high", "&priority=high",
  "&tag=printer", "&tag=network", "&tag=hardware",
  "&q=printer", "&q=jammed", "&q=floor" }
local PRIORITIES = { "low", "normal", "high", "urgent" }
local CURSORS_KEPT = 8 -- next-page cursors kept per tenant and thread

local seq = 0
local pending = {} -- X-Request-Id -> { kind, tenant index, query without cursor (lists) }
local cursors = {} -- tenant index -> { { query, cursor }, ... }
replies = {}       -- "kind" or "kind status" (not 2xx) -> count, read by done()

function init(args)
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  for k = 1, #tenants do cursors[k] = {} end
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function headers(t, rid, json)
  local h = { ["Authorization"] = t.auth, ["X-Request-Id"] = rid }
  if json then h["Content-Type"] = "application/json" end
  return h
end

-- A list request whose reply response() reads for its next_cursor.
local function list(k, t, rid, query, cursor)
  pending[rid] = { cursor and "next" or "first", k, query }
  local path = "/v1/tickets?" .. query
  if cursor then path = path .. "&cursor=" .. urlencode(cursor) end
  return wrk.format("GET", path, headers(t, rid))
end

function request()
  local k = math.random(#tenants)
  local t = tenants[k]
  seq = seq + 1
  local rid = "mix-" .. (thread_no or 0) .. "-" .. seq
  local r = math.random(100)
  if r <= 40 then
    pending[rid] = { "get" }
    return wrk.format("GET", "/v1/tickets/" .. t.ids[math.random(#t.ids)], headers(t, rid))
  end
  if r <= 90 then
    local kept = cursors[k]
    if r > 72 and #kept > 0 then
      local i = math.random(#kept)
      local c = kept[i]
      kept[i] = kept[#kept]
      kept[#kept] = nil
      return list(k, t, rid, c[1], c[2])
    end
    local query = "limit=" .. LIMITS[math.random(#LIMITS)] .. "&sort=" .. SORTS[math.random(#SORTS)]
                  .. FILTERS[math.random(#FILTERS)]
    return list(k, t, rid, query, nil)
  end
  if r <= 95 then
    pending[rid] = { "create" }
    local n = math.random(12)
    return wrk.format("POST", "/v1/tickets", headers(t, rid, true),
      '{"subject":"Printer on floor ' .. n .. ' is jammed (mix)","description":"Created by the wrk ' ..
      'mix benchmark; the paper tray reports error E42.","priority":"normal","tags":["bench","printer"]}')
  end
  local id = t.ids[math.random(#t.ids)]
  if r <= 98 then
    pending[rid] = { "patch" }
    return wrk.format("PATCH", "/v1/tickets/" .. id, headers(t, rid, true),
      '{"priority":"' .. PRIORITIES[math.random(#PRIORITIES)] .. '"}')
  end
  pending[rid] = { "comment" }
  return wrk.format("POST", "/v1/tickets/" .. id .. "/comments", headers(t, rid, true),
    '{"body":"Looked at it from the mix benchmark; replacing the tray.","public":true}')
end

function response(status, hdrs, body)
  local rid = hdrs["X-Request-Id"] or hdrs["x-request-id"]
  local p = rid and pending[rid]
  if not p then return end
  pending[rid] = nil
  replies[p[1]] = (replies[p[1]] or 0) + 1
  if status < 200 or status > 299 then
    local key = p[1] .. " " .. status
    replies[key] = (replies[key] or 0) + 1
    return
  end
  if not p[2] then return end
  local cursor = body:match('"next_cursor":"([^"]+)"')
  if not cursor then return end
  local kept = cursors[p[2]]
  if #kept < CURSORS_KEPT then
    kept[#kept + 1] = { p[3], cursor }
  else
    kept[math.random(CURSORS_KEPT)] = { p[3], cursor }
  end
end

-- One line "mix: replies ..." with the share of each kind of request among
-- the replies, then one "mix: not 2xx ..." line when some were not 2xx.
function done(summary, latency, requests)
  local all, total = {}, 0
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("replies") or {}) do all[key] = (all[key] or 0) + n end
  end
  for _, kind in ipairs({ "get", "first", "next", "create", "patch", "comment" }) do
    total = total + (all[kind] or 0)
  end
  local shares, bad = {}, {}
  for _, kind in ipairs({ "get", "first", "next", "create", "patch", "comment" }) do
    shares[#shares + 1] = string.format("%s %.1f%%", kind, 100 * (all[kind] or 0) / math.max(total, 1))
  end
  for key, n in pairs(all) do
    if key:find(" ") then bad[#bad + 1] = key .. " x" .. n end
  end
  table.sort(bad)
  print("mix: replies " .. total .. ": " .. table.concat(shares, ", "))
  if #bad > 0 then print("mix: not 2xx: " .. table.concat(bad, ", ")) end
end
