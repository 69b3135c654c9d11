-- 1,000,000 stored items for the queue-listing load test: two forums,
-- three categories, 40% pending, the rest allowed / approved / removed,
-- priorities spread over 1,300 values. Runs on SQLite and PostgreSQL
-- (recursive CTE), after the service's migrations.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO items (forum, post_id, author_id, post, verdict, decision, category, score, status, queue_rank, version,
                   created_at, updated_at)
SELECT CASE WHEN i % 4 = 0 THEN 'jp-main' ELSE 'main' END,
       'seed-' || i,
       'u' || (i % 50000),
       '{"id":"seed-' || i || '","body":"Seeded post ' || i || ': my withdrawal is stuck, DM me on Telegram and I will help you","author":{"id":"u' || (i % 50000) || '"}}',
       '{}',
       CASE WHEN i % 10 < 3 THEN 'hold' ELSE 'review' END,
       CASE i % 3 WHEN 0 THEN 'scam' WHEN 1 THEN 'spam' ELSE 'misinformation' END,
       (i % 1000) / 1000.0,
       CASE WHEN i % 10 < 4 THEN 'pending' WHEN i % 10 < 7 THEN 'allowed' WHEN i % 10 < 9 THEN 'approved' ELSE 'removed' END,
       -((CAST(i AS BIGINT) * 7919) % 1300),
       1,
       1764000000000 + i,
       1764000000000 + i
FROM n;
