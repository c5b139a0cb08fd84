#pragma once

// Schema version 3's research projects (runtime/ledger/projects.h): the
// projects, their members, the budget requests, the ledger's project column
// and the periodic dataset-wide cap's columns. Idempotent: upgrades a
// version-2 database in place; CreateSchema runs it. Private to runtime/ledger.
//
// Units as everywhere in the ledger: micro-epsilon, pico-delta, pico-rho.

namespace dpql {

inline constexpr int kMaxJustificationLength = 2000;  // bytes; budget_requests.justification

inline constexpr const char* kProjectsSchemaSql = R"SQL(
CREATE TABLE IF NOT EXISTS dpql.projects (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name <> ''),
  dataset       text NOT NULL CHECK (dataset <> ''),
  -- The approved budget, granted anew each period when renew_period is set;
  -- *_spent is what the current period (from period_start) has spent.
  epsilon_total bigint NOT NULL DEFAULT 0,
  epsilon_spent bigint NOT NULL DEFAULT 0,
  delta_total   bigint NOT NULL DEFAULT 0,
  delta_spent   bigint NOT NULL DEFAULT 0,
  rho_total     bigint NOT NULL DEFAULT 0,
  rho_spent     bigint NOT NULL DEFAULT 0,
  starts_at     timestamptz NOT NULL,
  ends_at       timestamptz NOT NULL,  -- exclusive: the first moment it no longer pays
  renew_period  text CHECK (renew_period IN ('day', 'week', 'month', 'year')),
  period_start  timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  closed_at     timestamptz,
  CONSTRAINT projects_dates CHECK (starts_at < ends_at),
  CONSTRAINT projects_nonnegative CHECK (
    epsilon_total >= 0 AND epsilon_spent >= 0 AND delta_total >= 0 AND delta_spent >= 0
    AND rho_total >= 0 AND rho_spent >= 0),
  CONSTRAINT projects_not_overspent CHECK (
    epsilon_spent <= epsilon_total AND delta_spent <= delta_total AND rho_spent <= rho_total)
);

CREATE TABLE IF NOT EXISTS dpql.project_members (
  project_id bigint NOT NULL REFERENCES dpql.projects (id),
  analyst_id bigint NOT NULL REFERENCES dpql.analysts (id),
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, analyst_id)
);
CREATE INDEX IF NOT EXISTS project_members_analyst ON dpql.project_members (analyst_id);

-- An analyst's request for more budget: on a project (project_id set) or on
-- their own budget on a dataset (project_id NULL). Approving adds the amount.
CREATE TABLE IF NOT EXISTS dpql.budget_requests (
  id            bigserial PRIMARY KEY,
  analyst_id    bigint NOT NULL REFERENCES dpql.analysts (id),
  project_id    bigint REFERENCES dpql.projects (id),
  dataset       text NOT NULL CHECK (dataset <> ''),
  epsilon       bigint NOT NULL DEFAULT 0 CHECK (epsilon >= 0),
  delta         bigint NOT NULL DEFAULT 0 CHECK (delta >= 0),
  rho           bigint NOT NULL DEFAULT 0 CHECK (rho >= 0),
  justification text NOT NULL CHECK (length(justification) BETWEEN 1 AND 2000),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
  filed_at      timestamptz NOT NULL,
  decided_by    text,
  decided_at    timestamptz,
  reason        text
);
CREATE INDEX IF NOT EXISTS budget_requests_analyst ON dpql.budget_requests (analyst_id, id);

-- A debit paid by a project names it; the analyst who asked stays in analyst_id.
ALTER TABLE dpql.ledger ADD COLUMN IF NOT EXISTS project_id bigint REFERENCES dpql.projects (id);

-- The periodic dataset-wide cap (catalog limits.dataset_period): the spend of
-- the period starting at period_start, beside the lifetime spend.
ALTER TABLE dpql.dataset_spend ADD COLUMN IF NOT EXISTS period_start timestamptz;
ALTER TABLE dpql.dataset_spend ADD COLUMN IF NOT EXISTS period_epsilon_spent bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.dataset_spend ADD COLUMN IF NOT EXISTS period_delta_spent bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.dataset_spend ADD COLUMN IF NOT EXISTS period_rho_spent bigint NOT NULL DEFAULT 0;
)SQL";

}  // namespace dpql
