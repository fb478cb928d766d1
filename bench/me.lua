-- GET /v1/me with a bearer token, cycling through the access tokens in BENCH_TOKENS.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local tokens = {}
local next_index = 1

function init(args)
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
        table.insert(tokens, line)
    end
end

function request()
    local token = tokens[next_index]
    next_index = next_index % #tokens + 1
    return wrk.format("GET", "/v1/me", { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" })
end

function response(status, headers, body)
    count_status(status)
end
