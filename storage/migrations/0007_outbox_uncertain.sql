-- A send whose outcome is unknown (the request went out, no answer came) is
-- 'uncertain', not 'pending': it must never be repeated blindly.  The status
-- CHECK of 0003 cannot be altered in place, so the table is rebuilt with the
-- same columns plus uncertain_at (when the first unknown outcome happened).
-- For an uncertain row, next_attempt_at is the one permitted re-send (NULL:
-- never re-sent).  Nothing references outbox, so the rebuild keeps every key.

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL,
    text            TEXT    NOT NULL,
    reply_markup    TEXT,
    photo           BLOB,
    due_at          INTEGER NOT NULL,
    expires_at      INTEGER,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'expired', 'cancelled',
                                      'unreachable', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    sent_at         INTEGER,
    message_id      INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    uncertain_at    INTEGER
);

INSERT INTO outbox_new (id, dedupe_key, kind, person_id, chat_id, text, reply_markup, photo,
                        due_at, expires_at, status, attempts, next_attempt_at, sent_at,
                        message_id, last_error, created_at)
SELECT id, dedupe_key, kind, person_id, chat_id, text, reply_markup, photo,
       due_at, expires_at, status, attempts, next_attempt_at, sent_at,
       message_id, last_error, created_at
FROM outbox;

DROP TABLE outbox;

ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_pending_due ON outbox(status, due_at);

CREATE INDEX outbox_person_kind ON outbox(person_id, kind, status);
