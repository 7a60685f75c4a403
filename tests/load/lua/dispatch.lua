-- POST /v1/work-orders/{id}/dispatch, each seeded work order once: thread k of
-- n takes lines k, k + n, ... of $HD_WO_IDS_FILE (unassigned work orders with
-- disjoint windows, tests/load/seed_field.sql; n: $HD_WO_THREADS), so a 409
-- means no technician could be found, never "dispatched already" (unless
-- the half of the file a run uses runs out).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end
local nthreads = tonumber(os.getenv("HD_WO_THREADS") or "2")

local ids = {}
for line in io.lines(os.getenv("HD_WO_IDS_FILE")) do
  if #line > 0 then ids[#ids + 1] = line end
end

local next_i
function init(args)
  -- the warm-up run and the measured run use the two halves of the file
  local half = os.getenv("HD_WO_HALF") == "2" and math.floor(#ids / 2) or 0
  next_i = half + (thread_no or 1)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = "{}"

function request()
  local id = ids[((next_i - 1) % #ids) + 1]
  next_i = next_i + nthreads
  return wrk.format(nil, "/v1/work-orders/" .. id .. "/dispatch")
end
