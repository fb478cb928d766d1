# Waits for a background helper (a test server started with `&`) to write the file that says it
# listens. Sourced by scripts/mail-test-servers.sh and scripts/otlp-test-collector.sh.
#
#   wait_for_ready_file FILE PID LOG WHAT SECONDS
#
# Returns 0 once FILE exists; 1, printing LOG, if the process PID exits first or SECONDS pass.
wait_for_ready_file() {
    local file=$1 pid=$2 log=$3 what=$4 seconds=$5
    local _
    for _ in $(seq 1 $((seconds * 10))); do
        [ -f "$file" ] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$what did not start:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    [ -f "$file" ] || { echo "$what did not start in $seconds s" >&2; return 1; }
}
