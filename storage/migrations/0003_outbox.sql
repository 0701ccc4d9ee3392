-- The outbox: every scheduled or bulk message, planned before it is sent.
-- dedupe_key is (kind, member, item, occurrence) spelled out, so a reminder
-- is planned once per occurrence however often the planners run, and the
-- status row is the send log that survives restarts.

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL,
    text            TEXT    NOT NULL,
    reply_markup    TEXT,                         -- JSON of an InlineKeyboardMarkup
    photo           BLOB,                         -- optional PNG sent with the text as caption
    due_at          INTEGER NOT NULL,
    expires_at      INTEGER,                      -- not sent after this (e.g. item due)
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'expired', 'cancelled',
                                      'unreachable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    sent_at         INTEGER,
    message_id      INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending_due ON outbox(status, due_at);
CREATE INDEX outbox_person_kind ON outbox(person_id, kind, status)
