// The generated statement, one method per CTE, in the order they appear:
//   dpql_rows     1. the rows: the privacy unit, the keys and the aggregated columns
//   dpql_units    2. one row per (person, group): the bounded contribution
//   dpql_bounded  3. at most max_groups groups per person (the window)
//   dpql_hist<i>  each histogram's non-empty bins per group
//   dpql_groups   4. totals per group
//   dpql_domain   every key of the public domain, empty groups too
// then the final SELECT (scalar, selected groups, or the domain's groups).
// A keys-only query over public domains is dpql_domain alone.

#include <algorithm>

#include "compiler/common/text.h"
#include "compiler/planner/sql_writer.h"

namespace dpql {

void SqlWriter::Generate() {
  const auto& keys = plan_.select.keys;
  // Keys whose domain is a public table's column have no size until the
  // query runs. When the window would bind only if that table has more
  // keys than max_groups, the SQL counts them in its own snapshot and runs
  // the window only then (step 3).
  windowed_ = plan_.bound_groups && !keys.empty();
  gated_ = windowed_ && !plan_.partition_selection &&
           std::any_of(keys.begin(), keys.end(), [](const BoundKey& key) { return !key.domain.size; });
  key_list_.clear();
  for (size_t i = 0; i < keys.size(); ++i) key_list_ += ", k" + std::to_string(i);
  source_ = "dpql_units";

  std::ostringstream sql;
  if (plan_.measures.empty()) {
    // Keys only, from public domains: the domain, and no private row read.
    std::ostringstream domain;
    DomainCte(domain);
    sql << "WITH" << domain.str().substr(1) << "\nSELECT ";
    for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i << "::text";
    sql << "\nFROM dpql_domain d\nORDER BY ";
    for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i;
    plan_.sql = sql.str();
    return;
  }
  RowsCte(sql);
  UnitsCte(sql);
  HistogramCtes(sql);
  if (keys.empty()) {
    ScalarSelect(sql);
  } else {
    GroupsCte(sql);
    if (plan_.partition_selection) {
      SelectedGroupsSelect(sql);
    } else {
      DomainCte(sql);
      DomainSelect(sql);
    }
  }
  plan_.sql = sql.str();
}

// 1. The rows: the privacy unit, the keys and the aggregated columns.
void SqlWriter::RowsCte(std::ostringstream& sql) {
  const BoundSelect& select = plan_.select;
  const auto& keys = select.keys;
  const CatalogColumn* unit = select.table->FindColumn(select.dataset->privacy_unit);
  // A text unit is compared bytewise (COLLATE "C") everywhere below: the
  // same equality as any deterministic collation, so the same people, but
  // the cheapest to sort by in the window of step 3; and with a
  // nondeterministic column collation it still makes every step agree on
  // who is one person.
  sql << "WITH dpql_rows AS " << (gated_ ? "NOT MATERIALIZED " : "") << "(\n  SELECT " << Column(*unit)
      << (unit->type == ColumnType::kText ? " COLLATE \"C\"" : "") << " AS unit";
  // Text keys are bytewise too: the per-person grouping, the window of
  // step 3 and an index on (unit, keys) COLLATE "C" then share one order.
  for (size_t i = 0; i < keys.size(); ++i) {
    const ValueType type = keys[i].expr->type;
    const bool wrap = type == ValueType::kText && keys[i].expr->kind != BoundExprKind::kColumn;
    sql << ", " << (wrap ? "(" + KeyExpr(keys[i]) + ")" : KeyExpr(keys[i])) << Bytewise(type) << " AS k" << i;
  }
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    if (plan_.measures[i].kind == MeasureKind::kHistogram) {
      sql << ", " << BinIndex(plan_.measures[i]) << " AS v" << i;
    } else if (plan_.measures[i].column != nullptr) {
      sql << ", " << Column(*plan_.measures[i].column) << " AS v" << i;
    }
  }
  sql << "\n  FROM " << QuoteIdentifier(select.table->name) << " AS t";
  // Public tables joined here, before any bounding: the bounds below apply
  // to each person's joined rows, however many a join made of them.
  for (const BoundJoin& join : select.joins) {
    std::string outer = Expr(*join.outer);
    std::string inner = Expr(*join.inner);
    sql << "\n  " << (join.left ? "LEFT JOIN " : "JOIN ") << QuoteIdentifier(join.table->name) << " AS "
        << TableAlias(*join.inner->column) << " ON " << outer << " = " << inner;
  }
  std::vector<std::string> conditions;
  conditions.push_back(Column(*unit) + " IS NOT NULL");
  if (select.where) conditions.push_back(Expr(*select.where));
  sql << "\n  WHERE ";
  for (size_t i = 0; i < conditions.size(); ++i) sql << (i ? " AND " : "") << conditions[i];
  // With the max_groups window (step 3), the rows in the window's order:
  // PostgreSQL then groups them by a sorted aggregate whose output needs
  // no second sort, or reads them so from an index on (unit, keys); left
  // to itself it hashes first and sorts the groups after.
  if (windowed_ && !gated_) sql << "\n  ORDER BY unit" << key_list_;
  sql << "\n)";
}

