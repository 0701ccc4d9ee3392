-- Lives change (issue 11, item 4): a member comes home, leaves for work
-- elsewhere, turns elderly, or moves to another branch (流出 → 流入) without
-- /leave and re-joining.  One row per change, the record the digest's
-- "本周变动" lines and the ledger's 变动记录 sheet read.
--
-- kind: 'home' (mobile → regular, the branch secretary confirms),
--       'leaving' (regular/elderly → mobile, the secretary is told),
--       'elderly' (the secretary's choice),
--       'transfer' (branch → branch; BOTH secretaries confirm; the membership
--       row itself moves, so study answers, pledges and whereabouts follow).
-- A transfer changes only which branch uses 支部助手 with the member, never
-- 组织关系; the wording says so.
CREATE TABLE life_changes (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER REFERENCES people(id) ON DELETE CASCADE,
    member_id       INTEGER REFERENCES members(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('home', 'leaving', 'elderly', 'transfer')),
    from_branch     INTEGER REFERENCES units(id) ON DELETE SET NULL,
    to_branch       INTEGER REFERENCES units(id) ON DELETE SET NULL,
    from_category   TEXT,
    to_category     TEXT,
    place           TEXT,                        -- 'leaving': the city; erased by /forget
    requested_by    INTEGER REFERENCES people(id) ON DELETE SET NULL,
    requested_at    INTEGER NOT NULL,
    from_decided_by INTEGER REFERENCES people(id) ON DELETE SET NULL,
    from_decided_at INTEGER,
    to_decided_by   INTEGER REFERENCES people(id) ON DELETE SET NULL,
    to_decided_at   INTEGER,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'done', 'refused')),
    decided_at      INTEGER
);
CREATE INDEX life_changes_member ON life_changes(member_id, status);
CREATE INDEX life_changes_from ON life_changes(from_branch, decided_at);
CREATE INDEX life_changes_to ON life_changes(to_branch, decided_at);

-- The persistent reply keyboard of big buttons (item 5): NULL follows the
-- category (elderly members get it), 1 a member asked for it, 0 turned it off.
ALTER TABLE people ADD COLUMN big_buttons INTEGER;
