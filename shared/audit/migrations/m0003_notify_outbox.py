"""v3: the notification outbox, its per-channel deliveries and every attempt; operator control requests and
the confirmations that guard the dangerous ones."""
VERSION = 3
SQL = """
CREATE TABLE notify_outbox (
    id INTEGER PRIMARY KEY, created_ts TEXT NOT NULL, agent TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, data TEXT,
    dedup_key TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 1, last_seen_ts TEXT NOT NULL,
    routed_ts TEXT
);
CREATE INDEX notify_outbox_dedup ON notify_outbox(dedup_key, created_ts);
CREATE INDEX notify_outbox_unrouted ON notify_outbox(id) WHERE routed_ts IS NULL;
CREATE TABLE notify_deliveries (
    id INTEGER PRIMARY KEY, outbox_id INTEGER NOT NULL REFERENCES notify_outbox(id), channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ts TEXT NOT NULL, last_error TEXT,
    remote_id TEXT, created_ts TEXT NOT NULL, updated_ts TEXT NOT NULL, sent_ts TEXT,
    UNIQUE (outbox_id, channel)
);
CREATE INDEX notify_deliveries_queue ON notify_deliveries(channel, outbox_id) WHERE status IN ('pending', 'sending');
CREATE TABLE notify_attempts (
    id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL REFERENCES notify_deliveries(id),
    outbox_id INTEGER NOT NULL, channel TEXT NOT NULL, attempt INTEGER NOT NULL,
    started_ts TEXT NOT NULL, finished_ts TEXT,
    status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'retry', 'rate_limited', 'failed', 'interrupted')),
    error TEXT, retry_after REAL, remote_id TEXT
);
CREATE INDEX notify_attempts_delivery ON notify_attempts(delivery_id, id);
CREATE TABLE control_requests (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL,
    command TEXT NOT NULL CHECK (command IN ('pause', 'resume', 'stopentry', 'flatten', 'killswitch')),
    agent TEXT NOT NULL, requested_by TEXT NOT NULL, source TEXT NOT NULL DEFAULT 'telegram',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'rejected')),
    handled_ts TEXT, result TEXT
);
CREATE INDEX control_requests_pending ON control_requests(agent, id) WHERE status = 'pending';
CREATE TABLE command_confirmations (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, ts TEXT NOT NULL, expires_ts TEXT NOT NULL,
    command TEXT NOT NULL, agent TEXT NOT NULL, requested_by TEXT NOT NULL, chat_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'expired')),
    confirmed_ts TEXT
);
CREATE INDEX command_confirmations_code ON command_confirmations(code, status)
"""
