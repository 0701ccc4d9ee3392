-- The digest, chart and ledger read one branch at a time (storage/repositories/digest.py).
-- Its mobile-member queries filter a branch's active mobile members; without this
-- index SQLite may pick members_status_category and walk every mobile member of
-- the county to find one branch's few.
CREATE INDEX members_branch_category ON members(branch_id, category, status);
