/// The SQLite schema, in order: the same tables and rules as `PostgresMigrations`, in
/// SQLite's dialect. Times are Unix seconds (REAL), ids lower-case UUID text. Append new
/// versions; never edit an applied one.
enum SQLiteMigrations {
    static let all: [Migration] = [
        Migration(
            version: 1,
            name: "accounts_tokens_outbox",
            statements: [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL,
                    email_normalized TEXT NOT NULL,
                    password_hash TEXT,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'active')),
                    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    verified_at REAL,
                    CONSTRAINT users_email_normalized_key UNIQUE (email_normalized),
                    CONSTRAINT users_active_is_verified
                        CHECK (status = 'pending' OR (password_hash IS NOT NULL AND verified_at IS NOT NULL))
                ) STRICT
                """,
                """
                CREATE TABLE verification_tokens (
                    token_hash BLOB PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    password_hash TEXT,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    used_at REAL,
                    CONSTRAINT verification_tokens_unused_has_password
                        CHECK (used_at IS NOT NULL OR password_hash IS NOT NULL)
                ) STRICT
                """,
                "CREATE INDEX verification_tokens_user_id_idx ON verification_tokens (user_id)",
                """
                CREATE TABLE email_outbox (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    text_body TEXT,
                    html_body TEXT,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT,
                    request_id TEXT,
                    created_at REAL NOT NULL,
                    sent_at REAL,
                    failed_at REAL
                ) STRICT
                """,
                "CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status = 'pending'",
            ]
        ),
        Migration(
            version: 2,
            name: "refresh_and_reset_tokens",
            statements: [
                """
                CREATE TABLE refresh_tokens (
                    token_hash BLOB PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    family_id TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    rotated_at REAL,
                    revoked_at REAL
                ) STRICT
                """,
                "CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id)",
                "CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id)",
                """
                CREATE TABLE password_reset_tokens (
                    token_hash BLOB PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    used_at REAL
                ) STRICT
                """,
                "CREATE INDEX password_reset_tokens_user_id_idx ON password_reset_tokens (user_id)",
                "CREATE INDEX users_created_at_idx ON users (created_at, id)",
            ]
        ),
        Migration(
            version: 3,
            name: "rate_limit_counters",
            statements: [
                """
                CREATE TABLE rate_limit_counters (
                    bucket TEXT PRIMARY KEY,
                    window_start REAL NOT NULL,
                    hits INTEGER NOT NULL
                ) STRICT
                """,
                "CREATE INDEX rate_limit_counters_window_start_idx ON rate_limit_counters (window_start)",
            ]
        ),
        Migration(
            version: 4,
            name: "outbox_claim_tokens_idempotency_keys",
            statements: [
                "ALTER TABLE email_outbox ADD COLUMN claim_token TEXT",
                """
                CREATE TABLE idempotency_keys (
                    key_hash BLOB PRIMARY KEY,
                    fingerprint BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL
                ) STRICT
                """,
                "CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)",
            ]
        ),
        Migration(
            version: 5,
            name: "session_epochs_family_start",
            statements: [
                "ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE refresh_tokens ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE refresh_tokens ADD COLUMN family_created_at REAL NOT NULL DEFAULT 0",
                """
                UPDATE refresh_tokens SET family_created_at = (
                    SELECT min(f.created_at) FROM refresh_tokens f WHERE f.family_id = refresh_tokens.family_id
                )
                """,
            ]
        ),
        Migration(
            version: 6,
            name: "email_requests",
            statements: [
                // Resend and forgot requests, recorded as they arrive and resolved by the worker,
                // so the request does the same work whether or not the address has an account.
                """
                CREATE TABLE email_requests (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('resend', 'forgot')),
                    email TEXT NOT NULL,
                    request_id TEXT,
                    created_at REAL NOT NULL
                ) STRICT
                """,
                "CREATE INDEX email_requests_created_at_idx ON email_requests (created_at)",
            ]
        ),
        Migration(
            version: 7,
            name: "housekeeping",
            statements: [
                // One row per housekeeping pass: the instance holding it until `expires_at`.
                """
                CREATE TABLE housekeeping_leases (
                    name TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    expires_at REAL NOT NULL
                ) STRICT
                """,
                // What the purges look for, so they find it without scanning.
                "CREATE INDEX verification_tokens_expires_at_idx ON verification_tokens (expires_at)",
                "CREATE INDEX password_reset_tokens_expires_at_idx ON password_reset_tokens (expires_at)",
                "CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at)",
                "CREATE INDEX email_outbox_sent_at_idx ON email_outbox (sent_at) WHERE status = 'sent'",
                "CREATE INDEX email_outbox_failed_at_idx ON email_outbox (failed_at) WHERE status = 'failed'",
                "CREATE INDEX users_pending_created_at_idx ON users (created_at) WHERE status = 'pending'",
            ]
        ),
        Migration(
            version: 8,
            name: "lifecycle",
            statements: [
                "ALTER TABLE users ADD COLUMN disabled_at REAL",
                """
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at REAL NOT NULL,
                    last_used_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    ended_at REAL,
                    client_ip TEXT,
                    user_agent TEXT
                ) STRICT
                """,
                "CREATE INDEX sessions_user_id_idx ON sessions (user_id)",
                "CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)",
                """
                INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
                SELECT family_id, min(user_id), min(family_created_at), max(created_at), max(expires_at)
                FROM refresh_tokens WHERE revoked_at IS NULL GROUP BY family_id
                """,
                """
                CREATE TABLE audit_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    occurred_at REAL NOT NULL,
                    event TEXT NOT NULL,
                    user_id TEXT,
                    actor TEXT NOT NULL,
                    client_ip TEXT,
                    user_agent TEXT,
                    request_id TEXT,
                    detail TEXT
                ) STRICT
                """,
                "CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, id)",
                "CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at)",
                """
                CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
                BEGIN
                    SELECT RAISE(ABORT, 'audit_events is append-only');
                END
                """,
                """
                CREATE TABLE account_tombstones (
                    user_id TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    deleted_at REAL NOT NULL,
                    deleted_by TEXT NOT NULL
                ) STRICT
                """,
                "CREATE INDEX account_tombstones_deleted_at_idx ON account_tombstones (deleted_at)",
                """
                CREATE TABLE email_change_tokens (
                    token_hash BLOB PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    old_email_normalized TEXT NOT NULL,
                    new_email TEXT NOT NULL,
                    new_email_normalized TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    used_at REAL
                ) STRICT
                """,
                "CREATE INDEX email_change_tokens_user_id_idx ON email_change_tokens (user_id)",
                "CREATE INDEX email_change_tokens_expires_at_idx ON email_change_tokens (expires_at)",
            ]
        ),
        Migration(
            version: 9,
            name: "tracing",
            statements: [
                // The W3C traceparent of the request that queued the email (sampled requests
                // only), so the delivery's span can link to it.
                "ALTER TABLE email_outbox ADD COLUMN trace_parent TEXT"
            ]
        ),
    ]
}
