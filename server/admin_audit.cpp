#include "server/admin_audit.h"

#include "compiler/common/error.h"

namespace dpql {

std::string DescribeBudget(const BudgetCost& amount) {
  std::string text = "epsilon " + amount.EpsilonString() + ", delta " + amount.DeltaString();
  if (amount.rho_pico != 0) text += ", rho " + amount.RhoString();
  return text;
}

void AuditAdminAction(Ledger& ledger, const std::string& analyst, const std::string& dataset,
                      const std::string& action, const std::string& detail, std::ostream& err) {
  AuditRecord record;
  record.analyst_name = analyst;
  record.source = "admin";
  record.dataset = dataset;
  record.query = action;
  record.detail = detail;
  record.outcome = "ok";
  try {
    ledger.WriteAudit(record);
  } catch (const DpqlError& e) {
    err << "dpqld admin: warning: the change was made but could not be written to the audit log: "
        << e.message() << "\n";
  }
}

}  // namespace dpql
