-- Members without Telegram (issue 11): a secretary registers them directly,
-- and they may claim the record later with a one-time personal link.
--
-- A person whose registered_at is set was registered by someone else
-- (registered_by) rather than through an invite.  While their telegram_id is
-- NULL and forgotten_at is NULL they have no Telegram ("offline"); a claim sets
-- telegram_id and claimed_at and keeps registered_by/registered_at as history.
-- people.phone_note already holds the optional contact note ("由女儿代为联系").
ALTER TABLE people ADD COLUMN registered_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE people ADD COLUMN registered_at INTEGER;
ALTER TABLE people ADD COLUMN claimed_at INTEGER;

-- One-time personal claim codes (t.me/<bot>?start=claim_<code>).  A new code
-- for a person revokes the older ones; a code is used at most once.
CREATE TABLE member_claims (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX member_claims_person ON member_claims(person_id);
