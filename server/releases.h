#pragma once

// The releases file (config key `releases:`; docs/OPERATIONS.md, "The releases
// file"): named, scheduled DPQL queries paid once from the dataset's release
// account and then served free (runtime/engine_release.cpp). Read and
// validated once at start-up like the dashboards file — every key, the date
// parameter's default, the schedule, and every query compiled with the
// default substituted — so a mistake stops the server with "file:line:
// path: what is wrong and what to write instead".

#include <optional>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/clock.h"
#include "runtime/engine.h"
#include "server/dashboards.h"

namespace dpql {

// `schedule: {every: day, at: "06:00", day: yesterday}`: daily at `at` (UTC)
// for the day `day_offset` days before it (1 = yesterday, 0 = today).
struct ReleaseSchedule {
  int at_minutes = 6 * 60;
  int day_offset = 1;
};

// A higher level of a hierarchy: its query, and the public table mapping
// a key of the level below (child) to this level's key (parent).
struct ReleaseHierarchyLevel {
  std::string level;
  std::string query;
  std::string table, child, parent;
};

struct ReleaseDefinition {
  std::string name;
  std::string title;
  std::string description;
  std::string dataset;
  DashboardParameter parameter;             // the one date parameter (e.g. `day`)
  std::string query;                        // with {{day}} placeholders
  std::optional<ReleaseSchedule> schedule;  // none: run by hand only
  std::vector<ReleaseHierarchyLevel> hierarchy;
  BudgetCost cost;  // of one run: the sum of its queries' costs
};

std::vector<ReleaseDefinition> ParseReleases(const std::string& yaml_text, const std::string& source,
                                             const Catalog& catalog);
std::vector<ReleaseDefinition> LoadReleases(const std::string& path, const Catalog& catalog);

// The run of `release` for `day` (YYYY-MM-DD): its durable key and its
// queries with the day substituted. Throws "invalid_parameter" for a bad day.
ReleaseRunRequest MakeReleaseRun(const ReleaseDefinition& release, const std::string& day,
                                 const std::string& origin);

// The latest day whose run is due at `now` under `schedule`, YYYY-MM-DD.
std::string DueDay(const ReleaseSchedule& schedule, TimePoint now);

// "daily at 06:00 UTC for the day before"
std::string DescribeSchedule(const std::optional<ReleaseSchedule>& schedule);

const ReleaseDefinition* FindRelease(const std::vector<ReleaseDefinition>& releases, const std::string& name);

}  // namespace dpql
