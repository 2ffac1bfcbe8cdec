-- tokenwall schema 5: the payments and setups the gateway left waiting for the customer
-- (requires_action, 3-D Secure), so that a sweeper cancels those the customer never came
-- back to. since_us is when tokenwall first saw one waiting (unix microseconds, UTC); the
-- index serves the sweeper's oldest-first scan.

CREATE TABLE pending_intents (
	id       TEXT PRIMARY KEY,
	kind     TEXT NOT NULL CHECK (kind IN ('payment', 'setup')),
	since_us INTEGER NOT NULL
);

CREATE INDEX pending_intents_since ON pending_intents (since_us, id);