// 2. One row per (person, group): the person's bounded contribution, from
//    `rows` with `condition` (if any) as a further filter.
std::string SqlWriter::PerUnitSelect(const std::string& rows, const std::string& condition,
                                     const std::string& indent) {
  const auto& keys = plan_.select.keys;
  std::ostringstream out;
  out << "SELECT unit" << key_list_;
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    out << ", " << PerUnit(plan_.measures[i], static_cast<int>(i)) << " AS m" << i;
  }
  out << "\n" << indent << "FROM " << rows;
  std::vector<std::string> filters;
  for (size_t i = 0; i < keys.size(); ++i) {
    filters.push_back("k" + std::to_string(i) + " IS NOT NULL");
  }
  if (!condition.empty()) filters.push_back(condition);
  for (size_t i = 0; i < filters.size(); ++i) {
    out << (i ? " AND " : "\n" + indent + "WHERE ") << filters[i];
  }
  out << "\n" << indent << "GROUP BY unit" << key_list_;
  return out.str();
}

// 3. At most max_groups groups per person: of the person's g groups in
//    key order, the max_groups that follow, cyclically, a starting place
//    chosen by a hash of the person (its low 32 bits modulo g). The choice
//    depends only on that person's own rows, so the bound is sound; the
//    starting place spreads what is dropped evenly over the person's keys
//    instead of always dropping the same ones (a person with g > max_groups
//    keeps each of their keys in about max_groups / g of cases). Key order
//    (text bytewise) is the order the per-person grouping can deliver: with
//    an index on (unit, keys) the rows arrive in it and the window needs no
//    sort at all (docs/OPERATIONS.md, "Indexes"); without one it sorts on
//    the cheapest keys there are.
std::string SqlWriter::WindowSelect(const std::string& units, const std::string& indent) {
  std::string order;
  for (size_t i = 0; i < plan_.select.keys.size(); ++i) {
    order += (i ? ", k" : "k") + std::to_string(i);
  }
  std::ostringstream out;
  out << "SELECT * FROM (\n"
      << indent << "  SELECT u.*, row_number() OVER w AS dpql_rank, "
      << "count(*) OVER w AS dpql_keys\n"
      << indent << "  FROM " << units << "\n"
      << indent << "  WINDOW w AS (PARTITION BY unit ORDER BY " << order
      << " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)\n"
      << indent << ") r\n"
      << indent << "WHERE (dpql_rank - 1 + (" << UnitHash() << " & 4294967295) % dpql_keys) % dpql_keys < "
      << Param(std::to_string(plan_.groups_bound), "bigint");
  return out.str();
}

