-- A schedule-driven planner's rules, per kind (issue 14: planning costs what
-- is due).  member_schedule's next moments follow from the facts (0017's and
-- 0018's triggers reset them) and from the planner's rules: its settings and
-- code.  Until now every process start made every member due again in case
-- the rules had changed, so a restart, a planner-lease takeover or a second
-- process re-read the whole county.  The planner now stores a fingerprint of
-- its rules here and resets its kind only when the fingerprint differs.
--   kind         'pledges' | 'whereabouts' | 'contact_ladder'
--   fingerprint  hash of the planner's settings sections and source code
-- Empty at first: each planner's first run resets its kind once, as before.

CREATE TABLE schedule_rules (
    kind         TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL
);
