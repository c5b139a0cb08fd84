// A sharded or federated dataset's statement (docs/SCALING.md): the
// statement generated for one database runs whole on every server of the
// dataset, through dpql.fan_out on the server's own database (dblink's
// asynchronous calls, all servers at once; runtime/pg/fan_out.h), and only
// its per-group totals come back. Every measure is a sum over people (a
// count, a clamped sum, a histogram's cells), and each person's rows are
// bounded on the server that holds them, so the totals add up exactly across
// servers: the outer statement sums them per group, before any noise, which
// the engine adds once.
//
// The inner statement's bind values become literals quoted by PostgreSQL's
// format('%L'), on the server's side: the outer statement still binds every
// value as a parameter, and no value is ever spliced into SQL text here.

#include <regex>

#include "compiler/planner/sql_writer.h"

namespace dpql {

namespace {

// `sql` as a format() string: each % doubled, each $n a quoted literal of
// format's n-th argument (%n$L).
std::string FormatString(const std::string& sql) {
  std::string escaped;
  escaped.reserve(sql.size() + 64);
  for (char c : sql) {
    if (c == '%') escaped += '%';
    escaped += c;
  }
  static const std::regex kPlaceholder(R"(\$([0-9]+))");
  return std::regex_replace(escaped, kPlaceholder, "%$1$$L");
}

// A key, back from text to its type, for the order the one-database
// statement gives (texts byte-wise, numbers and dates by value).
std::string TypedKey(const std::string& column, ValueType type) {
  switch (type) {
    case ValueType::kInt: return column + "::bigint";
    case ValueType::kReal: return column + "::numeric";
    case ValueType::kDate: return column + "::date";
    case ValueType::kBool: return column + "::boolean";
    default: return column + " COLLATE \"C\"";
  }
}

}  // namespace

void WrapForFanOut(Plan& plan) {
  const DataPlacement& placement = plan.select.dataset->placement;
  if (placement.kind == Placement::kSingle || plan.measures.empty()) return;
  const auto& keys = plan.select.keys;
  std::vector<size_t> histograms;
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    if (plan.measures[m].kind == MeasureKind::kHistogram) histograms.push_back(m);
  }
  std::string columns;  // the inner statement's result, as dpql.fan_out returns it
  std::string keys_out, order;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string k = "k" + std::to_string(i);
    columns += (i ? ", " : "") + k + " text";
    keys_out += (i ? ", " : "") + k;
    order += (i ? ", " : "") + TypedKey(k, keys[i].expr->type);
  }
  std::string totals;
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    const std::string name = "m" + std::to_string(m);
    columns += (columns.empty() ? "" : ", ") + name + " numeric";
    totals += (totals.empty() ? "" : ", ") + std::string("sum(") + name + ") AS " + name;
  }
  // A histogram's "bin:count" lists are concatenated: the executor adds up
  // the cells of a bin that appears more than once.
  for (size_t h = 0; h < histograms.size(); ++h) {
    const std::string name = "h" + std::to_string(histograms[h]);
    columns += ", " + name + " text";
    totals += ", string_agg(" + name + ", ',') AS " + name;
  }

  std::ostringstream sql;
  sql << "WITH dpql_parts AS (\n  SELECT * FROM dpql.fan_out($1::text[], '" << columns << "', format($dpql_site$\n"
      << FormatString(plan.sql) << "\n$dpql_site$";
  for (size_t p = 0; p < plan.params.size(); ++p) sql << ", $" << (p + 2) << "::text";
  sql << ")) AS s(" << columns << ")\n)\nSELECT ";
  if (!keys.empty()) sql << keys_out << ", ";
  sql << totals << "\nFROM dpql_parts";
  if (!keys.empty()) sql << "\nGROUP BY " << keys_out << "\nORDER BY " << order;
  plan.sql = sql.str();
  plan.params.insert(plan.params.begin(), ArrayLiteral(placement.servers));
}

}  // namespace dpql
