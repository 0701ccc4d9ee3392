-- A typed answer the bot awaits outside registration (e.g. /timezone asking
-- for a city).  Kept in the database so the question survives a restart;
-- one row per user: a new question replaces the old one.
CREATE TABLE pending_inputs (
    telegram_id INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,                 -- which feature awaits the text
    started_at  INTEGER NOT NULL,                 -- tells buttons of an earlier question apart
    data        TEXT                              -- the feature's own context, if any
)
