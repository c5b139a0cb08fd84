#pragma once

// The answer cache's tables in schema `dpql`. Created by Ledger::Init
// (`dpqld admin init`), in the same transaction and right after the ledger's
// own tables, so that one command prepares the whole database.

namespace dpql {

// The answer cache (runtime/cache): each dataset's data version, and released
// answers keyed by (dataset, data version, SHA-256 of the canonical plan).
// Answers hold only released values (noisy figures, intervals, released keys),
// never exact aggregates. Rows of older data versions are kept but not served.
inline constexpr const char* kAnswerCacheSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS dpql.data_versions (
  dataset    text PRIMARY KEY CHECK (dataset <> ''),
  version    bigint NOT NULL CHECK (version >= 1),
  changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dpql.answer_cache (
  dataset      text NOT NULL,
  data_version bigint NOT NULL,
  plan_hash    bytea NOT NULL CHECK (length(plan_hash) = 32),
  answer       jsonb NOT NULL,
  ledger_id    bigint,  -- the dpql.ledger row that paid for it (no foreign key: the ledger stays untouchable)
  query_text   text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, data_version, plan_hash)
);
)SQL";

}  // namespace dpql
