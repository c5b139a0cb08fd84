// Releases (\releases, \release NAME) as tables.

#include <string>
#include <vector>

#include "repl/format.h"
#include "repl/format_cells.h"

namespace dpql {

namespace {

using json = nlohmann::json;
using namespace format_cells;

std::string CostText(const json& cost) {
  if (!cost.is_object()) return "";
  std::string text = "\xCE\xB5 " + FormatAmount(Member(cost, "epsilon"));
  const json& delta = Member(cost, "delta");
  if (!delta.is_null() && FormatAmount(delta) != "0") text += ", \xCE\xB4 " + FormatAmount(delta);
  const json& rho = Member(cost, "rho");
  if (!rho.is_null()) text += ", \xCF\x81 " + FormatAmount(rho);
  return text;
}

}  // namespace

std::string FormatReleases(const json& answer) {
  const json& releases = Member(answer, "releases");
  std::vector<std::vector<std::string>> rows;
  if (releases.is_array()) {
    for (const json& release : releases) {
      const json& latest = Member(release, "latest");
      rows.push_back({CellText(Member(release, "name")), CellText(Member(release, "title")),
                      CostText(Member(release, "cost")), CellText(Member(release, "schedule_text")),
                      latest.is_object() ? CellText(Member(latest, "day")) : std::string("-")});
    }
  }
  std::string text = RenderTable({"release", "title", "cost per run (paid once)", "schedule", "latest"}, rows,
                                 {false, false, false, false, false});
  text += "(" + std::to_string(rows.size()) + (rows.size() == 1 ? " release" : " releases") +
          "; reading one is free: \\release NAME [FROM [TO]])";
  return text;
}

std::string FormatReleaseRuns(const json& answer) {
  const json& runs = Member(answer, "runs");
  std::string text = CellText(Member(answer, "release")) + ": " + CellText(Member(answer, "title")) + "\n";
  if (!runs.is_array() || runs.empty()) return text + "(no published run in this range)";
  for (const json& run : runs) {
    text +=
        "\n" + CellText(Member(run, "day")) + " (published " + CellText(Member(run, "published_at")) + ")\n";
    const json& levels = Member(run, "levels");
    if (levels.is_array() && !levels.empty()) {
      for (const json& level : levels) {
        text += "level " + CellText(Member(level, "level")) + "\n" + FormatTable(level);
      }
    } else {
      text += FormatTable(run);
    }
  }
  text += "\n(" + std::to_string(runs.size()) + (runs.size() == 1 ? " published day" : " published days") +
          "; read free: published answers cost no budget)";
  return text;
}

}  // namespace dpql
