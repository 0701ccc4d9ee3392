-- Contact that counts offline (issue 11, item 3).
--
-- Every attempt to reach a member, by the secretary or a helper, whatever its
-- outcome: a phone call, a visit, a meeting, or a helper's answer to "您最近
-- 联系上 X 了吗？".  A reached attempt also stamps people.last_contact_at, so the
-- whereabouts silence clock restarts exactly as after a reply to the bot.
-- This is the record an official search procedure needs, so rows are kept;
-- /forget erases their place and note (storage.repositories.erasure).
CREATE TABLE contact_attempts (
    id           INTEGER PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    by_person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    method       TEXT    NOT NULL CHECK (method IN ('phone', 'visit', 'meeting', 'bot', 'helper')),
    outcome      TEXT    NOT NULL CHECK (outcome IN ('reached', 'not_reached')),
    place        TEXT,                             -- where the member was found; NULL once forgotten
    note         TEXT
);
CREATE INDEX contact_attempts_member_at ON contact_attempts(member_id, at);
CREATE INDEX contact_attempts_at ON contact_attempts(at);
