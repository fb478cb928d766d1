/// The PostgreSQL schema, in order. Append new versions; never edit an applied one.
enum PostgresMigrations {
    static let all: [Migration] = [
        Migration(
            version: 1,
            name: "accounts_tokens_outbox",
            statements: [
                """
                CREATE TABLE users (
                    id uuid PRIMARY KEY,
                    email text NOT NULL,
                    email_normalized text NOT NULL,
                    password_hash text,
                    status text NOT NULL CHECK (status IN ('pending', 'active')),
                    role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    verified_at timestamptz,
                    CONSTRAINT users_email_normalized_key UNIQUE (email_normalized),
                    CONSTRAINT users_active_is_verified
                        CHECK (status = 'pending' OR (password_hash IS NOT NULL AND verified_at IS NOT NULL))
                )
                """,
                """
                CREATE TABLE verification_tokens (
                    token_hash bytea PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    password_hash text,
                    created_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    used_at timestamptz,
                    CONSTRAINT verification_tokens_unused_has_password
                        CHECK (used_at IS NOT NULL OR password_hash IS NOT NULL)
                )
                """,
                "CREATE INDEX verification_tokens_user_id_idx ON verification_tokens (user_id)",
                """
                CREATE TABLE email_outbox (
                    id uuid PRIMARY KEY,
                    kind text NOT NULL,
                    recipient text NOT NULL,
                    subject text NOT NULL,
                    text_body text,
                    html_body text,
                    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL,
                    last_error text,
                    request_id text,
                    created_at timestamptz NOT NULL,
                    sent_at timestamptz,
                    failed_at timestamptz
                )
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
                    token_hash bytea PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    family_id uuid NOT NULL,
                    created_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    rotated_at timestamptz,
                    revoked_at timestamptz
                )
                """,
                "CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id)",
                "CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id)",
                """
                CREATE TABLE password_reset_tokens (
                    token_hash bytea PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    used_at timestamptz
                )
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
                    bucket text PRIMARY KEY,
                    window_start timestamptz NOT NULL,
                    hits integer NOT NULL
                )
                """,
                "CREATE INDEX rate_limit_counters_window_start_idx ON rate_limit_counters (window_start)",
            ]
        ),
        Migration(
            version: 4,
            name: "outbox_claim_tokens_idempotency_keys",
            statements: [
                // The claim a worker holds on an email: only that claim renews the lease.
                "ALTER TABLE email_outbox ADD COLUMN claim_token uuid",
                """
                CREATE TABLE idempotency_keys (
                    key_hash bytea PRIMARY KEY,
                    fingerprint bytea NOT NULL,
                    created_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)",
            ]
        ),
        Migration(
            version: 5,
            name: "session_epochs_family_start",
            statements: [
                // A password change or reset ends every session, also one racing it: sessions
                // carry the epoch they were made in, and the change moves the account's epoch.
                "ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0",
                "ALTER TABLE refresh_tokens ADD COLUMN session_epoch integer NOT NULL DEFAULT 0",
                // The login a family descends from, for REFRESH_TOKEN_MAX_AGE.
                "ALTER TABLE refresh_tokens ADD COLUMN family_created_at timestamptz",
                """
                UPDATE refresh_tokens r SET family_created_at = f.started
                FROM (SELECT family_id, min(created_at) AS started FROM refresh_tokens GROUP BY family_id) f
                WHERE r.family_id = f.family_id
                """,
                "ALTER TABLE refresh_tokens ALTER COLUMN family_created_at SET NOT NULL",
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
                    id uuid PRIMARY KEY,
                    kind text NOT NULL CHECK (kind IN ('resend', 'forgot')),
                    email text NOT NULL,
                    request_id text,
                    created_at timestamptz NOT NULL
                )
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
                    name text PRIMARY KEY,
                    holder text NOT NULL,
                    expires_at timestamptz NOT NULL
                )
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
                // Disabled by an administrator or operator: orthogonal to pending/active, so
                // enabling gives the account back exactly as it was.
                "ALTER TABLE users ADD COLUMN disabled_at timestamptz",
                // One row per session (refresh-token family; `id` is its family id), for the
                // owner's list of signed-in devices. Address and agent as seen at sign-in.
                """
                CREATE TABLE sessions (
                    id uuid PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at timestamptz NOT NULL,
                    last_used_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    ended_at timestamptz,
                    client_ip text,
                    user_agent text
                )
                """,
                "CREATE INDEX sessions_user_id_idx ON sessions (user_id)",
                "CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)",
                // Sessions that were live when this version was applied, without address or agent.
                """
                INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
                SELECT family_id, min(user_id::text)::uuid, min(family_created_at), max(created_at), max(expires_at)
                FROM refresh_tokens WHERE revoked_at IS NULL GROUP BY family_id
                """,
                // Append-only: rows are only ever inserted, and deleted by retention.
                """
                CREATE TABLE audit_events (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    occurred_at timestamptz NOT NULL,
                    event text NOT NULL,
                    user_id uuid,
                    actor text NOT NULL,
                    client_ip text,
                    user_agent text,
                    request_id text,
                    detail text
                )
                """,
                "CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, id)",
                "CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at)",
                """
                CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'audit_events is append-only';
                END
                $$
                """,
                """
                CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
                FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
                """,
                // What is left of a deleted account: no address, no password, no personal data.
                """
                CREATE TABLE account_tombstones (
                    user_id uuid PRIMARY KEY,
                    created_at timestamptz NOT NULL,
                    deleted_at timestamptz NOT NULL,
                    deleted_by text NOT NULL
                )
                """,
                "CREATE INDEX account_tombstones_deleted_at_idx ON account_tombstones (deleted_at)",
                // A requested change of address, waiting for its link to be opened.
                """
                CREATE TABLE email_change_tokens (
                    token_hash bytea PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    old_email_normalized text NOT NULL,
                    new_email text NOT NULL,
                    new_email_normalized text NOT NULL,
                    created_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    used_at timestamptz
                )
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
                "ALTER TABLE email_outbox ADD COLUMN trace_parent text"
            ]
        ),
    ]
}
