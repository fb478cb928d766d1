-- Shared by every wrk script of the benchmark (loaded with dofile).
--
-- Numbers each thread, counts answers by status in every thread, and when wrk is done
-- prints one line "BENCH_RESULT {json}" with throughput, latency percentiles (microseconds),
-- socket errors and the status counts, which bench/bench.py reads.

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_number", #threads)
end

statuses = {}

function count_status(status)
    statuses[status] = (statuses[status] or 0) + 1
end

local function json_object(map)
    local parts = {}
    for key, value in pairs(map) do
        table.insert(parts, string.format("%q:%s", tostring(key), tostring(value)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
    local counts = {}
    for _, thread in ipairs(threads) do
        local per_thread = thread:get("statuses") or {}
        for status, n in pairs(per_thread) do
            counts[tostring(status)] = (counts[tostring(status)] or 0) + n
        end
    end
    local errors = summary.errors
    local result = {
        duration_s = summary.duration / 1e6,
        requests = summary.requests,
        bytes = summary.bytes,
        p50_us = latency:percentile(50),
        p90_us = latency:percentile(90),
        p95_us = latency:percentile(95),
        p99_us = latency:percentile(99),
        max_us = latency.max,
        mean_us = latency.mean,
        errors_connect = errors.connect,
        errors_read = errors.read,
        errors_write = errors.write,
        errors_timeout = errors.timeout,
        non_2xx_3xx = errors.status,
        statuses = json_object(counts),
    }
    io.write("BENCH_RESULT ", json_object(result), "\n")
end
