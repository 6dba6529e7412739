-- The tables and rows before the connector starts (its snapshot reads
-- them). Run by tests/tests/postgres_cdc_golden.rs under Debezium and under
-- Ferry alike; see README.md.
DROP SCHEMA IF EXISTS golden CASCADE;
CREATE SCHEMA golden;

CREATE TABLE golden.types (
  id int PRIMARY KEY,
  c_bool boolean,
  c_int2 smallint,
  c_int4 integer,
  c_int8 bigint,
  c_float4 real,
  c_float8 double precision,
  c_numeric numeric(12, 3),
  c_numeric_any numeric,
  c_text text,
  c_varchar varchar(20),
  c_char char(3),
  c_bytea bytea,
  c_date date,
  c_time time,
  c_time3 time(3),
  c_timetz timetz,
  c_timestamp timestamp,
  c_timestamp3 timestamp(3),
  c_timestamptz timestamptz,
  c_interval interval,
  c_uuid uuid,
  c_json json,
  c_jsonb jsonb,
  c_xml xml,
  c_bit1 bit(1),
  c_bit bit(3),
  c_varbit varbit(8),
  c_inet inet,
  c_cidr cidr,
  c_macaddr macaddr,
  c_money money,
  c_int4range int4range,
  c_int_arr int[],
  c_text_arr text[]
);
INSERT INTO golden.types VALUES (
  1, true, -32768, 2147483647, -9223372036854775808,
  1.5, -2.25e-10,
  123456789.125, 3.14159265358979,
  'text with ''quotes'' and ünïcödé', 'varchar', 'ab',
  '\x00ff10'::bytea, '2024-02-29', '13:45:30.123456', '13:45:30.123', '08:00:00+02',
  '2024-02-29 13:45:30.123456', '2024-02-29 13:45:30.123', '2024-02-29 13:45:30.123456+01',
  '1 year 2 months 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2.5, "x"], "b": null}', '{"b": null, "a": [1, 2.5, "x"]}', '<a x="1">t</a>',
  B'1', B'101', B'1101', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
  '12.34', '[1,10)', '{1,NULL,3}', '{"a","b c",NULL}'
);
INSERT INTO golden.types (id) VALUES (2);

CREATE TABLE golden.orders (
  id int PRIMARY KEY,
  customer text NOT NULL,
  amount numeric(10, 2),
  note text
);
INSERT INTO golden.orders VALUES (1, 'ann', 10.50, 'first'), (2, 'bob', 20.00, NULL);

CREATE TABLE golden.full_identity (id int PRIMARY KEY, v text NOT NULL);
ALTER TABLE golden.full_identity REPLICA IDENTITY FULL;
INSERT INTO golden.full_identity VALUES (1, 'a');

-- A value TOASTed out of line (incompressible, > 2 kB), left unchanged by
-- an update of another column.
CREATE TABLE golden.toasted (id int PRIMARY KEY, big text, small text);
INSERT INTO golden.toasted
  SELECT 1, string_agg(md5(g::text), ''), 'small' FROM generate_series(1, 200) g;

CREATE TABLE golden.no_key (a int, b text);
INSERT INTO golden.no_key VALUES (1, 'x');

-- The last table in the include list: one row here means every change
-- before it was streamed.
CREATE TABLE golden.zz_done (id int PRIMARY KEY);
