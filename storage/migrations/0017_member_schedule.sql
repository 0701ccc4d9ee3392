-- Planning cost follows what is due (issue 14): the pledge and whereabouts
-- planners read only the members whose next-due moment has come, through the
-- index on (kind, next_due_at), instead of every member on every tick.
--   kind         'pledges' | 'whereabouts' (the planner's name)
--   next_due_at  UTC seconds when the planner must look at the member again;
--                0 = now (a fact changed, or never looked at)
-- The triggers below set next_due_at = 0 whenever a fact a planner reads
-- changes, so a schedule can never hide a change: the planner recomputes the
-- member's next moment from the facts on its next tick.

CREATE TABLE member_schedule (
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    next_due_at  INTEGER NOT NULL,
    PRIMARY KEY (member_id, kind)
) WITHOUT ROWID;

CREATE INDEX member_schedule_due ON member_schedule(kind, next_due_at);

INSERT INTO member_schedule (member_id, kind, next_due_at)
    SELECT id, 'pledges', 0 FROM members
    UNION ALL SELECT id, 'whereabouts', 0 FROM members;

CREATE TRIGGER member_schedule_member_new AFTER INSERT ON members
BEGIN
    INSERT INTO member_schedule (member_id, kind, next_due_at)
        VALUES (NEW.id, 'pledges', 0), (NEW.id, 'whereabouts', 0)
        ON CONFLICT (member_id, kind) DO UPDATE SET next_due_at = 0;
END;

CREATE TRIGGER member_schedule_member_changed AFTER UPDATE ON members
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE member_id = NEW.id;
END;

-- Zone, language, Telegram id, reachability, last contact: all read by both.
CREATE TRIGGER member_schedule_person_changed AFTER UPDATE ON people
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id IN (SELECT id FROM members WHERE person_id = NEW.id);
END;

CREATE TRIGGER member_schedule_pledge_new AFTER INSERT ON pledges
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = NEW.member_id AND kind = 'pledges';
END;

CREATE TRIGGER member_schedule_pledge_changed AFTER UPDATE ON pledges
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id IN (OLD.member_id, NEW.member_id) AND kind = 'pledges';
END;

CREATE TRIGGER member_schedule_pledge_gone AFTER DELETE ON pledges
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = OLD.member_id AND kind = 'pledges';
END;

CREATE TRIGGER member_schedule_report_new AFTER INSERT ON pledge_reports
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE kind = 'pledges'
        AND member_id = (SELECT member_id FROM pledges WHERE id = NEW.pledge_id);
END;

CREATE TRIGGER member_schedule_report_changed AFTER UPDATE ON pledge_reports
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE kind = 'pledges'
        AND member_id = (SELECT member_id FROM pledges WHERE id = NEW.pledge_id);
END;

CREATE TRIGGER member_schedule_report_gone AFTER DELETE ON pledge_reports
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE kind = 'pledges'
        AND member_id = (SELECT member_id FROM pledges WHERE id = OLD.pledge_id);
END;

CREATE TRIGGER member_schedule_whereabouts_new AFTER INSERT ON whereabouts_log
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = NEW.member_id AND kind = 'whereabouts';
END;

CREATE TRIGGER member_schedule_whereabouts_changed AFTER UPDATE ON whereabouts_log
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = NEW.member_id AND kind = 'whereabouts';
END;

-- Leaders and branch zones change rarely and touch many members: everyone
-- is looked at again once.
CREATE TRIGGER member_schedule_role_new AFTER INSERT ON roles
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE next_due_at > 0;
END;

CREATE TRIGGER member_schedule_role_changed AFTER UPDATE ON roles
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE next_due_at > 0;
END;

CREATE TRIGGER member_schedule_role_gone AFTER DELETE ON roles
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE next_due_at > 0;
END;

CREATE TRIGGER member_schedule_unit_changed AFTER UPDATE OF timezone, name ON units
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE next_due_at > 0;
END;
