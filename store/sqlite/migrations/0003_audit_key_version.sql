-- tokenwall schema 3: each audit record names the KV v2 version of the audit HMAC key that
-- MACed it, so the key can be rotated and every record still verifies with its own version.
-- Records written before get 0: "no version named" (the audit package's legacy rule).
ALTER TABLE audit_records ADD COLUMN key_version INTEGER NOT NULL DEFAULT 0;
