-- A flow's time budget sums the processing of its executions that finished in the last hour:
-- found by when they finished, not by reading every execution the flow ever had.
CREATE INDEX flow_executions_finished ON flow_executions (flow_id, finished_at);
