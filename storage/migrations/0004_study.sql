-- Study items, recurring study days, each member's reminder progress, and answers.
-- Instants are UTC unix seconds; dates a member sees (due_date, occurrence_date)
-- are local calendar dates 'YYYY-MM-DD', read in each member's own time zone.

-- One row per branch: a secretary publishing to every branch beneath a
-- general branch makes one item per branch, sharing batch_id (the first id),
-- so each branch's record and digest stay its own.
CREATE TABLE study_items (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER,
    branch_id       INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('item', 'weekly')),
    title           TEXT,                         -- NULL for weekly: the catalogue names it
    body            TEXT,
    due_date        TEXT    NOT NULL,             -- last local day to answer, inclusive
    occurrence_date TEXT,                         -- weekly: the study day's date
    day_set_at      INTEGER,                      -- weekly: the study_days.set_at that made it
    remind_at       TEXT    NOT NULL,             -- 'HH:MM', local to each member
    created_by      INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    withdrawn_at    INTEGER,
    withdrawn_by    INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX study_items_open ON study_items(withdrawn_at, due_date);
CREATE INDEX study_items_branch ON study_items(branch_id, due_date);
CREATE INDEX study_items_batch ON study_items(batch_id);
-- A study day makes one occurrence per branch and date, however often the planner
-- runs; one the secretary withdrew stays withdrawn, while a changed study day
-- (a new set_at) may replace it.
CREATE UNIQUE INDEX study_items_weekly ON study_items(branch_id, occurrence_date, day_set_at)
    WHERE kind = 'weekly';

CREATE TABLE study_days (
    branch_id   INTEGER PRIMARY KEY REFERENCES units(id) ON DELETE CASCADE,
    weekday     INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),   -- ISO, 1 = Monday
    remind_at   TEXT    NOT NULL,                 -- 'HH:MM'
    starts_on   TEXT    NOT NULL,                 -- first occurrence date
    set_by      INTEGER REFERENCES people(id) ON DELETE SET NULL,
    set_at      INTEGER NOT NULL
);

-- The planner's schedule: per item and member, the next message and when.
-- next_kind/next_seq name its outbox key (study.<kind>|m<member>|<item>|<seq>).
CREATE TABLE study_targets (
    item_id     INTEGER NOT NULL REFERENCES study_items(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    state       TEXT    NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'waiting', 'closed')),
    next_kind   TEXT    NOT NULL DEFAULT 'reminder'
                CHECK (next_kind IN ('reminder', 'followup', 'snooze')),
    next_seq    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER,
    followups   INTEGER NOT NULL DEFAULT 0,       -- follow-ups sent
    snoozes     INTEGER NOT NULL DEFAULT 0,       -- ⏰ presses
    PRIMARY KEY (item_id, member_id)
) WITHOUT ROWID;
CREATE INDEX study_targets_due ON study_targets(state, next_at);

CREATE TABLE study_answers (
    item_id     INTEGER NOT NULL REFERENCES study_items(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('done', 'excused')),
    reason      TEXT    CHECK (reason IN ('ill', 'working', 'away', 'other')),
    note        TEXT,
    entered_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,  -- NULL: the bot (away)
    on_behalf   INTEGER NOT NULL DEFAULT 0,       -- 1: a secretary or paired helper entered it
    late        INTEGER NOT NULL DEFAULT 0,       -- 1: after the member's due date ended
    answered_at INTEGER NOT NULL,
    PRIMARY KEY (item_id, member_id)
) WITHOUT ROWID;
CREATE INDEX study_answers_member ON study_answers(member_id);
