#pragma once

// What all accounts together have spent on a dataset (dpql.dataset_spend),
// for the dataset-wide cap. Every debit of a dataset — an analyst's, a
// project's or a release's — locks the dataset's row first, checks the cap
// under that lock and adds its cost before committing, so no two debits can
// together pass the cap. Private to runtime/ledger.

#include <string>

#include "runtime/budget/budget_units.h"
#include <pqxx/pqxx>

namespace dpql {

// Creates the dataset's row if missing, locks it until `txn` ends and
// returns what has been spent on the dataset.
BudgetCost LockDatasetSpend(pqxx::work& txn, const std::string& dataset);

// The same, for checking `cap`: with a periodic cap (cap.period set) returns
// what was spent since cap.period_start, starting the period's count afresh
// (under the lock, once) when the row still counts an earlier period; without
// one, what was ever spent. Every debit calls this one with the cap it checks.
BudgetCost LockDatasetSpend(pqxx::work& txn, const std::string& dataset, const BudgetCap& cap);

// Adds `cost` to the dataset's spend (the row must be locked by
// LockDatasetSpend in `txn`); returns the spend after it.
BudgetCost AddDatasetSpend(pqxx::work& txn, const std::string& dataset, const BudgetCost& cost);

}  // namespace dpql
