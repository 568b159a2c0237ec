-- Request-level state that is not part of the domain history, so it lives in ordinary mutable
-- tables beside the event store (like user_credentials): idempotency keys, rate-limit buckets and
-- revoked tokens. All three are shared by every node through this database.

-- `Idempotency-Key` on message and file posts. The message id is reserved with the key before the
-- command runs, so a retry (on any node, after any crash) re-runs the same command on the same
-- aggregate id: the event store's uniqueness of (aggregate_id, sequence) makes it exactly once.
-- `response` is the original 201 body, stored once the message was read back, so a retry answers
-- with exactly what the first request got, even if the message changed since.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    message_id   uuid        NOT NULL,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- GCRA buckets ("theoretical arrival time"), one row per (bucket, subject): a single timestamp
-- holds both the burst and the refill rate, and one conditional upsert takes a token atomically,
-- so nodes share a limit without locks beyond the row's.
CREATE TABLE rate_limits (
    bucket  text        NOT NULL,
    subject text        NOT NULL,
    tat     timestamptz NOT NULL,
    PRIMARY KEY (bucket, subject)
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- Tokens revoked before they expire (`POST /logout`). A row is useless once its token expired.
CREATE TABLE revoked_tokens (
    jti        uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
