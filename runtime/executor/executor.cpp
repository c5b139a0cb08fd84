#include "runtime/executor/executor.h"

#include <pqxx/pqxx>

#include <optional>

#include "compiler/common/error.h"
#include "runtime/pg/database_errors.h"

namespace dpql {

namespace {

// The cells of one group's histogram from the SQL's "bin:count,..." text
// (NULL when the group has no rows with a value).
std::vector<BigInt> ParseHistogram(const pqxx::field& field, const Measure& measure) {
  std::vector<BigInt> cells(static_cast<size_t>(measure.bins), BigInt(0));
  if (field.is_null()) return cells;
  const std::string text = field.c_str();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t colon = text.find(':', pos);
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (colon == std::string::npos || colon > comma) {
      throw DpqlError(ErrorCode::kInternal, "unexpected histogram text");
    }
    const int64_t bin = std::stoll(text.substr(pos, colon - pos));
    if (bin < 0 || bin >= measure.bins) {
      throw DpqlError(ErrorCode::kInternal, "histogram bin out of range");
    }
    // A sharded or federated dataset's text lists each server's bins in
    // turn (WrapForFanOut): a bin's counts add up.
    cells[static_cast<size_t>(bin)] += BigInt(text.substr(colon + 1, comma - colon - 1));
    pos = comma + 1;
  }
  return cells;
}

// The rows of the plan's result: keys as text, measures as integers, then
// one "bin:count,..." column per histogram measure.
void ReadRows(const Plan& plan, const pqxx::result& rows, ExactAggregates& exact) {
  const size_t keys = plan.select.keys.size();
  const size_t measures = plan.measures.size();
  std::vector<size_t> histogram_measures;
  for (size_t m = 0; m < measures; ++m) {
    if (plan.measures[m].kind == MeasureKind::kHistogram) histogram_measures.push_back(m);
  }
  if (rows.columns() != keys + measures + histogram_measures.size()) {
    throw DpqlError(ErrorCode::kInternal, "unexpected result shape");
  }
  exact.keys.reserve(rows.size());
  exact.measures.reserve(rows.size());
  for (const auto& row : rows) {
    std::vector<std::optional<std::string>> key_values;
    for (size_t k = 0; k < keys; ++k) {
      if (row[static_cast<int>(k)].is_null()) {
        key_values.emplace_back();
      } else {
        key_values.emplace_back(row[static_cast<int>(k)].c_str());
      }
    }
    std::vector<BigInt> measure_values;
    for (size_t m = 0; m < measures; ++m) {
      // Measures are whole numbers (sums of integers); numeric output may
      // still carry a ".0" suffix-free text, which BigInt parses directly.
      measure_values.emplace_back(row[static_cast<int>(keys + m)].c_str());
    }
    // After the measures: one text column per histogram measure, in order.
    std::vector<std::vector<BigInt>> histograms(measures);
    for (size_t h = 0; h < histogram_measures.size(); ++h) {
      const size_t m = histogram_measures[h];
      histograms[m] = ParseHistogram(row[static_cast<int>(keys + measures + h)], plan.measures[m]);
    }
    exact.keys.push_back(std::move(key_values));
    exact.measures.push_back(std::move(measure_values));
    exact.histograms.push_back(std::move(histograms));
  }
}

}  // namespace

void QueryCancel::Cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  if (running_ == nullptr) return;
  try {
    running_->cancel_query();  // PQcancel: safe while another thread waits on the connection
  } catch (const std::exception&) {
    // Nothing to cancel any more, or the server cannot be reached: the
    // statement then ends by itself; its result is discarded either way.
  }
}

bool QueryCancel::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

bool QueryCancel::Begin(pqxx::connection& connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancelled_) return false;
  running_ = &connection;
  return true;
}

void QueryCancel::End() {
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = nullptr;
}

ExactAggregates Executor::RunExact(const Plan& plan) { return RunExact(plan, pool_.Acquire()); }

ExactAggregates Executor::RunExact(const Plan& plan, ConnectionPool::Lease first) {
  return RunExact(plan, std::move(first), nullptr);
}

ExactAggregates Executor::RunExact(const Plan& plan, ConnectionPool::Lease first, QueryCancel* cancel) {
  std::optional<ConnectionPool::Lease> connection(std::move(first));
  const int max_attempts = static_cast<int>(pool_.size()) + 1;
  for (int attempt = 1;; ++attempt) {
    if (!connection) connection.emplace(pool_.Acquire());
    bool sent = false;
    auto sent_at = std::chrono::steady_clock::now();
    auto query_failed = [&](const std::string& detail) {
      DatabaseFailure failure(ErrorCode::kQueryFailed, QueryFailedMessage(statement_timeout_ms_), detail);
      failure.respond_at = RespondAt(sent_at);
      return failure;
    };
    auto session_lost = [&](const std::string& detail) {
      connection->Discard();
      return DatabaseUnavailable("the connection to PostgreSQL was lost" +
                                 std::string(sent ? " while the query ran" : "") + " (" + detail +
                                 "); try again");
    };
    // Holds the connection for `cancel` until the transaction is over (also
    // when it throws), before the lease can go back to the pool.
    struct Held {
      QueryCancel* cancel;
      ~Held() {
        if (cancel != nullptr) cancel->End();
      }
    };
    if (cancel != nullptr && !cancel->Begin(**connection)) {
      throw DpqlError(ErrorCode::kInternal, "the query was cancelled before it was sent");
    }
    try {
      Held held{cancel};
      ExactAggregates exact;
      pqxx::read_transaction txn(**connection);
      txn.exec0("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms_));
      sent_at = std::chrono::steady_clock::now();
      sent = true;
      pqxx::result rows = txn.exec_params(plan.sql, pqxx::prepare::make_dynamic_params(plan.params));
      ReadRows(plan, rows, exact);
      txn.commit();
      return exact;
    } catch (const pqxx::in_doubt_error& e) {
      // The read-only transaction's COMMIT met a lost connection: nothing to undo.
      throw session_lost(DescribeForLog(e));
    } catch (const pqxx::broken_connection& e) {
      DpqlError lost = session_lost(DescribeForLog(e));
      // Lost before the SQL went out (a connection that died while idle):
      // nothing ran, so another connection may run it.
      if (!sent && attempt < max_attempts) {
        connection.reset();
        continue;
      }
      throw lost;
    } catch (const pqxx::failure& e) {
      const std::string sqlstate = SqlStateOf(e);
      // A shard or site that stopped answering (dpql.fan_out): the
      // coordinator's session itself is fine.
      if (auto site = UnavailableSite(e.what())) {
        throw SiteUnavailable(*plan.select.dataset, *site, !sent);
      }
      if (SessionEnded(sqlstate)) {
        DpqlError lost = session_lost(DescribeForLog(e));
        if (!sent && attempt < max_attempts) {
          connection.reset();
          continue;
        }
        throw lost;
      }
      // PostgreSQL's message (and even its SQLSTATE: 22003 or 22012, a
      // timeout or not) can depend on the data: the administrator's only.
      throw query_failed(DescribeForLog(e));
    } catch (const DatabaseFailure&) {
      throw;
    } catch (const std::exception& e) {
      // A result that cannot be read is as much a failure of this query.
      throw query_failed(std::string("the result could not be read: ") + OnOneLine(e.what()));
    }
  }
}

}  // namespace dpql
