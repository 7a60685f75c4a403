-- Runs the scenario script named by $HD_BENCH_PACED_SCRIPT with every
-- connection pausing $HD_BENCH_THINK_MS ms between a reply and its next
-- request (wrk's delay()): the connections are users who each wait a moment,
-- not clients in a tight loop, so the figures are the latency at the rate
-- they offer, below saturation (tests/load/bench.sh HD_BENCH_THINK_MS,
-- docs/benchmarks.md "Paced runs").
dofile(os.getenv("HD_BENCH_PACED_SCRIPT"))
local think_ms = tonumber(os.getenv("HD_BENCH_THINK_MS"))
function delay()
  return think_ms
end
