-- Runs the scenario script named by $HD_BENCH_PACED_SCRIPT with every
-- connection pausing $HD_BENCH_THINK_MS ms between a reply and its next
-- request (wrk's delay()): the connections are users who each wait a moment,
-- not clients in a tight loop, so the figures are the latency at the rate
-- they offer, below saturation (tests/load/bench.sh HD_BENCH_THINK_MS,
-- docs/benchmarks.md "Paced runs").
-- wrk calls delay() before a connection's first request too, and every
-- connection starts at once: with the same pause for all they would send in
-- bursts, in step. So the first pause of each connection of a thread (its
-- first $HD_BENCH_CONNS / $HD_BENCH_THREADS calls: wrk gives each thread
-- that many) is random in [0, think), which spreads them over one pause.
dofile(os.getenv("HD_BENCH_PACED_SCRIPT"))
local think_ms = tonumber(os.getenv("HD_BENCH_THINK_MS"))
local conns = tonumber(os.getenv("HD_BENCH_CONNS") or "") or 1
local threads = tonumber(os.getenv("HD_BENCH_THREADS") or "") or 1
local first_pauses = math.floor(conns / math.max(threads, 1))
-- each thread has its own Lua state: seed each differently (a table's
-- address differs between states)
math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0) % 1000003)
function delay()
  if first_pauses > 0 then
    first_pauses = first_pauses - 1
    return math.random(0, math.max(think_ms - 1, 0))
  end
  return think_ms
end
