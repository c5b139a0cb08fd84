#include "runtime/ledger/dataset_spend.h"

#include <pqxx/pqxx>

#include "runtime/ledger/ledger_sql.h"
#include "runtime/pg/prepared.h"

namespace dpql {

BudgetCost LockDatasetSpend(pqxx::work& txn, const std::string& dataset) {
  txn.exec_prepared0(Prepared(txn, "dpql_lock_dataset", kLockDatasetSql), dataset);
  pqxx::row spent = txn.exec_prepared1(Prepared(txn, "dpql_dataset_spent", kSelectDatasetSql), dataset);
  return {spent[0].as<int64_t>(), spent[1].as<int64_t>(), spent[2].as<int64_t>()};
}

BudgetCost LockDatasetSpend(pqxx::work& txn, const std::string& dataset, const BudgetCap& cap) {
  BudgetCost lifetime = LockDatasetSpend(txn, dataset);
  if (cap.period == BudgetPeriod::kNone) return lifetime;
  const std::string start = FormatTimestamp(cap.period_start);
  txn.exec_prepared0(Prepared(txn, "dpql_turn_dataset_period", kTurnDatasetPeriodSql), dataset, start);
  pqxx::row spent =
      txn.exec_prepared1(Prepared(txn, "dpql_dataset_period_spent", kSelectDatasetPeriodSql), dataset);
  return {spent[0].as<int64_t>(), spent[1].as<int64_t>(), spent[2].as<int64_t>()};
}

BudgetCost AddDatasetSpend(pqxx::work& txn, const std::string& dataset, const BudgetCost& cost) {
  pqxx::row after = txn.exec_prepared1(Prepared(txn, "dpql_add_dataset_spend", kAddDatasetSql), dataset,
                                       cost.epsilon_micro, cost.delta_pico, cost.rho_pico);
  return {after[0].as<int64_t>(), after[1].as<int64_t>(), after[2].as<int64_t>()};
}

}  // namespace dpql
