#include "server/pg_text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/parser/parser.h"

namespace dpql::pgwire {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

// Skips whitespace and comments from `at`; returns the new position.
size_t SkipBlank(std::string_view sql, size_t at) {
  while (at < sql.size()) {
    if (IsSpace(sql[at])) {
      ++at;
    } else if (sql.compare(at, 2, "--") == 0) {
      size_t end = sql.find('\n', at);
      at = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (sql.compare(at, 2, "/*") == 0) {
      size_t end = sql.find("*/", at + 2);
      at = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  return at;
}

// The statement's words and values, split the simple way SET and SHOW need:
// words, quoted strings (unquoted), and the punctuation '=' and ','.
struct Token {
  std::string text;
  bool quoted = false;
};

std::vector<Token> Tokens(std::string_view sql) {
  std::vector<Token> out;
  size_t at = SkipBlank(sql, 0);
  while (at < sql.size()) {
    char c = sql[at];
    if (c == ';') {
      at = SkipBlank(sql, at + 1);
      if (at < sql.size()) {
        throw SqlStateError("42601", "one statement at a time: text follows the ';'",
                            "send each statement in its own query");
      }
      break;
    }
    if (c == '\'' || c == '"') {
      std::string text;
      size_t i = at + 1;
      bool closed = false;
      while (i < sql.size()) {
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            text += c;
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        text += sql[i++];
      }
      if (!closed) throw SqlStateError("42601", "unterminated quoted string");
      out.push_back({std::move(text), c == '\''});
      at = SkipBlank(sql, i);
      continue;
    }
    if (c == '=' || c == ',') {
      out.push_back({std::string(1, c), false});
      at = SkipBlank(sql, at + 1);
      continue;
    }
    size_t end = at;
    while (end < sql.size() && !IsSpace(sql[end]) && sql[end] != ';' && sql[end] != '=' && sql[end] != ',' &&
           sql[end] != '\'' && sql[end] != '"') {
      ++end;
    }
    out.push_back({std::string(sql.substr(at, end - at)), false});
    at = SkipBlank(sql, end);
  }
  return out;
}

bool Is(const Token& token, std::string_view word) { return !token.quoted && LowerAscii(token.text) == word; }

bool IsNumber(std::string_view text) {
  if (text.empty()) return false;
  size_t i = 0;
  if (text[0] == '-' || text[0] == '+') i = 1;
  bool digits = false, dot = false, exponent = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot && !exponent) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digits && !exponent) {
      exponent = true;
      digits = false;
      if (i + 1 < text.size() && (text[i + 1] == '-' || text[i + 1] == '+')) ++i;
    } else {
      return false;
    }
  }
  return digits;
}

bool IsInteger(std::string_view text) {
  size_t i = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  return i < text.size() && std::all_of(text.begin() + static_cast<ptrdiff_t>(i), text.end(),
                                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string ShortestDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  std::array<char, 32> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::to_string(value);
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (char c : bytes) value = value << 8 | static_cast<unsigned char>(c);
  return value;
}

std::string WriteBigEndian(uint64_t value, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) out[bytes - 1 - i] = static_cast<char>(value >> (8 * i) & 0xff);
  return out;
}

// PostgreSQL's binary dates count days from 2000-01-01.
constexpr int64_t kPostgresEpochDays = 10957;  // 2000-01-01 in days since 1970-01-01

void CheckNoNul(std::string_view text, int index) {
  if (text.find('\0') != std::string_view::npos) {
    throw SqlStateError("22021", "parameter $" + std::to_string(index) + " holds a NUL byte, which text cannot");
  }
}

[[noreturn]] void NotOfType(int index, std::string_view type, std::string_view what) {
  throw SqlStateError("22P02", "parameter $" + std::to_string(index) + " is not a valid " + std::string(type) +
                                   ": " + std::string(what));
}

std::string TextLiteral(const BoundParameter& parameter, int index) {
  const std::string& text = *parameter.value;
  CheckNoNul(text, index);
  switch (parameter.type_oid) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      if (!IsInteger(text)) NotOfType(index, "integer", "'" + text.substr(0, 40) + "'");
      return text;
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      if (!IsNumber(text)) NotOfType(index, "number", "'" + text.substr(0, 40) + "'");
      return text;
    case kBoolOid: {
      std::string lower = LowerAscii(text);
      if (lower == "t" || lower == "true" || lower == "on" || lower == "1" || lower == "yes") return "TRUE";
      if (lower == "f" || lower == "false" || lower == "off" || lower == "0" || lower == "no") return "FALSE";
      NotOfType(index, "boolean", "'" + text.substr(0, 40) + "'");
    }
    case kDateOid:
      if (!ParseDate(text)) NotOfType(index, "date", "'" + text.substr(0, 40) + "' (use YYYY-MM-DD)");
      return "DATE " + Quote(text);
    case 0:
    case kUnknownOid:
      return IsNumber(text) && text.find_first_of("eE") == std::string::npos ? text : Quote(text);
    default:
      return Quote(text);
  }
}

