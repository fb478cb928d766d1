-- POST /v1/register with a new address on every request.
-- BENCH_LABEL names the run and phase, so addresses never repeat across phases or runs.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local label = os.getenv("BENCH_LABEL") or "bench"
local password = os.getenv("BENCH_PASSWORD") or "fjord-quartz-velvet-4711"
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function request()
    counter = counter + 1
    local email = string.format("%s-t%d-%d@bench.example", label, thread_number, counter)
    local body = string.format('{"email":"%s","password":"%s"}', email, password)
    return wrk.format("POST", "/v1/register", headers, body)
end

function response(status, headers, body)
    count_status(status)
end
