#pragma once

// The text work of the PostgreSQL front end (server/pg_server.cpp), apart
// from its sockets so it can be tested alone: which statements the session
// answers itself (SET, SHOW, BEGIN, ...), how a bound parameter becomes a
// DPQL literal, how DPQL's values and types become PostgreSQL's, and where
// an error's line:column falls in the query as a character position.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dpql::pgwire {

// PostgreSQL type OIDs (pg_type.dat) of the types DPQL answers with and
// accepts as parameters.
inline constexpr uint32_t kBoolOid = 16;
inline constexpr uint32_t kInt8Oid = 20;
inline constexpr uint32_t kInt2Oid = 21;
inline constexpr uint32_t kInt4Oid = 23;
inline constexpr uint32_t kTextOid = 25;
inline constexpr uint32_t kOidOid = 26;
inline constexpr uint32_t kFloat4Oid = 700;
inline constexpr uint32_t kFloat8Oid = 701;
inline constexpr uint32_t kUnknownOid = 705;
inline constexpr uint32_t kVarcharOid = 1043;
inline constexpr uint32_t kDateOid = 1082;
inline constexpr uint32_t kNumericOid = 1700;

// A refusal with its SQLSTATE (the session answers it with an ErrorResponse).
class SqlStateError : public std::runtime_error {
 public:
  SqlStateError(std::string sqlstate, const std::string& message, std::string hint = "")
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)), hint_(std::move(hint)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string sqlstate_;
  std::string hint_;
};

// A statement the session answers without the engine.
struct SessionCommand {
  enum class Kind {
    kNone,        // not one of these: DPQL's, or a catalog query
    kEmpty,       // only whitespace, comments and semicolons
    kBegin,       // BEGIN, START TRANSACTION
    kCommit,      // COMMIT, END
    kRollback,    // ROLLBACK, ABORT
    kSet,         // SET [SESSION] name {= | TO} value
    kReset,       // RESET name | RESET ALL (name "all")
    kShow,        // SHOW name | SHOW ALL (name "all"); not SHOW TABLES / SHOW BUDGET, which are DPQL's
    kDiscard,     // DISCARD ALL
    kDeallocate,  // DEALLOCATE [PREPARE] name | ALL (name "all")
  };
  Kind kind = Kind::kNone;
  std::string name;   // lower-cased setting or statement name
  std::string value;  // SET's value, unquoted
  std::string tag;    // the CommandComplete tag: "BEGIN", "SET", ...
};

// Classifies one statement's text (a trailing ';' is fine). Throws
// SqlStateError for a malformed SET or SHOW (42601) and SET LOCAL (0A000).
SessionCommand ClassifyCommand(std::string_view sql);

// One bound parameter as Bind delivers it.
struct BoundParameter {
  uint32_t type_oid = 0;  // from Parse; 0: unspecified
  int16_t format = 0;     // 0 text, 1 binary
  std::optional<std::string> value;  // nullopt: NULL
};

// Replaces $1, $2, ... outside string literals, quoted identifiers and
// comments by DPQL literals of the parameters: numbers as numbers, dates as
// DATE '...', booleans as TRUE/FALSE, text as a quoted string; an
// unspecified type (0) is a number when its text is one, else a string.
// Throws SqlStateError: a $n without a parameter (08P01), a value that is
// not of its type (22P02), a binary format for a type DPQL has no binary
// reading of (0A000).
std::string BindParameters(std::string_view sql, const std::vector<BoundParameter>& parameters);

// The highest $n in `sql` (outside literals and comments), 0 for none.
int CountParameters(std::string_view sql);

// A DPQL value type name ("int", "real", "text", "date", "bool", "null": the
// API's column_types) as a PostgreSQL type OID and its size (-1: variable).
uint32_t TypeOid(std::string_view dpql_type);
int16_t TypeSize(uint32_t oid);  // -1: variable length

// A JSON value of the API's rows as PostgreSQL's text or binary format of
// `oid`; nullopt for NULL.
std::optional<std::string> TextValue(const nlohmann::json& value, uint32_t oid);
std::optional<std::string> BinaryValue(const nlohmann::json& value, uint32_t oid);

// A SELECT or EXPLAIN with the session's default privacy options added
// where the query does not give them itself: `options` are (name, value)
// pairs such as ("epsilon", "0.5"), ("confidence", "0.9"), their values
// already checked. Anything else — other statements, text that does not parse
// (the engine reports it) — comes back unchanged.
std::string WithSessionPrivacy(std::string_view sql, const std::vector<std::pair<std::string, std::string>>& options);

// Whether `text` is a plain decimal number (digits, one optional '.', an
// optional exponent), as SET dpql.epsilon and dpql.confidence take.
bool IsPlainNumber(std::string_view text);

// The 1-based character (not byte) position of line:column (1-based, as
// DPQL's errors count them) in `text`; nullopt if it lies outside.
std::optional<int> CharacterPosition(std::string_view text, int line, int column);

}  // namespace dpql::pgwire
