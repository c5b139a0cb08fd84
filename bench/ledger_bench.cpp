// One budget debit round trip: the atomic UPDATE ... RETURNING plus its ledger
// row, committed. Needs a database: DPQL_BENCH_DATABASE=<libpq URL> (scripts/bench
// sets it); the benchmark creates its own analyst with a budget that lasts.

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "runtime/ledger/ledger.h"

namespace dpql {
namespace {

void BM_LedgerDebit(benchmark::State& state) {
  const char* url = std::getenv("DPQL_BENCH_DATABASE");
  if (url == nullptr) {
    state.SkipWithError("set DPQL_BENCH_DATABASE to a libpq URL to measure the ledger");
    return;
  }
  Ledger ledger{std::string(url)};
  ledger.Init();
  // Google Benchmark calls this several times (first to size the iteration
  // count), often within one second: each call adds its own analyst.
  static int calls = 0;
  const std::string name = "bench_" + std::to_string(getpid()) + "_" + std::to_string(time(nullptr)) + "_" +
                           std::to_string(++calls);
  ledger.AddAnalyst(name, "bench", BudgetCost::FromGrant(Rational(1'000'000), Rational(0)), false);
  const int64_t id = ledger.FindAnalyst(name)->id;
  const BudgetCost cost = BudgetCost::FromCost(Rational(1, 1000), Rational(0));
  for (auto _ : state) {
    DebitResult debit = ledger.Debit(id, "bench", cost, "SELECT COUNT(*) FROM bench");
    if (!debit.ok()) {
      state.SkipWithError("the benchmark budget ran out");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LedgerDebit)->UseRealTime();

}  // namespace
}  // namespace dpql
