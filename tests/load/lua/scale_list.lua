-- make bench-scale (tests/load/bench-scale.sh, docs/benchmarks.md "At scale"):
-- GET requests drawn at random from $HD_SCALE_PATHS, one "<access token> <path>"
-- a line (one line for a scenario alone; every scenario of every tenant for
-- the scenario "all"). wrk counts the replies that were not 2xx.
local lines = {}
for line in io.lines(os.getenv("HD_SCALE_PATHS") or error("HD_SCALE_PATHS is not set")) do
  local token, path = line:match("^(%S+)%s+(%S+)$")
  if token then lines[#lines + 1] = { auth = "Bearer " .. token, path = path } end
end
assert(#lines > 0, "no request in $HD_SCALE_PATHS")

wrk.method = "GET"

request = function()
  local l = lines[math.random(#lines)]
  return wrk.format("GET", l.path, { ["Authorization"] = l.auth })
end

function setup(thread)
  thread:set("id", math.random(1000000))
end

function init()
  math.randomseed(os.time() + id)
end
