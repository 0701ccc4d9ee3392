-- Branch life (issue 12): meetings and trainings (三会一课, 主题党日, 培训), who was
-- invited, their replies, attendance, the record (纪要) and training hours (学时).
-- Instants are UTC unix seconds.

-- One row per branch: a meeting called for several branches at once makes one
-- meeting per branch sharing batch_id (the first id), so each branch's record
-- stays its own.  `version` counts the announced changes of time or place:
-- every invitee is told each version once (the outbox key names it).
CREATE TABLE meetings (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER,
    branch_id       INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN
                        ('assembly', 'committee', 'group', 'lecture', 'theme_day', 'training')),
    subject         TEXT,                         -- a training's subject, e.g. 柑桔种植技术
    topic           TEXT    NOT NULL,
    starts_at       INTEGER NOT NULL,
    timezone        TEXT    NOT NULL,             -- the zone the caller gave the time in
    place           TEXT,
    online_link     TEXT,
    hours           REAL    NOT NULL DEFAULT 0,   -- 学时 it counts (党课, 培训)
    version         INTEGER NOT NULL DEFAULT 1,
    announced_version INTEGER NOT NULL DEFAULT 0, -- the planner has fanned out this version
    cancel_announced INTEGER NOT NULL DEFAULT 0,
    confirm_asked   INTEGER NOT NULL DEFAULT 0,   -- "请确认到会情况" planned
    called_by       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    called_at       INTEGER NOT NULL,
    changed_at      INTEGER,
    cancelled_at    INTEGER,
    cancelled_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    confirmed_at    INTEGER,
    confirmed_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    record          TEXT,                         -- 纪要: what was decided or studied
    record_by       INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX meetings_branch ON meetings(branch_id, starts_at);
CREATE INDEX meetings_open ON meetings(cancelled_at, confirmed_at, starts_at);

-- Each member invited (or a mobile member from another branch who came: guest).
CREATE TABLE meeting_invitees (
    meeting_id      INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    guest           INTEGER NOT NULL DEFAULT 0,
    reply           TEXT    CHECK (reply IN ('attend', 'leave', 'online')),
    reason          TEXT    CHECK (reason IN ('ill', 'working', 'family', 'other')),
    note            TEXT,                         -- the typed reason of 其他; erased by /forget
    replied_at      INTEGER,
    replied_by      INTEGER REFERENCES people(id) ON DELETE SET NULL,  -- a helper: 代为登记
    attendance      TEXT    CHECK (attendance IN ('present', 'excused', 'absent')),
    marked_by       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    hours           REAL    NOT NULL DEFAULT 0,   -- 学时 credited on confirmation
    next_reminder_at INTEGER,                     -- the planner's next reminder, NULL: none
    reminder_seq    INTEGER NOT NULL DEFAULT 0,   -- 1 day before, 2 two hours before
    reminder_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (meeting_id, member_id)
) WITHOUT ROWID;
CREATE INDEX meeting_invitees_member ON meeting_invitees(member_id);
CREATE INDEX meeting_invitees_due ON meeting_invitees(next_reminder_at)
    WHERE next_reminder_at IS NOT NULL;
