#include "server/releases.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/yaml.h"
#include "server/form_reader.h"

namespace dpql {

namespace {

constexpr ErrorCode kCode = ErrorCode::kConfigError;

// "HH:MM" (24-hour) as minutes after midnight, or -1.
int ParseClockTime(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return -1;
  }
  const int hour = (text[0] - '0') * 10 + (text[1] - '0');
  const int minute = (text[3] - '0') * 10 + (text[4] - '0');
  if (hour > 23 || minute > 59) return -1;
  return hour * 60 + minute;
}

class Reader : public FormReader {
 public:
  using FormReader::FormReader;

  std::vector<ReleaseDefinition> Read(const YAML::Node& root) {
    const YAML::Node list = Entries(root, "releases", "occupancy: {title: ..., query: ...}");
    std::vector<ReleaseDefinition> out;
    for (const auto& entry : list) out.push_back(ReadRelease(entry.first, entry.second));
    return out;
  }

 private:
  ReleaseDefinition ReadRelease(const YAML::Node& key, const YAML::Node& node) {
    ReleaseDefinition release;
    release.name = Name(key, "releases", "release name");
    const std::string path = "releases." + release.name;
    Keys(node, path, {"title", "description", "dataset", "parameters", "query", "schedule", "hierarchy"},
         {"title", "parameters", "query"});
    release.title = Text(node["title"], path + ".title");
    if (node["description"]) release.description = Text(node["description"], path + ".description");
    const Dataset& dataset = DatasetOf(node, path);
    release.dataset = dataset.name;

    const YAML::Node& parameters = node["parameters"];
    if (!parameters.IsMap() || parameters.size() != 1) {
      yaml_.Fail(parameters, path + ".parameters", kCode,
                 "expected exactly one parameter, of type date (the day a run is for), e.g. "
                 "`day: {type: date, default: 2026-11-27}`; got " +
                     DescribeYamlNode(parameters));
    }
    for (const auto& entry : parameters) {
      release.parameter = ReadParameter(entry.first, entry.second, path + ".parameters", dataset);
      if (release.parameter.type != "date") {
        yaml_.Fail(entry.second["type"], path + ".parameters." + release.parameter.name + ".type", kCode,
                   "a release's parameter must be of type date (the day a run is for), got '" +
                       release.parameter.type + "'");
      }
    }
    release.query = Text(node["query"], path + ".query");
    std::vector<ReleaseQuery> queries;
    queries.push_back({release.name, CheckQuery(node["query"], path + ".query", release.query,
                                                {release.parameter}, dataset)});
    if (const YAML::Node& schedule = node["schedule"])
      release.schedule = ReadSchedule(schedule, path + ".schedule");
    if (const YAML::Node& hierarchy = node["hierarchy"]) {
      if (!hierarchy.IsMap() || hierarchy.size() == 0) {
        yaml_.Fail(hierarchy, path + ".hierarchy", kCode,
                   "expected a mapping of higher levels by name, lowest first, e.g. `trust: {query: ..., "
                   "from: {table: wards, child: ward_code, parent: trust}}`; got " +
                       DescribeYamlNode(hierarchy));
      }
      for (const auto& entry : hierarchy) {
        ReleaseHierarchyLevel level;
        level.level = Name(entry.first, path + ".hierarchy", "level name");
        const std::string at = path + ".hierarchy." + level.level;
        // `from` maps the level below's key to this level's; an ungrouped
        // top level ("all") needs none.
        Keys(entry.second, at, {"query", "from"}, {"query"});
        level.query = Text(entry.second["query"], at + ".query");
        if (const YAML::Node& from = entry.second["from"]) {
          Keys(from, at + ".from", {"table", "child", "parent"}, {"table", "child", "parent"});
          level.table = Text(from["table"], at + ".from.table");
          level.child = Text(from["child"], at + ".from.child");
          level.parent = Text(from["parent"], at + ".from.parent");
          const CatalogTable& table = PublicTable(from["table"], at + ".from.table", dataset, level.table);
          Column(from["child"], at + ".from.child", table, level.child);
          Column(from["parent"], at + ".from.parent", table, level.parent);
        }
        queries.push_back(
            {level.level,
             CheckQuery(entry.second["query"], at + ".query", level.query, {release.parameter}, dataset),
             level.table, level.child, level.parent});
        release.hierarchy.push_back(std::move(level));
      }
    }
    try {
      release.cost = Engine::ReleaseCost(dataset, queries);
    } catch (const DpqlError& error) {
      yaml_.Fail(node["hierarchy"] ? node["hierarchy"] : node["query"],
                 path + (node["hierarchy"] ? ".hierarchy" : ".query"), kCode, error.message());
    }
    return release;
  }