std::string BinaryLiteral(const BoundParameter& parameter, int index) {
  const std::string& bytes = *parameter.value;
  auto need = [&](size_t size, std::string_view type) {
    if (bytes.size() != size) {
      NotOfType(index, type, "binary value of " + std::to_string(bytes.size()) + " bytes, expected " +
                                 std::to_string(size));
    }
  };
  switch (parameter.type_oid) {
    case kInt2Oid:
      need(2, "smallint");
      return std::to_string(static_cast<int16_t>(ReadBigEndian(bytes)));
    case kInt4Oid:
      need(4, "integer");
      return std::to_string(static_cast<int32_t>(ReadBigEndian(bytes)));
    case kInt8Oid:
      need(8, "bigint");
      return std::to_string(static_cast<int64_t>(ReadBigEndian(bytes)));
    case kFloat4Oid: {
      need(4, "real");
      uint32_t raw = static_cast<uint32_t>(ReadBigEndian(bytes));
      float value;
      std::memcpy(&value, &raw, sizeof value);
      if (!std::isfinite(value)) NotOfType(index, "real", "not finite");
      return ShortestDouble(value);
    }
    case kFloat8Oid: {
      need(8, "double precision");
      uint64_t raw = ReadBigEndian(bytes);
      double value;
      std::memcpy(&value, &raw, sizeof value);
      if (!std::isfinite(value)) NotOfType(index, "double precision", "not finite");
      return ShortestDouble(value);
    }
    case kBoolOid:
      need(1, "boolean");
      return bytes[0] != 0 ? "TRUE" : "FALSE";
    case kDateOid: {
      need(4, "date");
      int64_t days = static_cast<int32_t>(ReadBigEndian(bytes)) + kPostgresEpochDays;
      return "DATE '" + FormatDate(days) + "'";
    }
    case 0:
    case kUnknownOid:
    case kTextOid:
    case kVarcharOid:
      CheckNoNul(bytes, index);
      return Quote(bytes);
    default:
      throw SqlStateError("0A000", "parameter $" + std::to_string(index) + " has type OID " +
                                       std::to_string(parameter.type_oid) + " in binary format, which DPQL cannot read",
                          "send it in text format, or as text, integer, double precision, boolean or date");
  }
}

// Calls `on_parameter(start, end, number)` for each $n outside literals,
// quoted identifiers and comments.
template <class F>
void ForEachPlaceholder(std::string_view sql, F&& on_parameter) {
  size_t at = 0;
  while (at < sql.size()) {
    char c = sql[at];
    if (c == '\'' || c == '"') {
      size_t i = at + 1;
      while (i < sql.size()) {
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      at = i + 1;
    } else if (sql.compare(at, 2, "--") == 0 || sql.compare(at, 2, "/*") == 0) {
      size_t next = SkipBlank(sql, at);
      at = next > at ? next : at + 1;
    } else if (c == '$' && at + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[at + 1])) &&
               (at == 0 || !IsWordChar(sql[at - 1]))) {
      size_t end = at + 1;
      while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) ++end;
      int number = 0;
      auto [ptr, ec] = std::from_chars(sql.data() + at + 1, sql.data() + end, number);
      if (ec != std::errc() || ptr != sql.data() + end) number = -1;
      on_parameter(at, end, number);
      at = end;
    } else {
      ++at;
    }
  }
}

}  // namespace

