-- tokenwall schema 5: the payments and setups the gateway left waiting for the customer
-- (requires_action, 3-D Secure), so that a sweeper cancels those the customer never came
-- back to. since is when tokenwall first saw one waiting; ids compare byte-wise (COLLATE
-- "C"), as in the SQLite store; the index serves the sweeper's oldest-first scan.

CREATE TABLE pending_intents (
	id    text COLLATE "C" PRIMARY KEY,
	kind  text NOT NULL CHECK (kind IN ('payment', 'setup')),
	since timestamptz NOT NULL
);

CREATE INDEX pending_intents_since ON pending_intents (since, id);
