# Starts the OTLP/HTTP trace receiver the tracing tests export to (scripts/otlp-test-collector.py).
#
# Source this file, then call `start_otlp_test_collector`. It installs the pinned
# opentelemetry-proto package (the specification's message definitions) into a virtual
# environment under /tmp (once), starts the receiver on a free loopback port and exports
# TEST_OTLP_COLLECTOR (a JSON file with its port). `stop_otlp_test_collector` stops it.
# `start_otlp_test_collector --count-only` keeps no span, only counts them (the benchmark).

# shellcheck source=ready-file.sh
source scripts/ready-file.sh

OTLP_PROTO_VERSION=1.38.0
PROTOBUF_VERSION=6.33.6

start_otlp_test_collector() {
    local venv=${OTLP_TEST_VENV:-/tmp/registration-otlp-venv}
    if ! "$venv/bin/pip" show opentelemetry-proto 2>/dev/null | grep -q "^Version: $OTLP_PROTO_VERSION"; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "opentelemetry-proto==$OTLP_PROTO_VERSION" "protobuf==$PROTOBUF_VERSION"
    fi
    OTLP_TEST_DIR=$(mktemp -d /tmp/otlp-test-collector.XXXXXX)
    export TEST_OTLP_COLLECTOR="$OTLP_TEST_DIR/collector.json"
    "$venv/bin/python" scripts/otlp-test-collector.py "$@" "$TEST_OTLP_COLLECTOR" >"$OTLP_TEST_DIR/log" 2>&1 &
    OTLP_TEST_PID=$!
    wait_for_ready_file "$TEST_OTLP_COLLECTOR" "$OTLP_TEST_PID" "$OTLP_TEST_DIR/log" "the OTLP test collector" 10 || return 1
    echo "OTLP test collector (opentelemetry-proto $OTLP_PROTO_VERSION) listening: $(cat "$TEST_OTLP_COLLECTOR")" >&2
}

stop_otlp_test_collector() {
    if [ -n "${OTLP_TEST_PID:-}" ]; then
        kill "$OTLP_TEST_PID" 2>/dev/null || true
        wait "$OTLP_TEST_PID" 2>/dev/null || true
    fi
    [ -n "${OTLP_TEST_DIR:-}" ] && rm -rf "$OTLP_TEST_DIR"
    return 0
}
