# Starts a throwaway PostgreSQL server for tests, benchmarks and local runs.
#
# Source this file, then call `start_throwaway_postgres [DIR]`. It installs PostgreSQL from
# Debian's packages when no server binaries are found, creates a cluster (in DIR, or in a
# temporary directory), starts it on a free loopback port and exports:
#   THROWAWAY_PG_URL   postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
# The server stops when the calling shell exits; a temporary directory is also removed,
# a DIR given by the caller is kept so its data survives the next start.

find_postgres_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    echo "PostgreSQL server not found; installing it from Debian packages..." >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_throwaway_postgres() {
    local bindir
    bindir=$(find_postgres_bindir) || { install_postgres && bindir=$(find_postgres_bindir); } || {
        echo "could not find or install a PostgreSQL server" >&2
        return 1
    }
    THROWAWAY_PG_KEEP=${1:+yes}
    if [ -n "${1:-}" ]; then
        mkdir -p "$1"
        THROWAWAY_PG_DIR=$(cd "$1" && pwd)
    else
        THROWAWAY_PG_DIR=$(mktemp -d /tmp/throwaway-pg.XXXXXX)
    fi
    local port
    port=$(free_port)
    # PostgreSQL refuses to run as root: run it as the unprivileged 'postgres' user then.
    local run=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown -R postgres "$THROWAWAY_PG_DIR"
        run=(runuser -u postgres --)
    fi
    THROWAWAY_PG_RUN=("${run[@]}")
    THROWAWAY_PG_BINDIR=$bindir
    trap stop_throwaway_postgres EXIT
    if [ ! -f "$THROWAWAY_PG_DIR/data/PG_VERSION" ]; then
        "${run[@]}" "$bindir/initdb" -D "$THROWAWAY_PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    fi
    # Tests trade durability for speed (nothing here must survive a crash of the machine);
    # THROWAWAY_PG_DURABLE=1 keeps PostgreSQL's durable defaults, as production has them.
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${THROWAWAY_PG_DURABLE:-}" = 1 ] && durability=""
    "${run[@]}" "$bindir/pg_ctl" -D "$THROWAWAY_PG_DIR/data" -l "$THROWAWAY_PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$THROWAWAY_PG_DIR -c max_connections=400 $durability" \
        start >/dev/null
    export THROWAWAY_PG_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
    echo "throwaway PostgreSQL listening on 127.0.0.1:$port" >&2
}

stop_throwaway_postgres() {
    if [ -n "${THROWAWAY_PG_DIR:-}" ] && [ -d "$THROWAWAY_PG_DIR" ]; then
        if [ -n "${THROWAWAY_PG_KEEP:-}" ]; then
            "${THROWAWAY_PG_RUN[@]}" "$THROWAWAY_PG_BINDIR/pg_ctl" -D "$THROWAWAY_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
        else
            "${THROWAWAY_PG_RUN[@]}" "$THROWAWAY_PG_BINDIR/pg_ctl" -D "$THROWAWAY_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
            rm -rf "$THROWAWAY_PG_DIR"
        fi
    fi
}
