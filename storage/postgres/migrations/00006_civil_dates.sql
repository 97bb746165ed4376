-- Business dates are calendar dates (storage.Case.TransactionDate is a
-- civil.Date): case bodies written before kept the date as an RFC 3339
-- instant at 00:00 UTC ("2026-03-31T00:00:00Z"); keep its date part
-- ("2026-03-31"). The transaction_date columns (Unix seconds of 00:00 UTC)
-- already mean the same and do not change.

-- +goose Up
UPDATE case_bodies
   SET body = jsonb_set(body, '{TransactionDate}', to_jsonb(left(body->>'TransactionDate', 10)))
 WHERE length(body->>'TransactionDate') > 10;

-- +goose Down
UPDATE case_bodies
   SET body = jsonb_set(body, '{TransactionDate}', to_jsonb((body->>'TransactionDate') || 'T00:00:00Z'))
 WHERE length(body->>'TransactionDate') = 10;
