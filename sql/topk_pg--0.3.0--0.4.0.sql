-- topk_pg 0.3.0 -> 0.4.0
--
-- The SQL objects that 0.4.0 adds or changes follow, by area; each is also in the install
-- script of 0.4.0 (sql/*.sql), and tests/sql/upgrade.sql checks the path from 0.1.0 and
-- from 0.3.0 (an updated install ends with the objects of a fresh one).

---------------------------------------------------------------------------------------
-- Sketch functions
---------------------------------------------------------------------------------------

---------------------------------------------------------------------------------------
-- The pipeline: the events table is the truth (capture of changed ranges, refresh)
---------------------------------------------------------------------------------------
