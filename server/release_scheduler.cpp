#include "server/release_scheduler.h"

#include <chrono>

#include "compiler/common/error.h"

namespace dpql {

namespace {

constexpr std::chrono::minutes kBudgetRetry{10};

}  // namespace

ReleaseScheduler::ReleaseScheduler(Engine& engine, const std::vector<ReleaseDefinition>& releases,
                                   const std::string& database, int interval_seconds, std::ostream& log)
    : engine_(engine),
      releases_(releases),
      lease_(database),
      interval_seconds_(interval_seconds),
      log_(log) {}

ReleaseScheduler::~ReleaseScheduler() { Stop(); }

void ReleaseScheduler::Start() {
  bool any = false;
  for (const ReleaseDefinition& release : releases_) any = any || release.schedule.has_value();
  if (!any || thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      lock.unlock();
      Tick();
      lock.lock();
      wake_.wait_for(lock, std::chrono::seconds(interval_seconds_), [this] { return stop_; });
    }
  });
}

void ReleaseScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int ReleaseScheduler::Tick() {
  const bool held = lease_.Hold();
  if (!held_ || held != *held_) {
    log_ << (held ? "dpqld: release scheduler: this instance holds the release lease and runs scheduled "
                    "releases"
                  : "dpqld: release scheduler: the release lease is held elsewhere (or the database is "
                    "unreachable); this instance runs no scheduled release")
         << std::endl;
    held_ = held;
  }
  if (!held) return 0;
  int runs = 0;
  for (const ReleaseDefinition& release : releases_) {
    if (!release.schedule) continue;
    const std::string day = DueDay(*release.schedule, engine_.clock().Now());
    const std::string key = release.name + " " + day;
    const auto now = std::chrono::steady_clock::now();
    if (auto wait = retry_after_.find(key); wait != retry_after_.end() && now < wait->second) continue;
    std::string failure;
    try {
      ReleaseRunOutcome outcome = engine_.RunRelease(MakeReleaseRun(release, day, "scheduler"));
      if (outcome.state == ReleaseRunOutcome::State::kPublished ||
          outcome.state == ReleaseRunOutcome::State::kCompleted) {
        ++runs;
        log_ << "dpqld: release scheduler: " << release.name << " " << release.parameter.name << "=" << day
             << ": "
             << (outcome.state == ReleaseRunOutcome::State::kPublished ? "published (ledger "
                                                                       : "completed (paid earlier, ledger ")
             << outcome.ledger_id << ")" << std::endl;
      }
    } catch (const DpqlError& error) {
      failure = std::string(Name(error.code())) + ": " + error.message();
      if (error.code() == ErrorCode::kReleaseAccountExhausted ||
          error.code() == ErrorCode::kDatasetBudgetExhausted) {
        retry_after_[key] = now + kBudgetRetry;
      }
    } catch (const std::exception& error) {
      failure = std::string("unexpected error: ") + error.what();
    }
    std::string& last = last_failure_[release.name];
    if (!failure.empty() && failure != last) {
      log_ << "dpqld: release scheduler: " << release.name << " " << release.parameter.name << "=" << day
           << " failed: " << failure << " (tried again at a later check)" << std::endl;
    }
    last = failure;
  }
  return runs;
}

}  // namespace dpql