SessionCommand ClassifyCommand(std::string_view sql) {
  SessionCommand command;
  size_t start = SkipBlank(sql, 0);
  while (start < sql.size() && sql[start] == ';') start = SkipBlank(sql, start + 1);
  if (start == sql.size()) {
    command.kind = SessionCommand::Kind::kEmpty;
    return command;
  }
  size_t word_end = start;
  while (word_end < sql.size() && std::isalpha(static_cast<unsigned char>(sql[word_end]))) ++word_end;
  const std::string first = LowerAscii(sql.substr(start, word_end - start));
  static const std::vector<std::string> kOwn = {"begin", "start",    "commit",   "end",       "rollback",
                                                "abort", "set",      "reset",    "show",      "discard",
                                                "deallocate"};
  if (std::find(kOwn.begin(), kOwn.end(), first) == kOwn.end()) return command;
  std::vector<Token> tokens = Tokens(sql.substr(start));
  if (tokens.empty()) return command;
  auto only = [&](size_t count, std::string_view usage) {
    if (tokens.size() != count) throw SqlStateError("42601", "expected " + std::string(usage));
  };
  if (first == "begin" || first == "start") {
    if (first == "start" && (tokens.size() < 2 || !Is(tokens[1], "transaction"))) {
      throw SqlStateError("42601", "expected START TRANSACTION");
    }
    command.kind = SessionCommand::Kind::kBegin;
    command.tag = "BEGIN";
  } else if (first == "commit" || first == "end") {
    command.kind = SessionCommand::Kind::kCommit;
    command.tag = "COMMIT";
  } else if (first == "rollback" || first == "abort") {
    command.kind = SessionCommand::Kind::kRollback;
    command.tag = "ROLLBACK";
  } else if (first == "show") {
    if (tokens.size() >= 2 && (Is(tokens[1], "tables") || Is(tokens[1], "budget"))) return command;  // DPQL's
    // SHOW TRANSACTION ISOLATION LEVEL, as drivers ask it.
    if (tokens.size() == 4 && Is(tokens[1], "transaction") && Is(tokens[2], "isolation") && Is(tokens[3], "level")) {
      command.kind = SessionCommand::Kind::kShow;
      command.name = "transaction_isolation";
      command.tag = "SHOW";
      return command;
    }
    only(2, "SHOW name, e.g. SHOW dpql.dataset, or SHOW ALL");
    command.kind = SessionCommand::Kind::kShow;
    command.name = LowerAscii(tokens[1].text);
    command.tag = "SHOW";
  } else if (first == "reset") {
    only(2, "RESET name or RESET ALL");
    command.kind = SessionCommand::Kind::kReset;
    command.name = LowerAscii(tokens[1].text);
    command.tag = "RESET";
  } else if (first == "discard") {
    if (tokens.size() != 2 || !Is(tokens[1], "all")) {
      throw SqlStateError("0A000", "only DISCARD ALL is supported");
    }
    command.kind = SessionCommand::Kind::kDiscard;
    command.name = "all";
    command.tag = "DISCARD ALL";
  } else if (first == "deallocate") {
    size_t at = tokens.size() >= 2 && Is(tokens[1], "prepare") ? 2 : 1;
    if (tokens.size() != at + 1) throw SqlStateError("42601", "expected DEALLOCATE name or DEALLOCATE ALL");
    command.kind = SessionCommand::Kind::kDeallocate;
    command.name = Is(tokens[at], "all") ? "all" : tokens[at].text;
    command.tag = "DEALLOCATE";
  } else {  // set
    size_t at = 1;
    if (tokens.size() > 1 && Is(tokens[1], "local")) {
      throw SqlStateError("0A000", "SET LOCAL is not supported: DPQL has no transactions",
                          "use SET name = value, which lasts for the session");
    }
    if (tokens.size() > 1 && Is(tokens[1], "session")) at = 2;
    // SET TIME ZONE value, as JDBC and psql users write it.
    if (tokens.size() == at + 3 && Is(tokens[at], "time") && Is(tokens[at + 1], "zone")) {
      command.kind = SessionCommand::Kind::kSet;
      command.name = "timezone";
      command.value = tokens[at + 2].text;
      command.tag = "SET";
      return command;
    }
    if (tokens.size() < at + 3 || tokens[at].quoted ||
        !(tokens[at + 1].text == "=" || Is(tokens[at + 1], "to"))) {
      throw SqlStateError("42601", "expected SET name = value (or SET name TO value)",
                          "e.g. SET dpql.intervals = on");
    }
    command.kind = SessionCommand::Kind::kSet;
    command.name = LowerAscii(tokens[at].text);
    // A list (SET search_path = a, b) is kept as written, comma-separated.
    for (size_t i = at + 2; i < tokens.size(); ++i) {
      if (!command.value.empty() || tokens[i].text == ",") command.value += tokens[i].text == "," ? "," : " ";
      if (tokens[i].text != ",") command.value += tokens[i].text;
    }
    command.tag = "SET";
  }
  return command;
}

