-- Yearly pledges, monthly reports, ratings and mobile members' whereabouts.
-- Times are UTC unix seconds; `month` is yyyymm (202603) in the member's zone.

-- One pledge (承诺) of one member for one calendar year.  A member drafts,
-- submits, and the secretary approves or returns each pledge with a comment;
-- the year-end ratings (评诺) live on the same row: one pledge, one result.
CREATE TABLE pledges (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    year            INTEGER NOT NULL,
    text            TEXT    NOT NULL,
    target          REAL,                         -- optional number to reach
    unit            TEXT,                         -- of the target: 户, 次, households
    status          TEXT    NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'submitted', 'returned', 'approved')),
    return_comment  TEXT,                         -- the secretary's reason, while returned
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    submitted_at    INTEGER,
    decided_at      INTEGER,                      -- approved or returned
    decided_by      INTEGER REFERENCES people(id) ON DELETE SET NULL,
    self_rating     TEXT    CHECK (self_rating IN ('good', 'fair', 'average', 'poor')),
    self_rated_at   INTEGER,
    secretary_rating TEXT   CHECK (secretary_rating IN ('good', 'fair', 'average', 'poor')),
    secretary_comment TEXT,
    secretary_rated_at INTEGER,
    rated_by        INTEGER REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX pledges_member_year ON pledges(member_id, year, status);
-- The planner reads one or two years' approved pledges every tick.
CREATE INDEX pledges_year_status ON pledges(year, status, member_id);

-- A monthly progress report (践诺) on one pledge; answering again replaces it.
CREATE TABLE pledge_reports (
    pledge_id   INTEGER NOT NULL REFERENCES pledges(id) ON DELETE CASCADE,
    month       INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('done', 'ongoing', 'not_started')),
    amount      REAL,
    note        TEXT,
    reported_at INTEGER NOT NULL,
    PRIMARY KEY (pledge_id, month)
) WITHOUT ROWID;
CREATE INDEX pledge_reports_month ON pledge_reports(month, pledge_id);

-- Every answer a mobile member gives to "are you still in …?": the register
-- of where they were, and (its latest row) the start of the next ask cycle.
CREATE TABLE whereabouts_log (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('confirmed', 'moved', 'home')),
    place       TEXT,                             -- NULL once the person is forgotten
    timezone    TEXT
);
CREATE INDEX whereabouts_member_at ON whereabouts_log(member_id, at);

-- Planners pick active members of one category (mobile) every tick.
CREATE INDEX members_status_category ON members(status, category);
