-- GET /healthz (the gateway alone: no token, no upstream hop)
wrk.method = "GET"
wrk.path = "/healthz"
