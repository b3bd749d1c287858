-- Claims read the outbox in due order and stop after a few rows. One index on (state,
-- next_attempt_at) made every claim sort all waiting deliveries; these two let each half of a
-- claim walk an index in order instead.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (next_attempt_at, delivery_id)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
    WHERE state = 'in_flight';
