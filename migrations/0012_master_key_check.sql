-- Personal data is sealed under data keys, and the data keys are wrapped by one master key that
-- never enters the database (ARCHITECTURE.md, "Personal data"). This row lets a starting server
-- recognise that master key: a value only it opens, written by the first server to start. A
-- server given another key refuses to start, before it writes anything (a wrong key would seal
-- new data under keys the other nodes cannot unwrap).
CREATE TABLE master_key_check (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    sealed     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
