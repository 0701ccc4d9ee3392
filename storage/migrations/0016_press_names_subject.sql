-- Whom a helper's press acts for comes from the press itself (a trailing
-- member id on the buttons /helpfor shows), no longer from a 30-minute
-- "acting for" state that also caught the helper's presses on their own
-- reminders.  A typed answer acts for the subject stored on the pending
-- input the helper's press opened.
ALTER TABLE pending_inputs ADD COLUMN subject_member_id INTEGER REFERENCES members(id) ON DELETE CASCADE;
DROP TABLE acting_for;
