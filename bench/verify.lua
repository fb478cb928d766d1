-- GET /v1/verify?token=… with tokens from BENCH_TOKENS (one per line), each used once.
-- The tokens are split between wrk's BENCH_THREADS threads; a thread that runs out starts
-- over (those requests then take the already-verified path, which the report counts).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local tokens = {}
local next_index = 1
local headers = { ["Accept"] = "application/json" }

function init(args)
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    local line_number = 0
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
        line_number = line_number + 1
        if line_number % threads == thread_number - 1 then
            table.insert(tokens, line)
        end
    end
end

function request()
    local token = tokens[next_index]
    next_index = next_index + 1
    if next_index > #tokens then next_index = 1 end
    return wrk.format("GET", "/v1/verify?token=" .. token, headers)
end

function response(status, headers, body)
    count_status(status)
end
