#pragma once

// Rendering dpqld's JSON answers for people (psql-style aligned tables with
// `value ± half-width`) and for programs (CSV, JSON). Pure functions of the
// JSON, so they are unit-tested without a server.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpql {

enum class OutputFormat { kTable, kCsv, kJson };

// "table" | "csv" | "json" (case-insensitive); nullopt otherwise.
std::optional<OutputFormat> ParseOutputFormat(std::string_view name);
const char* OutputFormatName(OutputFormat format);

// A psql-style aligned table: header centred, a `-+-` separator, numbers
// right-aligned, text left-aligned, no trailing spaces. `right_align` may be
// shorter than `header` (missing = left).
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_align);

// Columns shown on screen, in UTF-8 code points (what a terminal shows for
// the text DPQL produces: ASCII, `±`, `ε`).
size_t DisplayWidth(std::string_view text);

// A decimal amount (ε, δ, bounds) for people: integers without a point,
// others with up to 6 decimals and no trailing zeros, tiny values like 1e-06.
// JSON strings (exact decimals) are shown as they are.
std::string FormatAmount(const nlohmann::json& amount);
std::string FormatAmount(double amount);

// A noisy value and its interval [lo, hi] as "value ± half-width", with
// half-width = max(value - lo, hi - value) rounded up: integers for integral
// values, otherwise 2 decimals (more when the half-width would show as 0).
std::string FormatNoisyValue(double value, double lo, double hi, bool integral);

// A /v1/query answer. The table without the footer; the footer line
// "(12 rows)  cost: ε 1  ·  budget left: ε 4  ·  95% intervals"; CSV with a
// header (noisy columns are followed by <col>_ci_lower,<col>_ci_upper);
// JSON as one compact line. An EXPLAIN answer ({"explain": ...}) renders as
// its plan text in table and CSV formats.
std::string FormatTable(const nlohmann::json& answer);
std::string FormatFooter(const nlohmann::json& answer);
std::string FormatCsv(const nlohmann::json& answer);
std::string FormatJson(const nlohmann::json& answer);

// The plan text of a /v1/explain answer followed by its would-be cost.
std::string FormatExplain(const nlohmann::json& answer);

// One CSV field, quoted (RFC 4180) when it holds a comma, quote, CR, LF or
// leading/trailing space.
std::string CsvField(std::string_view field);

// "ERROR [code]: message" (the server's stable code, as `dpqld compile`
// prints "error [code]:"; "ERROR: message" when `code` is empty), and when
// line/column (1-based, column in characters) are known and inside `query`,
// psql-style context:
//   LINE 2: FROM admisions
//                ^
std::string FormatErrorText(std::string_view code, std::string_view message, int line, int column,
                            std::string_view query);

// GET /v1/budget as a table: Dataset | ε total | ε spent | ε left | δ ...
std::string FormatBudgets(const nlohmann::json& answer);
// GET /v1/budget-requests as a table, newest first.
std::string FormatBudgetRequests(const nlohmann::json& answer);

// `\releases`: GET /v1/releases as a table (name, title, cost, schedule,
// latest day). `\release NAME`: each published run's day, then its answer
// as FormatTable shows a query's (value ± half-width).
std::string FormatReleases(const nlohmann::json& answer);
std::string FormatReleaseRuns(const nlohmann::json& answer);

// The dataset entry of a GET /v1/catalog answer: `name`, or the only /
// first one when `name` is empty; nullptr if there is none.
const nlohmann::json* FindDataset(const nlohmann::json& catalog, std::string_view name);
// `\d`: the dataset's tables. `\d TABLE`: its columns, types, bounds,
// domains; throws std::invalid_argument naming the known tables if absent.
std::string FormatTableList(const nlohmann::json& dataset);
std::string FormatTableDescription(const nlohmann::json& dataset, std::string_view table);

}  // namespace dpql
