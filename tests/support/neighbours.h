#pragma once

// The user-level sensitivity property, shared by the engine and join tests:
// remove all rows of one patient (a neighbouring database) and check that
// every exact figure moved within the plan's bounds.

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <string>

#include "compiler/planner/plan.h"
#include "runtime/release/result.h"

namespace dpql {

// Moves the patient's admissions to a temporary table `saved` (bed_days follows).
inline void RemovePatient(pqxx::connection& conn, const std::string& patient) {
  pqxx::work txn(conn);
  txn.exec("CREATE TEMP TABLE IF NOT EXISTS saved AS SELECT * FROM admissions LIMIT 0");
  txn.exec_params("INSERT INTO saved SELECT * FROM admissions WHERE patient_id = $1", patient);
  txn.exec_params("DELETE FROM admissions WHERE patient_id = $1", patient);
  txn.exec("REFRESH MATERIALIZED VIEW bed_days");  // bed_days is derived from admissions
  txn.commit();
}

// Puts back every patient RemovePatient took out.
inline void RestorePatients(pqxx::connection& conn) {
  pqxx::work txn(conn);
  txn.exec("INSERT INTO admissions SELECT * FROM saved");
  txn.exec("TRUNCATE saved");
  txn.exec("REFRESH MATERIALIZED VIEW bed_days");
  txn.commit();
}

// Checks each measure of `plan` between neighbours: every group within the
// per-group bound, at most groups_bound groups changed, the total within the
// sensitivity. Returns how many measures changed at all.
inline int ExpectNeighbourWithinSensitivity(const Plan& plan, const ExactAggregates& before,
                                            const ExactAggregates& after) {
  int changed = 0;
  EXPECT_EQ(after.measures.size(), before.measures.size()) << "the key set changed";
  if (after.measures.size() != before.measures.size()) return 0;
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    BigInt total = 0;
    int groups_changed = 0;
    for (size_t r = 0; r < after.measures.size(); ++r) {
      EXPECT_EQ(after.keys[r], before.keys[r]);
      BigInt diff = abs(after.measures[r][m] - before.measures[r][m]);
      EXPECT_LE(diff, plan.measures[m].per_group_bound) << "row " << r << " measure " << m;
      total += diff;
      if (diff != 0) ++groups_changed;
    }
    EXPECT_LE(groups_changed, plan.groups_bound);
    EXPECT_LE(total, plan.measures[m].sensitivity);
    if (total != 0) ++changed;
  }
  return changed;
}

}  // namespace dpql
