-- tokenwall schema 4: the payment pages' approved baselines and last seen states (PCI DSS
-- 6.4.3, 11.6.1), and named leases that let one replica run a scheduled job per period.
-- Keys compare byte-wise (COLLATE "C"), as in the SQLite store; checked_at NULL means never
-- checked. A document is at most store.MaxPageDoc (256 KiB).

CREATE TABLE page_baselines (
	page        text COLLATE "C" PRIMARY KEY,
	fingerprint text NOT NULL,
	doc         bytea NOT NULL CHECK (octet_length(doc) <= 262144),
	approved_by text NOT NULL,
	reason      text NOT NULL,
	at          timestamptz NOT NULL
);

-- ObservePage locks a page's row (SELECT ... FOR UPDATE), so replicas seeing the same new
-- fingerprint take turns and only the first records it.
CREATE TABLE page_states (
	page        text COLLATE "C" PRIMARY KEY,
	fingerprint text NOT NULL,
	doc         bytea NOT NULL CHECK (octet_length(doc) <= 262144),
	changed     boolean NOT NULL,
	since       timestamptz NOT NULL,
	checked_at  timestamptz
);

-- A claim is one upsert whose update applies only to an expired lease or the same holder.
CREATE TABLE leases (
	name   text COLLATE "C" PRIMARY KEY,
	holder text NOT NULL,
	until  timestamptz NOT NULL
);
