-- PostgreSQL version of 0001_initial.sql: the same schema, with invites
-- created before members, whose invite_id refers to it (SQLite accepts a
-- reference to a table created later, PostgreSQL does not).
-- Foundation: organisation tree, people, memberships, roles, invites,
-- registration drafts and the audit trail.  Times are UTC unix seconds.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL UNIQUE,          -- stable id from the org file
    parent_id   INTEGER REFERENCES units(id) ON DELETE RESTRICT,
    level       TEXT    NOT NULL CHECK (level IN ('committee', 'general_branch', 'branch')),
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    timezone    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX units_parent ON units(parent_id);

CREATE TABLE people (
    id             INTEGER PRIMARY KEY,
    telegram_id    INTEGER UNIQUE,                -- NULL once forgotten
    name           TEXT,                          -- NULL once forgotten
    language       TEXT,
    timezone       TEXT,
    phone_note     TEXT,
    is_reachable   INTEGER NOT NULL DEFAULT 1,
    unreachable_reason TEXT,
    unreachable_at INTEGER,
    last_contact_at INTEGER,
    forgotten_at   INTEGER,
    created_at     INTEGER NOT NULL
);

-- A secretary or committee member of a unit, appointed by an admin.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER REFERENCES people(id) ON DELETE CASCADE,
    unit_id     INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('secretary', 'committee')),
    name_hint   TEXT,                             -- name from the org file until claimed
    claim_code  TEXT UNIQUE,                      -- secretary invite, used once
    appointed_by INTEGER,
    appointed_at INTEGER NOT NULL
);
CREATE INDEX roles_person ON roles(person_id);
CREATE INDEX roles_unit ON roles(unit_id, role);

CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    branch_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
    created_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    max_uses    INTEGER NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  INTEGER
);
CREATE INDEX invites_branch ON invites(branch_id);

CREATE TABLE members (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    branch_id   INTEGER NOT NULL REFERENCES units(id) ON DELETE RESTRICT,
    category    TEXT    NOT NULL CHECK (category IN ('regular', 'mobile', 'elderly')),
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'left', 'removed')),
    place       TEXT,
    invite_id   INTEGER REFERENCES invites(id) ON DELETE SET NULL,
    requested_at INTEGER NOT NULL,
    decided_by  INTEGER REFERENCES people(id) ON DELETE SET NULL,
    decided_at  INTEGER,
    away_until  TEXT,                             -- local date, inclusive
    paired_with INTEGER REFERENCES people(id) ON DELETE SET NULL,
    consent_at  INTEGER
);
CREATE INDEX members_branch_status ON members(branch_id, status);
CREATE INDEX members_person ON members(person_id, status);


-- A registration in progress; kept in the database so it survives a restart.
CREATE TABLE registration_drafts (
    telegram_id INTEGER PRIMARY KEY,
    invite_code TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,                 -- tells buttons of an earlier attempt apart
    step        TEXT    NOT NULL,
    name        TEXT,
    category    TEXT,
    place       TEXT,
    timezone    TEXT,
    language    TEXT,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,                 -- 'tg:<id>', 'cli', 'system'
    action      TEXT    NOT NULL,
    subject     TEXT,
    detail      TEXT
);
CREATE INDEX audit_at ON audit(at);
