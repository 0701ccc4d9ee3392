-- The delivery worker reads a bot's due rows in the order (priority, due_at,
-- id), one status at a time (storage/repositories/outbox.due_rows).  With id
-- in the index the order is the index's own, so a read stops after its LIMIT
-- whatever the statistics say: PostgreSQL's, stale after a large fan-out was
-- sent, otherwise chose to fetch and sort every one of the bot's rows the
-- index still pointed at (about 100 ms a poll per bot at 1M rows, nothing due).

DROP INDEX outbox_bot_due;
CREATE INDEX outbox_bot_due ON outbox(bot, status, priority, due_at, id);
