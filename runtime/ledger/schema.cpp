#include "runtime/ledger/schema.h"

#include <cstdint>
#include <string>

#include "compiler/common/error.h"
#include "runtime/cache/schema.h"
#include "runtime/ledger/ledger_sql.h"
#include "runtime/ledger/project_schema.h"
#include "runtime/ledger/release_store.h"

namespace dpql {

namespace {

// pg_advisory_xact_lock key serialising concurrent Init() calls ("dpqlinit").
constexpr int64_t kInitLockKey = 0x6470716c696e6974;

// Statements are constants: identifiers never come from input; every value
// is a bind parameter.
constexpr const char* kInitSql = R"SQL(
CREATE SCHEMA IF NOT EXISTS dpql;

CREATE TABLE IF NOT EXISTS dpql.schema_version (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dpql.analysts (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name <> ''),
  token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  is_admin   boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Units: epsilon in micro-epsilon (1e-6), delta in pico-delta (1e-12).
CREATE TABLE IF NOT EXISTS dpql.budgets (
  analyst_id    bigint NOT NULL REFERENCES dpql.analysts (id),
  dataset       text NOT NULL CHECK (dataset <> ''),
  epsilon_total bigint NOT NULL DEFAULT 0,
  epsilon_spent bigint NOT NULL DEFAULT 0,
  delta_total   bigint NOT NULL DEFAULT 0,
  delta_spent   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (analyst_id, dataset),
  CONSTRAINT budgets_nonnegative CHECK (
    epsilon_total >= 0 AND epsilon_spent >= 0 AND delta_total >= 0 AND delta_spent >= 0),
  CONSTRAINT budgets_not_overspent CHECK (
    epsilon_spent <= epsilon_total AND delta_spent <= delta_total)
);

CREATE TABLE IF NOT EXISTS dpql.ledger (
  id         bigserial PRIMARY KEY,
  analyst_id bigint NOT NULL REFERENCES dpql.analysts (id),
  dataset    text NOT NULL,
  epsilon    bigint NOT NULL CHECK (epsilon >= 0),
  delta      bigint NOT NULL CHECK (delta >= 0),
  query_hash bytea NOT NULL,
  query_text text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_analyst_dataset ON dpql.ledger (analyst_id, dataset);

CREATE TABLE IF NOT EXISTS dpql.audit (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  analyst_id   bigint REFERENCES dpql.analysts (id),
  analyst_name text NOT NULL DEFAULT '',
  source       text NOT NULL DEFAULT '',
  dataset      text NOT NULL DEFAULT '',
  query        text NOT NULL DEFAULT '',
  epsilon      bigint NOT NULL DEFAULT 0,
  delta        bigint NOT NULL DEFAULT 0,
  outcome      text NOT NULL,
  status       integer NOT NULL DEFAULT 0,
  detail       text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON dpql.audit (at DESC, id DESC);

-- Version 2: zCDP budgets in pico-rho (1e-12) and the dataset-wide spend.
-- ADD COLUMN IF NOT EXISTS upgrades a version-1 schema in place; rerunning is a no-op.
ALTER TABLE dpql.budgets ADD COLUMN IF NOT EXISTS rho_total bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.budgets ADD COLUMN IF NOT EXISTS rho_spent bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.ledger ADD COLUMN IF NOT EXISTS rho bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.audit ADD COLUMN IF NOT EXISTS rho bigint NOT NULL DEFAULT 0;

DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'budgets_rho_valid' AND conrelid = 'dpql.budgets'::regclass) THEN
    ALTER TABLE dpql.budgets ADD CONSTRAINT budgets_rho_valid
      CHECK (rho_total >= 0 AND rho_spent >= 0 AND rho_spent <= rho_total);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'ledger_rho_nonnegative' AND conrelid = 'dpql.ledger'::regclass) THEN
    ALTER TABLE dpql.ledger ADD CONSTRAINT ledger_rho_nonnegative CHECK (rho >= 0);
  END IF;
  -- What all analysts together have spent per dataset, for the dataset-wide
  -- cap. Created with the ledger's totals so an upgraded database counts the
  -- spending from before the upgrade too.
  IF to_regclass('dpql.dataset_spend') IS NULL THEN
    CREATE TABLE dpql.dataset_spend (
      dataset       text PRIMARY KEY CHECK (dataset <> ''),
      epsilon_spent bigint NOT NULL DEFAULT 0 CHECK (epsilon_spent >= 0),
      delta_spent   bigint NOT NULL DEFAULT 0 CHECK (delta_spent >= 0),
      rho_spent     bigint NOT NULL DEFAULT 0 CHECK (rho_spent >= 0)
    );
    INSERT INTO dpql.dataset_spend (dataset, epsilon_spent, delta_spent, rho_spent)
      SELECT dataset, sum(epsilon), sum(delta), sum(rho) FROM dpql.ledger GROUP BY dataset;
  END IF;
END
$do$;

-- Version 5: each analyst's SCRAM-SHA-256 verifier of the token, in
-- PostgreSQL's text form (runtime/ledger/scram.h), for the wire protocol's
-- login. NULL for analysts created before version 5 until
-- `dpqld admin new-token` gives them a new token and its verifier.
ALTER TABLE dpql.analysts ADD COLUMN IF NOT EXISTS scram_verifier text;

-- The ledger and the audit log are append-only: rows are never changed or removed.
CREATE OR REPLACE FUNCTION dpql.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'dpql.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END
$fn$;

DO $do$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ledger', 'audit'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = t || '_append_only' AND tgrelid = ('dpql.' || t)::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON dpql.%I '
                     'FOR EACH ROW EXECUTE FUNCTION dpql.refuse_change()', t || '_append_only', t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = t || '_no_truncate' AND tgrelid = ('dpql.' || t)::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON dpql.%I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION dpql.refuse_change()', t || '_no_truncate', t);
    END IF;
  END LOOP;
END
$do$;
)SQL";

}  // namespace

void CreateSchema(pqxx::work& txn) {
  txn.exec("SET LOCAL client_min_messages = warning");
  txn.exec_params("SELECT pg_advisory_xact_lock($1)", kInitLockKey);
  txn.exec(kInitSql);
  txn.exec(kAnswerCacheSchemaSql);
  txn.exec(kProjectsSchemaSql);
  txn.exec(kReleaseSchemaSql);
  txn.exec(kDebitFunctionSql);
  pqxx::row newest = txn.exec1("SELECT coalesce(max(version), 0) FROM dpql.schema_version");
  int version = newest[0].as<int>();
  if (version > kSchemaVersion) {
    throw DpqlError(ErrorCode::kSchemaTooNew, "the database's dpql schema is version " +
                                                  std::to_string(version) +
                                                  " but this dpqld knows only up to version " +
                                                  std::to_string(kSchemaVersion) + "; upgrade dpqld");
  }
  txn.exec_params("INSERT INTO dpql.schema_version (version) VALUES ($1) ON CONFLICT DO NOTHING",
                  kSchemaVersion);
}

}  // namespace dpql
