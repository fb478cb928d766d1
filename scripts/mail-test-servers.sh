# Starts the real mail servers the test suite sends to (scripts/mail-test-servers.py):
# aiosmtpd (plain, STARTTLS, implicit TLS, a wrong-host certificate) and moto's SES.
#
# Source this file, then call `start_mail_test_servers`. It installs the pinned Python
# packages into a virtual environment under /tmp (once), starts the servers on free loopback
# ports and exports TEST_MAIL_SERVERS (a JSON file with their ports and the test CA).
# Call `stop_mail_test_servers` to stop them.

# shellcheck source=ready-file.sh
source scripts/ready-file.sh

AIOSMTPD_VERSION=1.4.6
MOTO_VERSION=5.2.1

start_mail_test_servers() {
    local venv=${MAIL_TEST_VENV:-/tmp/registration-mail-venv}
    if ! "$venv/bin/pip" show aiosmtpd 2>/dev/null | grep -q "^Version: $AIOSMTPD_VERSION" \
        || ! "$venv/bin/pip" show moto 2>/dev/null | grep -q "^Version: $MOTO_VERSION"; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION" "moto[server]==$MOTO_VERSION"
    fi
    MAIL_TEST_DIR=$(mktemp -d /tmp/mail-test-servers.XXXXXX)
    export TEST_MAIL_SERVERS="$MAIL_TEST_DIR/servers.json"
    "$venv/bin/python" scripts/mail-test-servers.py "$TEST_MAIL_SERVERS" >"$MAIL_TEST_DIR/log" 2>&1 &
    MAIL_TEST_PID=$!
    wait_for_ready_file "$TEST_MAIL_SERVERS" "$MAIL_TEST_PID" "$MAIL_TEST_DIR/log" "the mail test servers" 30 || return 1
    echo "mail test servers (aiosmtpd $AIOSMTPD_VERSION, moto $MOTO_VERSION) listening: $(cat "$TEST_MAIL_SERVERS")" >&2
}

stop_mail_test_servers() {
    if [ -n "${MAIL_TEST_PID:-}" ]; then
        kill "$MAIL_TEST_PID" 2>/dev/null || true
        wait "$MAIL_TEST_PID" 2>/dev/null || true
    fi
    [ -n "${MAIL_TEST_DIR:-}" ] && rm -rf "$MAIL_TEST_DIR"
    return 0
}
