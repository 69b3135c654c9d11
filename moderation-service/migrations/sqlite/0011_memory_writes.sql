-- Memory is written by every submission; since recall moved into each
-- instance's index, nothing looks traces up by value, so the index for
-- that goes. (The PostgreSQL schema also drops the traces' foreign key;
-- SQLite would have to rebuild the table for that, for little gain with
-- its one writer.)
DROP INDEX IF EXISTS memory_traces_lookup;