std::string BindParameters(std::string_view sql, const std::vector<BoundParameter>& parameters) {
  std::string out;
  size_t copied = 0;
  ForEachPlaceholder(sql, [&](size_t start, size_t end, int number) {
    if (number < 1 || static_cast<size_t>(number) > parameters.size()) {
      throw SqlStateError("08P01", "the query refers to $" + std::string(sql.substr(start + 1, end - start - 1)) +
                                       " but " + std::to_string(parameters.size()) + " parameter(s) were bound");
    }
    const BoundParameter& parameter = parameters[static_cast<size_t>(number - 1)];
    out.append(sql.substr(copied, start - copied));
    if (!parameter.value) {
      out += "NULL";
    } else if (parameter.format == 1) {
      out += BinaryLiteral(parameter, number);
    } else {
      out += TextLiteral(parameter, number);
    }
    copied = end;
  });
  out.append(sql.substr(copied));
  return out;
}

int CountParameters(std::string_view sql) {
  int highest = 0;
  ForEachPlaceholder(sql, [&](size_t, size_t, int number) { highest = std::max(highest, number); });
  return highest;
}

uint32_t TypeOid(std::string_view dpql_type) {
  if (dpql_type == "int") return kInt8Oid;
  if (dpql_type == "real") return kFloat8Oid;
  if (dpql_type == "date") return kDateOid;
  if (dpql_type == "bool") return kBoolOid;
  return kTextOid;
}

int16_t TypeSize(uint32_t oid) {
  switch (oid) {
    case kInt8Oid:
    case kFloat8Oid: return 8;
    case kDateOid:
    case kInt4Oid:
    case kOidOid: return 4;
    case kInt2Oid: return 2;
    case kBoolOid:
    case 18: return 1;  // "char"
    case 19: return 64;  // name
    default: return -1;
  }
}

std::optional<std::string> TextValue(const nlohmann::json& value, uint32_t oid) {
  if (value.is_null()) return std::nullopt;
  if (value.is_boolean()) return value.get<bool>() ? "t" : "f";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) {
    return value.is_number_unsigned() ? std::to_string(value.get<uint64_t>()) : std::to_string(value.get<int64_t>());
  }
  if (value.is_number_float()) {
    double number = value.get<double>();
    if (oid == kInt8Oid && std::nearbyint(number) == number && std::fabs(number) < 9.2e18) {
      return std::to_string(static_cast<int64_t>(number));
    }
    return ShortestDouble(number);
  }
  return value.dump();
}

