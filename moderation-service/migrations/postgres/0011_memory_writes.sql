-- Memory is written by every submission (a row per post, one per trace);
-- since recall moved into each instance's index, nothing looks traces up
-- by value, so the index for that goes. The traces' foreign key goes too:
-- it cost a lookup and a row lock on memory_posts per trace row, and the
-- two statements that delete posts (an author's erasure, the retention
-- sweep) delete their traces first, in the same transaction.
DROP INDEX IF EXISTS memory_traces_lookup;
ALTER TABLE memory_traces DROP CONSTRAINT IF EXISTS memory_traces_post_fkey;
