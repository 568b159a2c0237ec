-- The file store every running node uses (ADR 0006). Nodes on one database must share one store,
-- or a link handed out by one node 404s on another and a deletion through one leaves the file on
-- another's disk. Each node registers here at startup and refreshes `last_seen` while it runs;
-- a node whose store differs from a live node's refuses to start, or reports not ready.
-- Ordinary mutable state beside the event store, like revoked_tokens: nothing here is history.
CREATE TABLE file_store_nodes (
    node_id     uuid        PRIMARY KEY,
    -- Where the node runs (host name, process id): for the operator reading a refusal.
    host        text        NOT NULL,
    -- `local:<id in the directory's marker file>` or `s3:<endpoint>/<bucket>`.
    store_id    text        NOT NULL,
    -- The directory (or bucket) as that node names it: for messages only, never compared.
    location    text        NOT NULL,
    -- A fingerprint of the key that signs local file links ('' for S3, whose links S3 signs).
    link_signer text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_store_nodes_last_seen ON file_store_nodes (last_seen);
