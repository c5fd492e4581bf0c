// A schema with one of everything the catalog layer reads: domains, PK/FK/CHECK (validated and
// NOT VALID), indexes, views on views, a trigger, list partitions two levels deep with a default.
export const SCHEMA = `
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT generate_series(1, 10);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  name varchar(50),
  amount numeric(10,2) CONSTRAINT orders_amount_check CHECK (amount >= 0),
  at timestamp(3) with time zone,
  qty posint,
  parent_id int CONSTRAINT orders_parent_fkey REFERENCES parent(id),
  note text
);
INSERT INTO orders SELECT g, 'n' || g, g, now(), 1, 1 + g % 10, CASE WHEN g % 3 = 0 THEN 'x' END FROM generate_series(1, 3000) g;
INSERT INTO orders VALUES (3001, 'dup', 1, now(), 1, 1, 'dup'), (3002, 'dup', 1, now(), 1, 1, 'dup');
ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL AND length(note) > 0) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_name_nn CHECK (name IS NOT NULL);
CREATE INDEX orders_name_idx ON orders (name);
CREATE TABLE child (id int, parent_id int REFERENCES parent(id) ON DELETE CASCADE);
CREATE INDEX child_parent_idx ON child (parent_id);
CREATE TABLE loose (id int, parent_id int REFERENCES parent(id));
CREATE VIEW v_orders AS SELECT id, name FROM orders;
CREATE VIEW v_orders2 AS SELECT id FROM v_orders;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_trg BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION trg();
CREATE TABLE ev (id int, k text) PARTITION BY LIST (k);
CREATE TABLE ev_a PARTITION OF ev FOR VALUES IN ('a');
CREATE TABLE ev_b PARTITION OF ev FOR VALUES IN ('b') PARTITION BY LIST (id);
CREATE TABLE ev_b1 PARTITION OF ev_b FOR VALUES IN (1);
CREATE TABLE ev_default PARTITION OF ev DEFAULT;
`;
