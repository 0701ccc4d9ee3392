-- Several bots and several processes on one database (issue 15).
--   people.bot        the [[bots]] name this person talks to ('' = the one
--                     default bot): a member hears only from their own bot
--   outbox.bot        the bot that sends the row, copied from the recipient
--   outbox.claimed_by the delivery worker (its lease holder) that marked the
--                     row 'sending': only rows of a worker whose lease has run
--                     out are recovered, never those a live worker is sending
--   leases            one row per singleton job ('planner') or live delivery
--                     worker ('delivery:<holder>'); a lease not renewed by
--                     expires_at (unix seconds) is free for another process,
--                     and live delivery leases of one bot share its rate

ALTER TABLE people ADD COLUMN bot TEXT NOT NULL DEFAULT '';

ALTER TABLE outbox ADD COLUMN bot TEXT NOT NULL DEFAULT '';

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    bot        TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL
);

CREATE INDEX outbox_bot_due ON outbox(bot, status, priority, due_at);

CREATE INDEX people_bot ON people(bot);
