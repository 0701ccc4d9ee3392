-- Pairing members with households (结对帮扶, issue 13 item 3).
--
-- A household belongs to the branch that helps it: its name (户主 and village
-- group, e.g. 王某户（三组）, never an ID number) and its needs are the
-- branch's record, not a member's personal data, so a member's /forget keeps
-- them.  Closing a household stamps closed_at; the rows stay for the ledger.
CREATE TABLE households (
    id          INTEGER PRIMARY KEY,
    branch_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    needs       TEXT    NOT NULL DEFAULT '',       -- comma-separated: tech, sales, jobs, care
    created_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX households_branch ON households(branch_id, closed_at);

-- Members paired with a household.  gap_start is when the member's current
-- stretch without a visit began (the assignment, then each visit they log);
-- reminded_gap is the stretch they were last reminded of.  The partial index
-- holds only pairings not yet reminded for their current stretch, so the
-- reminder planner reads what may be due, never every pairing.
CREATE TABLE household_members (
    id            INTEGER PRIMARY KEY,
    household_id  INTEGER NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    assigned_by   INTEGER REFERENCES people(id) ON DELETE SET NULL,
    assigned_at   INTEGER NOT NULL,
    gap_start     INTEGER NOT NULL,
    reminded_gap  INTEGER,
    removed_at    INTEGER
);
CREATE UNIQUE INDEX household_members_current
    ON household_members(household_id, member_id) WHERE removed_at IS NULL;
CREATE INDEX household_members_member ON household_members(member_id, removed_at);
CREATE INDEX household_members_due
    ON household_members(gap_start) WHERE removed_at IS NULL AND reminded_gap IS NOT gap_start;

-- Every visit or help logged: by the member, or entered for them by a helper
-- or the secretary (entered_by; NULL: the member themselves).  The optional
-- line (note) is the member's words and is erased by /forget.
CREATE TABLE household_visits (
    id            INTEGER PRIMARY KEY,
    household_id  INTEGER NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('visit', 'tech', 'sales', 'jobs', 'other')),
    note          TEXT,
    entered_by    INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX household_visits_household_at ON household_visits(household_id, at);
CREATE INDEX household_visits_member ON household_visits(member_id);