// dpql_units (step 2), and dpql_bounded (step 3) when the window runs.
void SqlWriter::UnitsCte(std::ostringstream& sql) {
  if (gated_) {
    GatedUnitsCte(sql);
    return;
  }
  if (!windowed_ && RowsAreUnits()) {
    // Declared structure proves at most one row per person and group
    // (rows_exact): the per-(person, group) grouping would change nothing,
    // so each row is its person's contribution to its group as it stands.
    sql << ",\ndpql_units AS (\n  SELECT unit" << key_list_;
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      const MeasureKind kind = plan_.measures[i].kind;
      sql << ", " << (kind == MeasureKind::kValueCount ? "(v" + std::to_string(i) + " IS NOT NULL)::int" : "1")
          << " AS m" << i;
    }
    sql << "\n  FROM dpql_rows";
    for (size_t i = 0; i < plan_.select.keys.size(); ++i) {
      sql << (i ? " AND " : "\n  WHERE ") << "k" << i << " IS NOT NULL";
    }
    sql << "\n)";
    return;
  }
  sql << ",\ndpql_units AS (\n  " << PerUnitSelect("dpql_rows", "", "  ") << "\n)";
  if (windowed_) {
    sql << ",\ndpql_bounded AS (\n  " << WindowSelect("dpql_units u", "  ") << "\n)";
    source_ = "dpql_bounded";
  }
}

// Whether every row already is one person's whole contribution to its
// group: the catalog's declared uniqueness proves at most one row per
// person and group for this query (rows_exact, never with a join), and
// every measure counts that row as 1 (or 0 for COUNT(col) of a NULL), as
// the per-person grouping with its max_rows >= 1 cap would.
bool SqlWriter::RowsAreUnits() const {
  if (!plan_.select.privacy.rows_exact || !plan_.select.joins.empty() || plan_.select.privacy.max_rows < 1) {
    return false;
  }
  return std::all_of(plan_.measures.begin(), plan_.measures.end(), [](const Measure& m) {
    return m.kind == MeasureKind::kRowCount || m.kind == MeasureKind::kValueCount ||
           m.kind == MeasureKind::kUnitCount;
  });
}

// dpql_units when the window's need depends on a public table's size: steps
// 2 and 3 as two branches of one UNION ALL, of which only one yields rows.
// With at most max_groups keys nobody can reach more released groups than
// the planner's bound, and step 3 is skipped; which branch runs depends on
// the public table only.
void SqlWriter::GatedUnitsCte(std::ostringstream& sql) {
  std::string measure_list;
  for (size_t i = 0; i < plan_.measures.size(); ++i) measure_list += ", m" + std::to_string(i);
  const std::string size = DomainSize();
  const std::string bound = Param(std::to_string(plan_.groups_bound), "bigint");
  const std::string ordered = "(SELECT * FROM dpql_rows ORDER BY unit" + key_list_ + ") s";
  sql << ",\ndpql_units AS (\n  " << PerUnitSelect("dpql_rows", size + " <= " + bound, "  ")
      << "\n  UNION ALL\n  SELECT unit" << key_list_ << measure_list << " FROM (\n    "
      << WindowSelect(
             "(\n        " + PerUnitSelect(ordered, size + " > " + bound, "        ") + "\n      ) u", "    ")
      << "\n  ) b\n)";
}

// The domain's size, read in this statement's snapshot: the keys output
// below are exactly these.
std::string SqlWriter::DomainSize() {
  const auto& keys = plan_.select.keys;
  std::string size;
  BigInt known = 1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].domain.size) {
      known *= *keys[i].domain.size;
      continue;
    }
    size +=
        (size.empty() ? "" : " * ") + std::string("(SELECT count(*) FROM (") + Domain(keys[i]) + ") AS d)";
  }
  if (known != 1) size += " * " + Param(known.str(), "bigint");
  return size;
}

// Per histogram measure i: dpql_hist<i> with one row per group and the
// group's non-empty bins as text "bin:count,..." in column h<i>.
void SqlWriter::HistogramCtes(std::ostringstream& sql) {
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
    const std::string keys = key_list_.empty() ? "" : key_list_.substr(2);
    sql << ",\ndpql_hist" << i << " AS (\n  SELECT " << (keys.empty() ? "" : keys + ", ")
        << "string_agg(c.bin::text || ':' || c.n::text, ',' ORDER BY c.bin) AS h" << i
        << "\n  FROM (\n    SELECT " << (keys.empty() ? "" : keys + ", ");
    if (SingleBin(plan_.measures[i])) {
      sql << "m" << i << " AS bin, count(*) AS n\n    FROM " << source_ << "\n    WHERE m" << i
          << " IS NOT NULL\n    GROUP BY " << (keys.empty() ? "" : keys + ", ") << "m" << i << "\n  ) c";
    } else {
      sql << "b.bin, count(*) AS n\n    FROM " << source_ << ", unnest(m" << i << ") AS b(bin)\n    GROUP BY "
          << (keys.empty() ? "" : keys + ", ") << "b.bin\n  ) c";
    }
    if (!keys.empty()) sql << "\n  GROUP BY " << keys;
    sql << "\n)";
  }
}

