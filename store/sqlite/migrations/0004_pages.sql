-- tokenwall schema 4: the payment pages' approved baselines and last seen states (PCI DSS
-- 6.4.3, 11.6.1), and named leases that let one replica run a scheduled job per period.
-- Times are unix microseconds (UTC); checked_us 0 means never checked. A document is at most
-- store.MaxPageDoc (256 KiB).

CREATE TABLE page_baselines (
	page        TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	doc         BLOB NOT NULL CHECK (length(doc) <= 262144),
	approved_by TEXT NOT NULL,
	reason      TEXT NOT NULL,
	at_us       INTEGER NOT NULL
);

CREATE TABLE page_states (
	page        TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	doc         BLOB NOT NULL CHECK (length(doc) <= 262144),
	changed     INTEGER NOT NULL CHECK (changed IN (0, 1)),
	since_us    INTEGER NOT NULL,
	checked_us  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE leases (
	name     TEXT PRIMARY KEY,
	holder   TEXT NOT NULL,
	until_us INTEGER NOT NULL
);
