-- tokenwall schema 2: one random key per data subject (a gateway customer id). The audit
-- trail names a customer by HMAC-SHA256(key, customer id); deleting the row erases the link
-- (crypto-shredding). Times are unix microseconds (UTC).

CREATE TABLE subject_keys (
	subject    TEXT PRIMARY KEY,
	key        BLOB NOT NULL CHECK (length(key) = 32),
	created_us INTEGER NOT NULL
);
