#include "runtime/cache/answer_cache.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <mutex>
#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/prepared.h"
#include "runtime/pg/transaction.h"

namespace dpql {

namespace {

using json = nlohmann::json;

constexpr int kAnswerFormat = 1;

DpqlError Unreachable(const std::string& detail) {
  return DatabaseUnavailable("cannot reach the database: " + OnOneLine(detail));
}

// One statement: the current version and, under it, the stored answer.
constexpr const char* kFindSql = R"SQL(
SELECT v.version, c.answer::text
  FROM (SELECT coalesce((SELECT version FROM dpql.data_versions WHERE dataset = $1), 1) AS version) v
  LEFT JOIN dpql.answer_cache c
    ON c.dataset = $1 AND c.data_version = v.version AND c.plan_hash = decode($2, 'hex')
)SQL";

// The first answer stored for a key stays (see AnswerCache::Store).
constexpr const char* kStoreSql = R"SQL(
INSERT INTO dpql.answer_cache (dataset, data_version, plan_hash, answer, ledger_id, query_text)
VALUES ($1, $2, decode($3, 'hex'), $4::jsonb, $5::bigint, $6)
ON CONFLICT DO NOTHING
RETURNING 1
)SQL";

// A dataset without a row is at version 1, so its first bump makes it 2.
constexpr const char* kBumpSql = R"SQL(
INSERT INTO dpql.data_versions AS d (dataset, version) VALUES ($1, 2)
ON CONFLICT (dataset) DO UPDATE SET version = d.version + 1, changed_at = now()
RETURNING version
)SQL";

constexpr const char* kVersionSql =
    "SELECT coalesce((SELECT version FROM dpql.data_versions WHERE dataset = $1), 1)";

ValueType ValueTypeFromName(const std::string& name) {
  for (ValueType type : {ValueType::kNull, ValueType::kText, ValueType::kInt, ValueType::kReal,
                         ValueType::kDate, ValueType::kBool}) {
    if (name == ValueTypeName(type)) return type;
  }
  throw DpqlError(ErrorCode::kCacheCorrupt, "unknown column type in a cached answer");
}

bool Finite(const Value& value) {
  const double* real = std::get_if<double>(&value);
  return real == nullptr || std::isfinite(*real);
}

json CellJson(const Value& value) {
  return std::visit(
      [](const auto& v) -> json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

Value CellValue(const json& cell, ValueType type) {
  if (cell.is_null()) return std::monostate{};
  if (cell.is_boolean()) return cell.get<bool>();
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_number()) {
    // jsonb may print a real without its fraction; the column type decides.
    if (type != ValueType::kReal && cell.is_number_integer()) return cell.get<int64_t>();
    return cell.get<double>();
  }
  throw DpqlError(ErrorCode::kCacheCorrupt, "unexpected value in a cached answer");
}

}  // namespace

std::optional<std::string> EncodeAnswer(const QueryResult& answer) {
  json columns = json::array();
  for (const ResultColumn& column : answer.columns) {
    columns.push_back({{"type", ValueTypeName(column.type)}, {"noisy", column.noisy}});
  }
  json rows = json::array();
  json intervals = json::array();
  for (size_t r = 0; r < answer.rows.size(); ++r) {
    json row = json::array();
    for (const Value& value : answer.rows[r]) {
      if (!Finite(value)) return std::nullopt;
      row.push_back(CellJson(value));
    }
    json cis = json::array();
    if (r < answer.intervals.size()) {
      for (const auto& ci : answer.intervals[r]) {
        if (!ci) {
          cis.push_back(nullptr);
          continue;
        }
        if (!std::isfinite(ci->lower) || !std::isfinite(ci->upper)) return std::nullopt;
        cis.push_back({ci->lower, ci->upper});
      }
    }
    rows.push_back(std::move(row));
    intervals.push_back(std::move(cis));
  }
  json bias = json::array();
  for (const BiasNote& note : answer.bias) {
    bias.push_back({{"code", note.code}, {"message", note.message}, {"outputs", note.outputs}});
  }
  json out = {{"format", kAnswerFormat}, {"columns", std::move(columns)},
              {"rows", std::move(rows)}, {"intervals", std::move(intervals)},
              {"notes", answer.notes},   {"bias", std::move(bias)}};
  return out.dump();
}

