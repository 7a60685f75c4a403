-- GET of one analytics report (HD_BENCH_PATH), with the bearer token of
-- HD_BENCH_TOKEN (bench-analytics.sh).
wrk.method = "GET"
wrk.path = os.getenv("HD_BENCH_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("HD_BENCH_TOKEN")
