-- Several sends in flight (issue 14): a row is marked 'sending' in its own
-- commit before its request leaves, so a crash leaves at most the k rows in
-- flight in that state (each to a different chat), and the next start sends
-- each of them at most once more.  The status CHECK cannot be altered in
-- place, so the table is rebuilt keeping every status of 0007, plus:
--   priority    0 = time-sensitive (digests, warnings, replies), 1 = bulk; sent first by 0
--   quiet_zone  the member's IANA zone when the planner wants quiet hours
--               re-checked at send time (NULL: send whenever due)
--   elderly     1: the elderly daytime window applies too (with quiet_zone)
--   pruned_at   when retention dropped text, keyboard, photo and chat id
--               (key, kind, dates and outcome stay: the send log)
-- Nothing references outbox, so the rebuild keeps every key.

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
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired',
                                      'cancelled', 'unreachable', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    sent_at         INTEGER,
    message_id      INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    uncertain_at    INTEGER,
    priority        INTEGER NOT NULL DEFAULT 1,
    quiet_zone      TEXT,
    elderly         INTEGER NOT NULL DEFAULT 0,
    pruned_at       INTEGER
);

INSERT INTO outbox_new (id, dedupe_key, kind, person_id, chat_id, text, reply_markup, photo,
                        due_at, expires_at, status, attempts, next_attempt_at, sent_at,
                        message_id, last_error, created_at, uncertain_at, priority)
SELECT id, dedupe_key, kind, person_id, chat_id, text, reply_markup, photo,
       due_at, expires_at, status, attempts, next_attempt_at, sent_at,
       message_id, last_error, created_at, uncertain_at,
       CASE WHEN kind LIKE 'digest%' OR kind LIKE 'where.warn%' OR kind LIKE 'where.lost%'
            THEN 0 ELSE 1 END
FROM outbox;

DROP TABLE outbox;

ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_pending_due ON outbox(status, priority, due_at);

CREATE INDEX outbox_person_kind ON outbox(person_id, kind, status);

-- Retention reads only rows not yet pruned, oldest first.
CREATE INDEX outbox_unpruned ON outbox(due_at) WHERE pruned_at IS NULL;