QueryResult DecodeAnswer(const std::string& text) {
  QueryResult answer;
  try {
    json in = json::parse(text);
    if (in.at("format").get<int>() != kAnswerFormat) {
      throw DpqlError(ErrorCode::kCacheCorrupt, "unknown cached answer format");
    }
    for (const json& column : in.at("columns")) {
      answer.columns.push_back(
          {"", ValueTypeFromName(column.at("type").get<std::string>()), column.at("noisy").get<bool>()});
    }
    for (const json& row : in.at("rows")) {
      std::vector<Value> values;
      for (size_t c = 0; c < row.size(); ++c) {
        values.push_back(CellValue(row[c], answer.columns.at(c).type));
      }
      answer.rows.push_back(std::move(values));
    }
    for (const json& row : in.at("intervals")) {
      std::vector<std::optional<Interval>> cis;
      for (const json& ci : row) {
        if (ci.is_null()) {
          cis.emplace_back();
        } else {
          cis.push_back(Interval{ci.at(0).get<double>(), ci.at(1).get<double>()});
        }
      }
      answer.intervals.push_back(std::move(cis));
    }
    answer.notes = in.at("notes").get<std::vector<std::string>>();
    // Absent from answers stored before bias notes existed.
    if (in.contains("bias")) {
      for (const json& note : in.at("bias")) {
        answer.bias.push_back({note.at("code").get<std::string>(), note.at("message").get<std::string>(),
                               note.at("outputs").get<std::vector<std::string>>()});
      }
    }
  } catch (const json::exception& error) {
    throw DpqlError(ErrorCode::kCacheCorrupt, std::string("a cached answer cannot be read: ") + error.what());
  }
  if (answer.intervals.size() != answer.rows.size()) {
    throw DpqlError(ErrorCode::kCacheCorrupt, "a cached answer has mismatched rows");
  }
  return answer;
}

PostProcessing TakePostProcessing(BoundSelect& select) {
  PostProcessing post;
  post.having = std::move(select.having);
  post.order_by = std::move(select.order_by);
  post.limit = select.limit;
  select.having.reset();
  select.order_by.clear();
  select.limit.reset();
  return post;
}

void RestorePostProcessing(BoundSelect& select, PostProcessing post) {
  select.having = std::move(post.having);
  select.order_by = std::move(post.order_by);
  select.limit = post.limit;
}

const TransactionErrors kCacheErrors = {
    .unreachable = &Unreachable,
    // A lookup's or a store's COMMIT met a lost connection; a store lost here
    // only means a repeat of the query is charged.
    .in_doubt = "",
    .not_initialised = "the answer cache tables are missing in this database; run `dpqld admin init`",
    .database_error = "answer cache database error: ",
};

// ---------------------------------------------------------------------------

// The store's connection and its transactions (runtime/pg/transaction.h).
struct AnswerCache::Impl : TransactionRunner {
  using TransactionRunner::TransactionRunner;
};

AnswerCache::AnswerCache(const std::string& connection_string)
    : impl_(std::make_unique<Impl>(connection_string, kCacheErrors)) {}

AnswerCache::AnswerCache(pqxx::connection& connection)
    : impl_(std::make_unique<Impl>(connection, kCacheErrors)) {}

AnswerCache::~AnswerCache() = default;

CacheLookup AnswerCache::Find(const std::string& dataset, const std::string& plan_hash) {
  std::optional<std::string> stored;
  CacheLookup lookup;
  lookup.data_version = impl_->Autocommit([&](pqxx::transaction_base& txn) {
    pqxx::row row = txn.exec_prepared1(Prepared(txn, "dpql_cache_find", kFindSql), dataset, plan_hash);
    if (!row[1].is_null()) stored = row[1].as<std::string>();
    return row[0].as<int64_t>();
  });
  if (stored) lookup.answer = DecodeAnswer(*stored);
  return lookup;
}

bool AnswerCache::Store(const std::string& dataset, int64_t data_version, const std::string& plan_hash,
                        const QueryResult& answer, int64_t ledger_id, const std::string& query_text) {
  std::optional<std::string> encoded = EncodeAnswer(answer);
  if (!encoded) return false;
  std::string ledger = std::to_string(ledger_id);
  const char* ledger_param = ledger_id > 0 ? ledger.c_str() : nullptr;
  return impl_->Run([&](pqxx::work& txn) {
    // Not waiting for the flush to disk saves the engine a durable commit per
    // query. A crash can lose only the last moment's rows, and a lost row only
    // means its query is charged again when repeated: the debit that paid for
    // the answer was committed durably before the answer was read.
    txn.exec0("SET LOCAL synchronous_commit = off");
    return !txn.exec_prepared(Prepared(txn, "dpql_cache_store", kStoreSql), dataset, data_version, plan_hash,
                              *encoded, ledger_param, query_text)
                .empty();
  });
}

int64_t AnswerCache::BumpDataVersion(const std::string& dataset) {
  return impl_->Run([&](pqxx::work& txn) { return txn.exec_params1(kBumpSql, dataset)[0].as<int64_t>(); });
}

int64_t AnswerCache::DataVersion(const std::string& dataset) {
  return impl_->Run([&](pqxx::work& txn) { return txn.exec_params1(kVersionSql, dataset)[0].as<int64_t>(); });
}

}  // namespace dpql
