-- The changes streamed after the snapshot, in one session; the last
-- statement marks the end. See README.md.
INSERT INTO golden.types VALUES (
  3, false, 1, 2, 3, 'NaN', 'Infinity', -0.001, 0, '', '', 'xyz',
  ''::bytea, '1970-01-01', '00:00:00', '23:59:59.999', '00:00:00Z',
  '1970-01-01 00:00:00', '1999-12-31 23:59:59.999', '1970-01-01 00:00:00+00',
  '-1 days', '00000000-0000-0000-0000-000000000000',
  '[]', '{}', '<r/>', B'0', B'000', B'', '::1', '::1/128', 'ff:ff:ff:ff:ff:ff',
  '-1.00', 'empty', '{}', '{}'
);
UPDATE golden.types SET c_text = 'changed', c_numeric_any = 1e-20 WHERE id = 1;
BEGIN;
INSERT INTO golden.orders VALUES (3, 'cat', 30.25, 'third');
UPDATE golden.orders SET amount = 21.00 WHERE id = 2;
DELETE FROM golden.orders WHERE id = 1;
COMMIT;
BEGIN;
INSERT INTO golden.no_key VALUES (3, 'z');
UPDATE golden.types SET c_text = 'in a transaction' WHERE id = 1;
INSERT INTO golden.orders VALUES (5, 'eve', 5.00, 'fifth');
INSERT INTO golden.no_key VALUES (4, 'w');
COMMIT;
UPDATE golden.orders SET id = 20 WHERE id = 2;
UPDATE golden.full_identity SET v = 'b' WHERE id = 1;
DELETE FROM golden.full_identity WHERE id = 1;
UPDATE golden.toasted SET small = 'changed' WHERE id = 1;
INSERT INTO golden.no_key VALUES (2, 'y');
ALTER TABLE golden.orders ADD COLUMN status text DEFAULT 'new';
INSERT INTO golden.orders (id, customer, amount) VALUES (4, 'dan', 1.00);
ALTER TABLE golden.orders DROP COLUMN note;
UPDATE golden.orders SET customer = 'cat2' WHERE id = 3;
TRUNCATE golden.no_key;
INSERT INTO golden.zz_done VALUES (1);
