-- Helpers who act for a member everywhere (issue 11, item 2).
--
-- A member may have several helpers: a member of any branch under the same
-- committee, a secretary, or a 联系人 (relative or neighbour) who registered
-- through a one-time helper link and is a people row with no membership.
-- Removing a helper stamps removed_at; the row stays as history until /forget.
CREATE TABLE member_helpers (
    id               INTEGER PRIMARY KEY,
    member_id        INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    helper_person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL CHECK (kind IN ('helper', 'contact')),
    added_by         INTEGER REFERENCES people(id) ON DELETE SET NULL,
    added_at         INTEGER NOT NULL,
    consent_at       INTEGER,                      -- a 联系人's own consent (members consent on joining)
    removed_at       INTEGER
);
CREATE UNIQUE INDEX member_helpers_current
    ON member_helpers(member_id, helper_person_id) WHERE removed_at IS NULL;
CREATE INDEX member_helpers_helper ON member_helpers(helper_person_id, removed_at);

-- The one pairing the first schema knew becomes the first helper; the column
-- is cleared so that there is one source of truth.
INSERT INTO member_helpers (member_id, helper_person_id, kind, added_by, added_at)
    SELECT id, paired_with, 'helper', NULL, COALESCE(decided_at, requested_at)
    FROM members WHERE paired_with IS NOT NULL;
UPDATE members SET paired_with = NULL WHERE paired_with IS NOT NULL;

-- One-time helper links (t.me/<bot>?start=helper_<code>) a secretary makes
-- for one member; a 联系人 registers through it without becoming a member.
CREATE TABLE helper_links (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX helper_links_member ON helper_links(member_id);

-- Which member a helper's presses currently act for (chosen in /helpfor);
-- kept in a table so that a restart does not switch whom a button records for.
CREATE TABLE acting_for (
    helper_person_id INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    member_id        INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    started_at       INTEGER NOT NULL
);

-- Who entered a record on the member's behalf (NULL: the member themselves).
ALTER TABLE pledges ADD COLUMN entered_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE pledges ADD COLUMN self_rated_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE pledge_reports ADD COLUMN entered_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE whereabouts_log ADD COLUMN entered_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
