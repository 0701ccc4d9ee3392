-- The contact ladder planner reads only members whose next rung is due
-- (issue 14), through member_schedule as the pledge and whereabouts planners
-- do, instead of every mobile member on every tick.
--   kind 'contact_ladder': next_due_at is when the member's silence reaches
--   the next rung; 0 = look now; a NEVER-like moment once every rung of the
--   current silence is queued.
-- Besides the facts migration 0017's triggers already watch for every kind
-- (the member row, the person row, leaders, branch zones), the ladder reads
-- the member's recorded attempts and their helpers (and whether a helper is
-- on Telegram), so those make the member due again too.

INSERT INTO member_schedule (member_id, kind, next_due_at)
    SELECT id, 'contact_ladder', 0 FROM members;

CREATE TRIGGER member_schedule_member_new_ladder AFTER INSERT ON members
BEGIN
    INSERT INTO member_schedule (member_id, kind, next_due_at)
        VALUES (NEW.id, 'contact_ladder', 0)
        ON CONFLICT (member_id, kind) DO UPDATE SET next_due_at = 0;
END;

CREATE TRIGGER member_schedule_attempt_new AFTER INSERT ON contact_attempts
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = NEW.member_id AND kind = 'contact_ladder';
END;

CREATE TRIGGER member_schedule_attempt_changed AFTER UPDATE ON contact_attempts
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id IN (OLD.member_id, NEW.member_id) AND kind = 'contact_ladder';
END;

CREATE TRIGGER member_schedule_attempt_gone AFTER DELETE ON contact_attempts
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = OLD.member_id AND kind = 'contact_ladder';
END;

CREATE TRIGGER member_schedule_helper_new AFTER INSERT ON member_helpers
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = NEW.member_id AND kind = 'contact_ladder';
END;

CREATE TRIGGER member_schedule_helper_changed AFTER UPDATE ON member_helpers
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id IN (OLD.member_id, NEW.member_id) AND kind = 'contact_ladder';
END;

CREATE TRIGGER member_schedule_helper_gone AFTER DELETE ON member_helpers
BEGIN
    UPDATE member_schedule SET next_due_at = 0
        WHERE member_id = OLD.member_id AND kind = 'contact_ladder';
END;

-- A helper who gets (or loses) a Telegram chat can now (or no longer) be asked.
CREATE TRIGGER member_schedule_helper_person_changed AFTER UPDATE OF telegram_id ON people
BEGIN
    UPDATE member_schedule SET next_due_at = 0 WHERE kind = 'contact_ladder'
        AND member_id IN (SELECT member_id FROM member_helpers
                          WHERE helper_person_id = NEW.id AND removed_at IS NULL);
END;
