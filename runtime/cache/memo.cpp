#include "runtime/cache/memo.h"

namespace dpql {

size_t EstimateBytes(const PreparedSelect& prepared, size_t text_size) {
  // The bound expression trees grow with the text; the SQL is held once more
  // in its canonical form.
  size_t bytes = 4096 + 32 * text_size + 2 * prepared.plan.sql.size();
  for (const std::string& param : prepared.plan.params) bytes += 32 + param.size();
  return bytes;
}

size_t EstimateBytes(const QueryResult& answer) {
  size_t bytes = 512;
  for (const std::string& note : answer.notes) bytes += 32 + note.size();
  for (const BiasNote& note : answer.bias) {
    bytes += 96 + note.code.size() + note.message.size();
    for (const std::string& output : note.outputs) bytes += 32 + output.size();
  }
  for (const auto& row : answer.rows) {
    bytes += 32 + row.size() * sizeof(Value);
    for (const Value& value : row) {
      if (const std::string* text = std::get_if<std::string>(&value)) bytes += text->size();
    }
  }
  for (const auto& row : answer.intervals) bytes += 32 + row.size() * sizeof(std::optional<Interval>);
  return bytes;
}

}  // namespace dpql
