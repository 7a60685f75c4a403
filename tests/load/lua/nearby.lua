-- GET /v1/technicians?near=<random point of the seeded area>&radius_km=10&skill=<one of 8>
-- (tests/load/seed_field.sql: the area and the skills).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end

local skills = { "hvac", "electric", "plumbing", "gas", "network", "printers", "elevators", "locks" }

function init(args)
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  local lat = 48.72 + math.random() * 0.27
  local lon = 2.15 + math.random() * 0.40
  return wrk.format("GET", string.format("/v1/technicians?near=%.5f,%.5f&radius_km=10&skill=%s",
    lat, lon, skills[math.random(#skills)]))
end
