// The error-code table (compiler/common/error_codes.h) is what every front
// end reads: its rows must be well formed, and docs/API.md must list every
// code a client can receive, with the status and SQLSTATE the table gives.

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "compiler/common/error.h"
#include "server/json_result.h"

namespace dpql {
namespace {

std::string ReadDoc(const std::string& relative) {
  std::ifstream in(DPQL_SOURCE_DIR_DEFAULT "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ErrorCodes, RowsAreWellFormedAndNamesUnique) {
  std::set<std::string_view> names;
  for (const ErrorCodeInfo& info : kErrorCodes) {
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate code " << info.name;
    EXPECT_FALSE(info.name.empty());
    for (char c : info.name)
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || c == '_') << info.name;
    ASSERT_EQ(info.sqlstate.size(), 5u) << info.name;
    for (char c : info.sqlstate) {
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)))
          << info.name << " " << info.sqlstate;
    }
    EXPECT_GE(info.http_status, 400) << info.name;
    EXPECT_LE(info.http_status, 599) << info.name;
  }
}

TEST(ErrorCodes, StatusFollowsTheKind) {
  for (const ErrorCodeInfo& info : kErrorCodes) {
    switch (info.kind) {
      case ErrorKind::kSyntax:
      case ErrorKind::kSemantic:
      case ErrorKind::kPrivacy: EXPECT_EQ(info.http_status, 400) << info.name; break;
      case ErrorKind::kAuth: EXPECT_EQ(info.http_status, 401) << info.name; break;
      case ErrorKind::kNotFound: EXPECT_EQ(info.http_status, 404) << info.name; break;
      case ErrorKind::kBudget:
        EXPECT_TRUE(info.http_status == 403 || info.http_status == 409) << info.name;
        break;
      case ErrorKind::kLimit: EXPECT_EQ(info.http_status, 413) << info.name; break;
      case ErrorKind::kCatalog:
      case ErrorKind::kInternal: EXPECT_GE(info.http_status, 500) << info.name; break;
      case ErrorKind::kRequest: break;
    }
  }
}

TEST(ErrorCodes, NamesFindTheirCode) {
  for (size_t i = 0; i < std::size(kErrorCodes); ++i) {
    ErrorCode found{};
    ASSERT_TRUE(FindErrorCode(kErrorCodes[i].name, found));
    EXPECT_EQ(static_cast<size_t>(found), i);
  }
  ErrorCode unused{};
  EXPECT_FALSE(FindErrorCode("no_such_code", unused));
  static_assert(Name(ErrorCode::kUnknownColumn) == "unknown_column");
}

// Internal errors reach a client with a fixed message (internal_error, or
// database_unavailable / ledger_not_initialised with their own), never with
// the text they were thrown with. The two exceptions carry text the server
// composed itself and keep PostgreSQL's words apart (DatabaseFailure's
// admin_detail, runtime/pg/database_errors.h): query_failed and not_ready.
TEST(ErrorCodes, InternalTextNeverReachesAClient) {
  const std::string secret = "SQLSTATE 22003: value 123456 out of range";
  for (size_t i = 0; i < std::size(kErrorCodes); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    HttpError http = ToHttpError(DpqlError(code, secret));
    // Their messages are made by one function each, from fixed text and the
    // catalog's names only (QueryFailedMessage, Readiness, SiteUnavailable).
    if (code == ErrorCode::kQueryFailed || code == ErrorCode::kNotReady || code == ErrorCode::kSiteUnavailable) {
      EXPECT_EQ(http.code, code);
      EXPECT_EQ(http.status, Info(code).http_status);
    } else if (Info(code).kind == ErrorKind::kInternal || Info(code).kind == ErrorKind::kCatalog) {
      EXPECT_EQ(http.message.find("123456"), std::string::npos) << Name(code);
    } else {
      EXPECT_EQ(http.code, code);
      EXPECT_EQ(http.status, Info(code).http_status);
    }
  }
}

// docs/API.md's "Every code" table: `code` | kind | status | SQLSTATE.
TEST(ErrorCodes, ApiDocListsEveryCodeAClientCanReceive) {
  const std::string doc = ReadDoc("docs/API.md");
  ASSERT_FALSE(doc.empty());
  std::map<std::string, std::string> documented;
  std::regex row(R"(\n\| `([a-z_]+)` \| `([a-z_]+)` \| (\d{3}) \| `([0-9A-Z]{5})` \|)");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    documented[m[1]] = std::string(m[2]) + " " + std::string(m[3]) + " " + std::string(m[4]);
  }
  std::set<std::string> visible;
  for (size_t i = 0; i < std::size(kErrorCodes); ++i) {
    HttpError http = ToHttpError(DpqlError(static_cast<ErrorCode>(i), "m"));
    visible.insert(std::string(Name(http.code)));
  }
  for (const std::string& name : visible) {
    ErrorCode code{};
    ASSERT_TRUE(FindErrorCode(name, code));
    const ErrorCodeInfo& info = Info(code);
    std::string expected = std::string(ErrorKindName(info.kind)) + " " + std::to_string(info.http_status) +
                           " " + std::string(info.sqlstate);
    auto found = documented.find(name);
    if (found == documented.end()) {
      ADD_FAILURE() << "docs/API.md does not list " << name << " (| `" << name << "` | `"
                    << ErrorKindName(info.kind) << "` | " << info.http_status << " | `" << info.sqlstate
                    << "` |)";
    } else {
      EXPECT_EQ(found->second, expected) << name;
    }
  }
  for (const auto& [name, row] : documented) {
    EXPECT_TRUE(visible.count(name)) << "docs/API.md lists " << name << ", which no client receives";
  }
}

}  // namespace
}  // namespace dpql
