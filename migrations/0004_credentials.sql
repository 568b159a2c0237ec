-- Credentials are an ordinary, mutable table: a password hash must never enter the immutable
-- event store. Keyed by user id; login finds the id through user_identity_claims.
CREATE TABLE user_credentials (
    user_id       uuid PRIMARY KEY,
    password_hash text        NOT NULL,
    -- Carried in every token as `ver`; bumping it (password change) invalidates older tokens.
    token_version integer     NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
