-- How many times an execution was claimed: one whose process died every time it ran (a crash,
-- an out-of-memory kill) is failed after a few claims instead of being taken up forever.
ALTER TABLE flow_executions ADD COLUMN claims BIGINT NOT NULL DEFAULT 0;