// The histogram columns of the final SELECT, after the measures.
std::string SqlWriter::HistogramColumns(bool scalar) const {
  std::string out;
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
    const std::string h = "h" + std::to_string(i);
    out += scalar ? ", (SELECT " + h + " FROM dpql_hist" + std::to_string(i) + ") AS " + h : ", " + h;
  }
  return out;
}

// No keys: one row of totals over every person.
void SqlWriter::ScalarSelect(std::ostringstream& sql) {
  sql << "\nSELECT ";
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    sql << (i ? ", " : "") << "coalesce(" << Total(plan_.measures[i], i) << ", 0) AS m" << i;
  }
  sql << HistogramColumns(true);
  sql << "\nFROM " << source_;
}

// 4. Totals per group.
void SqlWriter::GroupsCte(std::ostringstream& sql) {
  sql << ",\ndpql_groups AS (\n  SELECT " << key_list_.substr(2);
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    sql << ", " << Total(plan_.measures[i], i) << " AS m" << i;
  }
  sql << "\n  FROM " << source_ << "\n  GROUP BY " << key_list_.substr(2) << "\n)";
}

// No public domain: the groups come from the data, and Release() keeps
// only those whose noisy count of people reaches the threshold.
void SqlWriter::SelectedGroupsSelect(std::ostringstream& sql) {
  const auto& keys = plan_.select.keys;
  sql << "\nSELECT ";
  for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "k" << i << "::text";
  for (size_t i = 0; i < plan_.measures.size(); ++i) sql << ", m" << i;
  sql << HistogramColumns(false);
  sql << "\nFROM dpql_groups";
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
    sql << "\nLEFT JOIN dpql_hist" << i << " USING (" << key_list_.substr(2) << ")";
  }
  sql << "\nORDER BY " << key_list_.substr(2);
}

// Every key of the public domain: the cross product of the keys' domains.
void SqlWriter::DomainCte(std::ostringstream& sql) {
  const auto& keys = plan_.select.keys;
  sql << ",\ndpql_domain AS (\n  SELECT ";
  for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d" << i << ".k" << i;
  sql << "\n  FROM ";
  for (size_t i = 0; i < keys.size(); ++i) {
    sql << (i ? "\n  CROSS JOIN " : "") << "(" << Domain(keys[i]) << ") AS d" << i << "(k" << i << ")";
  }
  sql << "\n)";
}

// Every key of the public domain with its group's totals, empty ones too.
void SqlWriter::DomainSelect(std::ostringstream& sql) {
  const auto& keys = plan_.select.keys;
  sql << "\nSELECT ";
  for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i << "::text";
  for (size_t i = 0; i < plan_.measures.size(); ++i) {
    sql << ", coalesce(g.m" << i << ", 0) AS m" << i;
  }
  sql << HistogramColumns(false);
  sql << "\nFROM dpql_domain d LEFT JOIN dpql_groups g ON ";
  for (size_t i = 0; i < keys.size(); ++i) {
    sql << (i ? " AND " : "") << "g.k" << i << " = d.k" << i << Bytewise(keys[i].expr->type);
  }
  for (size_t m = 0; m < plan_.measures.size(); ++m) {
    if (plan_.measures[m].kind != MeasureKind::kHistogram) continue;
    sql << "\nLEFT JOIN dpql_hist" << m << " h" << m << "_ ON ";
    for (size_t i = 0; i < keys.size(); ++i) {
      sql << (i ? " AND " : "") << "h" << m << "_.k" << i << " = d.k" << i << Bytewise(keys[i].expr->type);
    }
  }
  sql << "\nORDER BY ";
  for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i;
}

void GenerateSql(Plan& plan) {
  plan.sql.clear();
  plan.params.clear();
  SqlWriter(plan).Generate();
  WrapForFanOut(plan);
}

}  // namespace dpql