  ReleaseSchedule ReadSchedule(const YAML::Node& node, const std::string& path) const {
    Keys(node, path, {"every", "at", "day"}, {"every", "at"});
    ReleaseSchedule schedule;
    const std::string every = Text(node["every"], path + ".every");
    if (every != "day") {
      yaml_.Fail(node["every"], path + ".every", kCode, "unknown period '" + every + "'; use `every: day`");
    }
    const std::string at = Text(node["at"], path + ".at");
    schedule.at_minutes = ParseClockTime(at);
    if (schedule.at_minutes < 0) {
      yaml_.Fail(node["at"], path + ".at", kCode,
                 "expected a UTC time of day HH:MM in quotes, e.g. at: \"06:00\", got '" + at + "'");
    }
    if (node["day"]) {
      const std::string day = Text(node["day"], path + ".day");
      if (day == "yesterday") {
        schedule.day_offset = 1;
      } else if (day == "today") {
        schedule.day_offset = 0;
      } else {
        yaml_.Fail(node["day"], path + ".day", kCode, "unknown day '" + day + "'; use yesterday or today");
      }
    }
    return schedule;
  }
};

}  // namespace

std::vector<ReleaseDefinition> ParseReleases(const std::string& yaml_text, const std::string& source,
                                             const Catalog& catalog) {
  YamlDocument document = ParseYaml(yaml_text);
  if (document.error) {
    throw DpqlError(kCode, source + ":" + std::to_string(document.error->at.line) +
                               ": not valid YAML: " + document.error->message);
  }
  return Reader(source, catalog).Read(document.root);
}

std::vector<ReleaseDefinition> LoadReleases(const std::string& path, const Catalog& catalog) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DpqlError(kCode, "cannot read the releases file " + path +
                               " (config key `releases`, relative to the config file); check the path");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseReleases(text.str(), path, catalog);
}

ReleaseRunRequest MakeReleaseRun(const ReleaseDefinition& release, const std::string& day,
                                 const std::string& origin) {
  if (!IsFormDate(day) || !ParseDate(day)) {
    throw DpqlError(
        ErrorCode::kInvalidParameter,
        "release " + release.name + ": expected a day YYYY-MM-DD, got '" + day.substr(0, 40) + "'");
  }
  DashboardParameter parameter = release.parameter;
  parameter.default_value = day;
  ReleaseRunRequest request;
  request.release = release.name;
  request.dataset = release.dataset;
  request.parameters = parameter.name + "=" + day;
  request.day = day;
  request.origin = origin;
  request.queries.push_back({release.name, SubstituteDefaults(release.query, {parameter})});
  for (const ReleaseHierarchyLevel& level : release.hierarchy) {
    request.queries.push_back(
        {level.level, SubstituteDefaults(level.query, {parameter}), level.table, level.child, level.parent});
  }
  return request;
}

std::string DueDay(const ReleaseSchedule& schedule, TimePoint now) {
  const int64_t today = DayOf(now);
  const auto since_midnight =
      std::chrono::duration_cast<std::chrono::minutes>(now - StartOfDay(today)).count();
  // Before today's hour the latest due run is yesterday's.
  const int64_t run_on = since_midnight >= schedule.at_minutes ? today : today - 1;
  return FormatDate(run_on - schedule.day_offset);
}

std::string DescribeSchedule(const std::optional<ReleaseSchedule>& schedule) {
  if (!schedule) return "by hand (dpqld admin release run)";
  char at[16];
  std::snprintf(at, sizeof at, "%02d:%02d", schedule->at_minutes / 60, schedule->at_minutes % 60);
  return std::string("daily at ") + at + " UTC for " +
         (schedule->day_offset == 1 ? "the day before" : "that day");
}

const ReleaseDefinition* FindRelease(const std::vector<ReleaseDefinition>& releases,
                                     const std::string& name) {
  for (const ReleaseDefinition& release : releases) {
    if (release.name == name) return &release;
  }
  return nullptr;
}

}  // namespace dpql
