-- Indexes FerretDB 1.24 can use on its PostgreSQL backend, made beside the ones it makes itself.
--
-- Why: FerretDB stores each collection as a table of one jsonb column `_jsonb` and pushes a
-- filter down as containment, `_jsonb -> 'field' @> value`. For every index a client declares
-- (and the `_id_` index of every collection) it creates a btree on `(_jsonb -> 'field')`, which
-- cannot serve `@>`: every read, even by `_id`, was a sequential scan whose cost grew with the
-- collection (docs/benchmarks.md, docs/decisions.md). A GIN index (jsonb_path_ops) on the same
-- expression serves `@>` exactly, including an array field that holds the value.
--
-- How: an event trigger sees each btree index FerretDB creates and adds one GIN index per
-- top-level field of it (named after the table and the field, so two indexes sharing a field
-- share it). Indexes that existed before this file was applied are given theirs at the end.
-- Without fastupdate: a document puts one value (a few for an array) into such an index, so a
-- pending list saves an insert little, while every lookup reads the whole list until a vacuum.
-- The store keeps working without any of this; it only scans.
--
-- FerretDB sends the field name as a parameter (`_jsonb -> $1 @> $2`); only a plan made for the
-- actual values matches the index expression, so this database never uses a generic plan.
--
-- Applied by scripts/infra.sh each time it starts PostgreSQL; every statement is idempotent.

CREATE SCHEMA IF NOT EXISTS kim_store;

ALTER DATABASE ferretdb SET plan_cache_mode = force_custom_plan;

-- The GIN indexes beside one btree index of a FerretDB table; nothing for any other index.
CREATE OR REPLACE FUNCTION kim_store.index_fields_for_containment(btree oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  target record;
  column_number int;
  field text;
  gin text;
BEGIN
  SELECT n.nspname AS schema_name, t.relname AS table_name, i.indnatts AS columns, t.oid AS table_oid
    INTO target
    FROM pg_index i
    JOIN pg_class ix ON ix.oid = i.indexrelid
    JOIN pg_am am ON am.oid = ix.relam
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
   WHERE i.indexrelid = btree AND am.amname = 'btree'
     AND t.relname NOT LIKE '\_ferretdb\_%';  -- FerretDB's own metadata, read by its btree
  IF NOT FOUND OR NOT EXISTS (
      SELECT 1 FROM pg_attribute
       WHERE attrelid = target.table_oid AND attname = '_jsonb' AND atttypid = 'jsonb'::regtype) THEN
    RETURN;
  END IF;
  FOR column_number IN 1 .. target.columns LOOP
    -- Only a top-level field: FerretDB pushes no dotted path down.
    field := substring(pg_get_indexdef(btree, column_number, true)
                       FROM '^\(?_jsonb -> ''((?:[^'']|'''')+)''::text\)?$');
    CONTINUE WHEN field IS NULL;
    field := replace(field, '''''', '''');
    -- the table's whole name in the hash: two long names may share their first 44 characters
    gin := left(target.table_name, 44) || '_' || left(md5(target.table_name || '.' || field), 8) || '_gin';
    -- Made already (every start but the first): no CREATE, which would lock the table first.
    CONTINUE WHEN to_regclass(format('%I.%I', target.schema_name, gin)) IS NOT NULL;
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L) jsonb_path_ops)'
                   ' WITH (fastupdate = off)', gin, target.schema_name, target.table_name, field);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION kim_store.on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
    BEGIN
      PERFORM kim_store.index_fields_for_containment(created.objid);
    EXCEPTION WHEN OTHERS THEN
      -- A missing GIN index costs speed; failing FerretDB's own statement would fail the write.
      RAISE WARNING 'kim_store: no GIN index beside index %: %', created.objid, SQLERRM;
    END;
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS kim_store_containment_indexes;
CREATE EVENT TRIGGER kim_store_containment_indexes ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION kim_store.on_create_index();

-- The indexes made before this file was first applied (a store created by an earlier version).
DO $$
DECLARE
  existing record;
BEGIN
  FOR existing IN SELECT i.indexrelid FROM pg_index i
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = '_jsonb' LOOP
    PERFORM kim_store.index_fields_for_containment(existing.indexrelid);
  END LOOP;
END $$;
