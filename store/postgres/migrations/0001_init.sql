-- tokenwall schema 1: the audit trail, its checkpoints, the webhook outbox and API
-- idempotency records. Times are timestamptz (microseconds); keys compare byte-wise
-- (COLLATE "C"), as in the SQLite store, whatever the database's locale.

-- The end of the chain, one row. Appenders lock it (SELECT ... FOR UPDATE), which serialises
-- appends from every replica, so the chain stays linear.
CREATE TABLE audit_head (
	id   integer PRIMARY KEY CHECK (id = 1),
	seq  bigint NOT NULL,
	hash bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

CREATE TABLE audit_records (
	seq        bigint PRIMARY KEY,
	time       timestamptz NOT NULL,
	actor      text NOT NULL,
	event      text NOT NULL,
	outcome    text NOT NULL,
	reason     text NOT NULL,
	source_ip  text NOT NULL,
	request_id text NOT NULL,
	resource   text NOT NULL,
	details    text NOT NULL,
	prev_hash  bytea,
	hash       bytea NOT NULL,
	mac        bytea
);

CREATE TABLE audit_checkpoints (
	seq       bigint PRIMARY KEY,
	hash      bytea NOT NULL,
	time      timestamptz NOT NULL,
	key_name  text NOT NULL,
	signature text NOT NULL
);

CREATE TABLE outbox (
	id           text COLLATE "C" PRIMARY KEY,
	type         text NOT NULL,
	payload      bytea,
	digest       bytea NOT NULL,
	status       text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
	attempts     integer NOT NULL DEFAULT 0,
	next_attempt timestamptz NOT NULL,
	created_at   timestamptz NOT NULL,
	delivered_at timestamptz,
	last_error   text NOT NULL DEFAULT '',
	lease_owner  text NOT NULL DEFAULT '',
	lease_until  timestamptz
);
-- Claims walk the pending items oldest first.
CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE status = 'pending';
-- Listings by status, newest first.
CREATE INDEX outbox_status ON outbox (status, created_at, id);

CREATE TABLE idempotency (
	key          text COLLATE "C" PRIMARY KEY,
	request_hash bytea NOT NULL,
	status       integer NOT NULL,
	body         bytea NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency (expires_at);
