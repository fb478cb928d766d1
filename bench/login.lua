-- POST /v1/login, cycling through the active accounts listed in BENCH_ACCOUNTS.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local accounts = {}
local next_index = 1
local password = os.getenv("BENCH_PASSWORD") or "fjord-quartz-velvet-4711"
local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function init(args)
    for line in io.lines(os.getenv("BENCH_ACCOUNTS")) do
        table.insert(accounts, line)
    end
    next_index = (thread_number * 7) % #accounts + 1
end

function request()
    local email = accounts[next_index]
    next_index = next_index % #accounts + 1
    local body = string.format('{"email":"%s","password":"%s"}', email, password)
    return wrk.format("POST", "/v1/login", headers, body)
end

function response(status, headers, body)
    count_status(status)
end
