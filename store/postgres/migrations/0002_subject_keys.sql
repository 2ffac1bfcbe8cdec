-- tokenwall schema 2: one random key per data subject (a gateway customer id). The audit
-- trail names a customer by HMAC-SHA256(key, customer id); deleting the row erases the link
-- (crypto-shredding).

CREATE TABLE subject_keys (
	subject    text COLLATE "C" PRIMARY KEY,
	key        bytea NOT NULL CHECK (octet_length(key) = 32),
	created_at timestamptz NOT NULL DEFAULT now()
);
