-- tokenwall schema 1: the audit trail, its checkpoints, the webhook outbox and API
-- idempotency records. Times are unix microseconds (UTC).

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash BLOB
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

CREATE TABLE audit_records (
	seq        INTEGER PRIMARY KEY,
	time_us    INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	event      TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	reason     TEXT NOT NULL,
	source_ip  TEXT NOT NULL,
	request_id TEXT NOT NULL,
	resource   TEXT NOT NULL,
	details    TEXT NOT NULL,
	prev_hash  BLOB,
	hash       BLOB NOT NULL,
	mac        BLOB
);

CREATE TABLE audit_checkpoints (
	seq       INTEGER PRIMARY KEY,
	hash      BLOB NOT NULL,
	time_us   INTEGER NOT NULL,
	key_name  TEXT NOT NULL,
	signature TEXT NOT NULL
);

CREATE TABLE outbox (
	id              TEXT PRIMARY KEY,
	type            TEXT NOT NULL,
	payload         BLOB,
	digest          BLOB NOT NULL,
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_us INTEGER NOT NULL,
	created_us      INTEGER NOT NULL,
	delivered_us    INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until_us  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_us);

CREATE TABLE idempotency (
	key          TEXT PRIMARY KEY,
	request_hash BLOB NOT NULL,
	status       INTEGER NOT NULL,
	body         BLOB NOT NULL,
	created_us   INTEGER NOT NULL,
	expires_us   INTEGER NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency (expires_us);
