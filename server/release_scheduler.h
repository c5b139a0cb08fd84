#pragma once

// The release scheduler inside dpqld: a thread that wakes every
// `release_check_seconds`, reads the engine's clock and runs each scheduled
// release's latest due run (DueDay; earlier missed days are not caught up —
// `dpqld admin release run NAME --from D1 --to D2` runs them). Of several
// dpqld on one ledger only the holder of the lease in PostgreSQL runs
// releases (ReleaseLease); the durable run key is the second line of
// defence. Failures are logged with the release and its parameters (never a
// value) and never stop the server; a run refused for budget (release
// account or dataset cap) is tried again after 10 minutes, not at every check.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine.h"
#include "runtime/ledger/release_store.h"
#include "server/releases.h"

namespace dpql {

class ReleaseScheduler {
 public:
  ReleaseScheduler(Engine& engine, const std::vector<ReleaseDefinition>& releases,
                   const std::string& database, int interval_seconds, std::ostream& log);
  ~ReleaseScheduler();
  ReleaseScheduler(const ReleaseScheduler&) = delete;
  ReleaseScheduler& operator=(const ReleaseScheduler&) = delete;

  void Start();
  void Stop();
  // One pass (the thread's body; tests call it directly). Returns the runs
  // published or completed.
  int Tick();

 private:
  Engine& engine_;
  const std::vector<ReleaseDefinition>& releases_;
  ReleaseLease lease_;
  int interval_seconds_;
  std::ostream& log_;
  std::optional<bool> held_;  // whether the last pass held the lease (unset before the first)
  std::map<std::string, std::string> last_failure_;  // by release, to log a repeated failure once
  // By "release day": a run refused for budget is tried again only after
  // this (kBudgetRetry), so an unfunded release does not write an audit row
  // at every check.
  std::map<std::string, std::chrono::steady_clock::time_point> retry_after_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dpql
