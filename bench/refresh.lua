-- POST /v1/token/refresh, rotating: every answer's new refresh token goes back into a shared
-- pool, from which the next request takes the oldest. The pool starts with the tokens in
-- BENCH_TOKENS (one login each), more than there are connections, so a connection never waits
-- for a token and no token is presented twice (which would count as reuse and end its session).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local pool = {}
local first, last = 1, 0
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function init(args)
    for line in io.lines(os.getenv("BENCH_TOKENS")) do
        last = last + 1
        pool[last] = line
    end
end

function request()
    local token = "pool-empty"
    if first <= last then
        token = pool[first]
        pool[first] = nil
        first = first + 1
    end
    return wrk.format("POST", "/v1/token/refresh", headers, string.format('{"refresh_token":"%s"}', token))
end

function response(status, headers, body)
    count_status(status)
    local token = body and body:match('"refresh_token":"([A-Za-z0-9_%-]+)"')
    if token then
        last = last + 1
        pool[last] = token
    end
end
