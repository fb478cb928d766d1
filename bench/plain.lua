-- A fixed GET (the URL given to wrk): no per-response callback, so wrk spends its CPU on
-- load; answers of 400 and above are counted by wrk itself (non_2xx_3xx).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