std::optional<std::string> BinaryValue(const nlohmann::json& value, uint32_t oid) {
  if (value.is_null()) return std::nullopt;
  // The catalog answers carry integers (oids, attnum) as text.
  if (value.is_string() && (oid == kInt2Oid || oid == kInt4Oid || oid == kOidOid || oid == kInt8Oid)) {
    const std::string& text = value.get_ref<const std::string&>();
    int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec == std::errc() && end == text.data() + text.size()) {
      return WriteBigEndian(static_cast<uint64_t>(number), oid == kInt2Oid ? 2 : oid == kInt8Oid ? 8 : 4);
    }
  }
  switch (oid) {
    case kInt8Oid: {
      int64_t number = value.is_number_integer() ? value.get<int64_t>()
                                                 : static_cast<int64_t>(std::llround(value.get<double>()));
      return WriteBigEndian(static_cast<uint64_t>(number), 8);
    }
    case kFloat8Oid: {
      double number = value.get<double>();
      uint64_t raw;
      std::memcpy(&raw, &number, sizeof raw);
      return WriteBigEndian(raw, 8);
    }
    case kBoolOid: return std::string(1, value.get<bool>() ? '\1' : '\0');
    case kDateOid: {
      std::optional<int64_t> days = ParseDate(value.get<std::string>());
      if (!days) return TextValue(value, oid);
      return WriteBigEndian(static_cast<uint64_t>(static_cast<int32_t>(*days - kPostgresEpochDays)), 4);
    }
    default: return TextValue(value, oid);
  }
}

bool IsPlainNumber(std::string_view text) { return !text.empty() && text[0] != '-' && text[0] != '+' && IsNumber(text); }

namespace {

// The byte offset of 1-based line:column (columns count characters).
std::optional<size_t> ByteOffset(std::string_view text, uint32_t line, uint32_t column) {
  uint32_t current_line = 1, current_column = 1;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (current_line == line && current_column == column) return i;
    if (i == text.size()) break;
    if (text[i] == '\n') {
      ++current_line;
      current_column = 1;
    } else {
      ++current_column;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string WithSessionPrivacy(std::string_view sql, const std::vector<std::pair<std::string, std::string>>& options) {
  if (options.empty()) return std::string(sql);
  ast::Statement statement;
  try {
    statement = ParseStatement(sql);
  } catch (const DpqlError&) {
    return std::string(sql);
  }
  if ((statement.kind != ast::StatementKind::kSelect && statement.kind != ast::StatementKind::kExplain) ||
      !statement.select) {
    return std::string(sql);
  }
  const ast::SelectStmt& select = *statement.select;
  std::optional<size_t> start = ByteOffset(sql, statement.loc.line, statement.loc.column);
  if (!start || sql.compare(*start, statement.text.size(), statement.text) != 0) return std::string(sql);
  const size_t end = *start + statement.text.size();
  std::string clause = "WITH PRIVACY (";
  bool first = true;
  for (const ast::PrivacyOption& given : select.privacy) {
    clause += (first ? "" : ", ") + given.name + " = " + given.value;
    first = false;
  }
  bool added = false;
  for (const auto& [name, value] : options) {
    bool given = false;
    for (const ast::PrivacyOption& option : select.privacy) given |= option.name == name;
    if (given) continue;
    clause += (first ? "" : ", ") + name + " = " + value;
    first = false;
    added = true;
  }
  clause += ")";
  if (!added) return std::string(sql);
  if (select.privacy.empty()) {
    return std::string(sql.substr(0, end)) + " " + clause + std::string(sql.substr(end));
  }
  std::optional<size_t> clause_start = ByteOffset(sql, select.privacy_loc.line, select.privacy_loc.column);
  if (!clause_start || *clause_start >= end) return std::string(sql);
  return std::string(sql.substr(0, *clause_start)) + clause + std::string(sql.substr(end));
}

std::optional<int> CharacterPosition(std::string_view text, int line, int column) {
  if (line < 1 || column < 1) return std::nullopt;
  int current_line = 1, current_column = 1, position = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: same character
    if (current_line == line && current_column == column) return position;
    ++position;
    if (c == '\n') {
      ++current_line;
      current_column = 1;
    } else {
      ++current_column;
    }
  }
  if (current_line == line && current_column == column) return position;  // just past the end
  return std::nullopt;
}

}  // namespace dpql::pgwire
