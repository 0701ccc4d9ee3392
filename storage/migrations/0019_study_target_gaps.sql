-- The study planner no longer inserts every open item × member on every tick
-- (issue 14): a branch is marked here whenever it may lack schedule rows (an
-- item published, re-dated or un-withdrawn there; a member joining,
-- returning or moving there), and the planner inserts the missing rows for
-- the marked branches only, then clears the marks it read.  Triggers, not
-- handlers, set the marks, so no path that adds an item or a member can
-- forget to.  Time alone never adds rows: as days pass fewer items are open.

CREATE TABLE study_target_gaps (
    id         INTEGER PRIMARY KEY,               -- the planner clears marks up to the last it read
    branch_id  INTEGER NOT NULL
);

-- Every branch once, so nothing marked before this migration is lost.
INSERT INTO study_target_gaps (branch_id) SELECT id FROM units WHERE level = 'branch';

CREATE TRIGGER study_target_gaps_item_new AFTER INSERT ON study_items
BEGIN
    INSERT INTO study_target_gaps (branch_id) VALUES (NEW.branch_id);
END;

CREATE TRIGGER study_target_gaps_item_changed
    AFTER UPDATE OF branch_id, due_date, withdrawn_at ON study_items
BEGIN
    INSERT INTO study_target_gaps (branch_id) VALUES (NEW.branch_id);
END;

CREATE TRIGGER study_target_gaps_member_new AFTER INSERT ON members
    WHEN NEW.status = 'active'
BEGIN
    INSERT INTO study_target_gaps (branch_id) VALUES (NEW.branch_id);
END;

CREATE TRIGGER study_target_gaps_member_changed AFTER UPDATE OF status, branch_id ON members
    WHEN NEW.status = 'active'
BEGIN
    INSERT INTO study_target_gaps (branch_id) VALUES (NEW.branch_id);
END;
