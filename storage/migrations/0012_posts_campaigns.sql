-- Posts with duties (设岗定责) and the service-star campaign (创先争优), issue 13.
--
-- A post belongs to a branch for a year; its duties are a few typed lines and
-- its assessment targets a label with an optional number and unit
-- ("技术指导 ≥ 12 户次/年" → 技术指导, 12, 户次).  Holders are members asked
-- to consent; each month a holder reports (履岗) once, with a count per
-- numeric target; at year end the secretary assesses each holder on the
-- pledges' 兑现 scale.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY,
    branch_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    year        INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    duties      TEXT    NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX posts_branch_year ON posts(branch_id, year);

CREATE TABLE post_targets (
    id       INTEGER PRIMARY KEY,
    post_id  INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    label    TEXT    NOT NULL,
    target   REAL,                                -- NULL: a duty without a number
    unit     TEXT
);
CREATE INDEX post_targets_post ON post_targets(post_id);

CREATE TABLE post_holders (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('asked', 'accepted', 'declined')),
    asked_at    INTEGER NOT NULL,
    decided_at  INTEGER,
    rating      TEXT CHECK (rating IN ('good', 'fair', 'average', 'poor')),
    rated_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    rated_at    INTEGER,
    UNIQUE (post_id, member_id)
);
CREATE INDEX post_holders_member ON post_holders(member_id);

CREATE TABLE post_reports (
    holder_id   INTEGER NOT NULL REFERENCES post_holders(id) ON DELETE CASCADE,
    month       INTEGER NOT NULL,                 -- yyyymm
    status      TEXT    NOT NULL CHECK (status IN ('done', 'missed')),
    note        TEXT,                             -- what was done, or why not; NULL once forgotten
    reported_at INTEGER NOT NULL,
    entered_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,  -- a helper's 代为登记
    PRIMARY KEY (holder_id, month)
);

CREATE TABLE post_counts (
    holder_id  INTEGER NOT NULL REFERENCES post_holders(id) ON DELETE CASCADE,
    target_id  INTEGER NOT NULL REFERENCES post_targets(id) ON DELETE CASCADE,
    month      INTEGER NOT NULL,
    amount     REAL    NOT NULL,
    PRIMARY KEY (holder_id, target_id, month)
);

-- A campaign is opened by a secretary for their unit (a branch, or every
-- branch beneath a general branch or committee).
CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    unit_id      INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    stars        INTEGER NOT NULL CHECK (stars > 0),
    opens_at     INTEGER NOT NULL,
    closes_at    INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('open', 'closed')),
    created_by   INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    confirmed_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    confirmed_at INTEGER
);
CREATE INDEX campaigns_unit ON campaigns(unit_id, status);

CREATE TABLE campaign_nominations (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,   -- the nominee
    nominated_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    reason        TEXT,                           -- one line; NULL once forgotten
    created_at    INTEGER NOT NULL,
    UNIQUE (campaign_id, member_id, nominated_by)
);

-- The ballot is secret.  Who voted and what was voted for live in two tables
-- with nothing in common but the campaign: campaign_voters says only that a
-- person has voted (so a second vote is refused), campaign_tally only how
-- many votes a nominee has.  Neither has a timestamp, and both are WITHOUT
-- ROWID so not even insertion order survives to pair a voter with a vote.
CREATE TABLE campaign_voters (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, person_id)
) WITHOUT ROWID;

CREATE TABLE campaign_tally (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    votes       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, member_id)
) WITHOUT ROWID;

-- The result the secretary confirmed at the close.
CREATE TABLE campaign_stars (
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    votes       INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, member_id)
);
