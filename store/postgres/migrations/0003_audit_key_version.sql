-- tokenwall schema 3: each audit record names the KV v2 version of the audit HMAC key that
-- MACed it, so the key can be rotated and every record still verifies with its own version.
-- Records written before get 0: "no version named" (the audit package's legacy rule). A
-- constant default adds the column without rewriting the table; a replica still running the
-- previous tokenwall during a rolling upgrade inserts 0 as well, which is what it MACed.
ALTER TABLE audit_records ADD COLUMN key_version integer NOT NULL DEFAULT 0;
