#pragma once

// Every error DPQL reports, in one table: its stable code (the JSON "code",
// the REPL's and the CLI's), its family (the JSON "kind"), the HTTP status
// the server answers with, and the SQLSTATE a PostgreSQL-protocol client
// gets. Front ends read the table; no code outside it compares code text.
// docs/API.md lists the codes a client can see.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dpql {

// The stage an error comes from: the JSON "kind" (ErrorKindName).
enum class ErrorKind : uint8_t {
  kSyntax,    // the text does not parse
  kSemantic,  // parses, but names/types/shape are wrong
  kPrivacy,   // well-formed, but would not be private (always refused)
  kCatalog,   // the guardian's catalog is invalid
  kBudget,    // the analyst cannot afford the query
  kAuth,      // unknown or insufficient credentials
  kNotFound,  // an unknown dataset, analyst, ...
  kLimit,     // a request exceeds a size or time limit
  kRequest,   // an HTTP request the server cannot route or read
  kInternal,  // a bug or an infrastructure failure; never caused by input alone
};

// X(enumerator, code, kind, HTTP status, SQLSTATE), grouped by kind. Internal
// codes other than the four answered with 503/500 as themselves (query_failed,
// not_ready, database_unavailable, ledger_not_initialised) reach a client only
// as internal_error (server/json_result.cpp).
#define DPQL_ERROR_CODES(X)                                                                   \
  X(kMultipleStatements, "multiple_statements", Syntax, 400, "42601")                         \
  X(kSyntaxError, "syntax_error", Syntax, 400, "42601")                                       \
  X(kCommaJoin, "comma_join", Syntax, 400, "0A000")                                           \
  X(kMissingFrom, "missing_from", Syntax, 400, "42601")                                       \
  X(kReservedWord, "reserved_word", Syntax, 400, "42601")                                     \
  X(kUnsupportedCase, "unsupported_case", Syntax, 400, "0A000")                               \
  X(kUnsupportedConcat, "unsupported_concat", Syntax, 400, "0A000")                           \
  X(kUnsupportedCte, "unsupported_cte", Syntax, 400, "0A000")                                 \
  X(kUnsupportedOffset, "unsupported_offset", Syntax, 400, "0A000")                           \
  X(kUnsupportedSetOperation, "unsupported_set_operation", Syntax, 400, "0A000")              \
  X(kUnsupportedWindow, "unsupported_window", Syntax, 400, "0A000")                           \
  X(kAggregateInGroupBy, "aggregate_in_group_by", Semantic, 400, "42803")                     \
  X(kAggregateInExpression, "aggregate_in_expression", Semantic, 400, "42803")                \
  X(kAggregateNotAllowed, "aggregate_not_allowed", Semantic, 400, "42803")                    \
  X(kAmbiguousColumn, "ambiguous_column", Semantic, 400, "42702")                             \
  X(kAnalystRevoked, "analyst_revoked", Semantic, 400, "42501")                               \
  X(kArithmeticNeedsBounds, "arithmetic_needs_bounds", Semantic, 400, "22003")                \
  X(kArithmeticOutOfRange, "arithmetic_out_of_range", Semantic, 400, "22003")                 \
  X(kDeltaTooLarge, "delta_too_large", Semantic, 400, "22023")                                \
  X(kDeltaTooSmall, "delta_too_small", Semantic, 400, "22023")                                \
  X(kDuplicateAlias, "duplicate_alias", Semantic, 400, "42712")                               \
  X(kDuplicateAnalyst, "duplicate_analyst", Semantic, 400, "42710")                           \
  X(kDuplicateProject, "duplicate_project", Semantic, 400, "42710")                           \
  X(kDuplicateGroupKey, "duplicate_group_key", Semantic, 400, "42712")                        \
  X(kDuplicatePrivacyOption, "duplicate_privacy_option", Semantic, 400, "42601")              \
  X(kDuplicateJoin, "duplicate_join", Semantic, 400, "42712")                                 \
  X(kEmptyDomain, "empty_domain", Semantic, 400, "22023")                                     \
  X(kEpsilonTooLarge, "epsilon_too_large", Semantic, 400, "22023")                            \
  X(kEpsilonTooSmall, "epsilon_too_small", Semantic, 400, "22023")                            \
  X(kGaussianNeedsDelta, "gaussian_needs_delta", Semantic, 400, "22023")                      \
  X(kInvalidBucketWidth, "invalid_bucket_width", Semantic, 400, "22023")                      \
  X(kInvalidBudget, "invalid_budget", Semantic, 400, "22023")                                 \
  X(kInvalidDate, "invalid_date", Semantic, 400, "22007")                                     \
  X(kInvalidLikePattern, "invalid_like_pattern", Semantic, 400, "22025")                      \
  X(kInvalidLimit, "invalid_limit", Semantic, 400, "2201W")                                   \
  X(kInvalidName, "invalid_name", Semantic, 400, "42602")                                     \
  X(kInvalidNumber, "invalid_number", Semantic, 400, "22P02")                                 \
  X(kInvalidPercentile, "invalid_percentile", Semantic, 400, "22023")                         \
  X(kInvalidPrivacyOption, "invalid_privacy_option", Semantic, 400, "22023")                  \
  X(kJoinCondition, "join_condition", Semantic, 400, "42804")                                 \
  X(kLikePatternNotLiteral, "like_pattern_not_literal", Semantic, 400, "0A000")               \
  X(kMisplacedStar, "misplaced_star", Semantic, 400, "42601")                                 \
  X(kNestedAggregate, "nested_aggregate", Semantic, 400, "42803")                             \
  X(kNotInOutput, "not_in_output", Semantic, 400, "42803")                                    \
  X(kNullComparison, "null_comparison", Semantic, 400, "42804")                               \
  X(kNumberOutOfRange, "number_out_of_range", Semantic, 400, "22003")                         \
  X(kPublicTable, "public_table", Semantic, 400, "42809")                                     \
  X(kSubquery, "subquery", Semantic, 400, "0A000")                                            \
  X(kTypeMismatch, "type_mismatch", Semantic, 400, "42804")                                   \
  X(kUnknownColumn, "unknown_column", Semantic, 400, "42703")                                 \
  X(kUnknownFunction, "unknown_function", Semantic, 400, "42883")                             \
  X(kUnknownOperator, "unknown_operator", Semantic, 400, "42883")                             \
  X(kUnknownPrivacyOption, "unknown_privacy_option", Semantic, 400, "42704")                  \
  X(kUnknownQualifier, "unknown_qualifier", Semantic, 400, "42P01")                           \
  X(kUnknownTable, "unknown_table", Semantic, 400, "42P01")                                   \
  X(kUnsupportedAggregate, "unsupported_aggregate", Semantic, 400, "0A000")                   \
  X(kUnsupportedArgument, "unsupported_argument", Semantic, 400, "0A000")                     \
  X(kUnsupportedDistinct, "unsupported_distinct", Semantic, 400, "0A000")                     \
  X(kUnsupportedHaving, "unsupported_having", Semantic, 400, "0A000")                         \
  X(kUnsupportedJoin, "unsupported_join", Semantic, 400, "0A000")                             \
  X(kUnsupportedKey, "unsupported_key", Semantic, 400, "0A000")                               \
  X(kWrongArguments, "wrong_arguments", Semantic, 400, "42883")                               \
  X(kDomainTooLarge, "domain_too_large", Privacy, 400, "42501")                               \
  X(kJoinOrder, "join_order", Privacy, 400, "42501")                                          \
  X(kMinMaxNotPrivate, "min_max_not_private", Privacy, 400, "42501")                          \
  X(kNoPublicDomain, "no_public_domain", Privacy, 400, "42501")                               \
  X(kNotAggregate, "not_aggregate", Privacy, 400, "42501")                                    \
  X(kPartitionSelectionUnderZcdp, "partition_selection_under_zcdp", Privacy, 400, "42501")    \
  X(kPartitionSelectionFederated, "partition_selection_federated", Privacy, 400, "42501")      \
  X(kPrivacyUnitJoin, "privacy_unit_join", Privacy, 400, "42501")                             \
  X(kPrivacyUnitAggregate, "privacy_unit_aggregate", Privacy, 400, "42501")                   \
  X(kPrivacyUnitKey, "privacy_unit_key", Privacy, 400, "42501")                               \
  X(kPrivacyUnitOutput, "privacy_unit_output", Privacy, 400, "42501")                         \
  X(kPrivateJoin, "private_join", Privacy, 400, "42501")                                      \
  X(kSelectStar, "select_star", Privacy, 400, "42501")                                        \
  X(kSelectionThresholdOutOfRange, "selection_threshold_out_of_range", Privacy, 400, "42501") \
  X(kTooManyGroups, "too_many_groups", Privacy, 400, "42501")                                 \
  X(kUnboundedColumn, "unbounded_column", Privacy, 400, "42501")                              \
  X(kUnsupportedMechanism, "unsupported_mechanism", Privacy, 400, "0A000")                    \
  X(kCatalogAboveLimit, "catalog_above_limit", Catalog, 500, "F0000")                         \
  X(kCatalogBelowLimit, "catalog_below_limit", Catalog, 500, "F0000")                         \
  X(kCatalogDuplicateKey, "catalog_duplicate_key", Catalog, 500, "F0000")                     \
  X(kCatalogEmpty, "catalog_empty", Catalog, 500, "F0000")                                    \
  X(kCatalogFileError, "catalog_file_error", Catalog, 500, "F0000")                           \
  X(kCatalogInvalidBounds, "catalog_invalid_bounds", Catalog, 500, "F0000")                   \
  X(kCatalogInvalidDomain, "catalog_invalid_domain", Catalog, 500, "F0000")                   \
  X(kCatalogInvalidIdentifier, "catalog_invalid_identifier", Catalog, 500, "F0000")           \
  X(kCatalogInvalidValue, "catalog_invalid_value", Catalog, 500, "F0000")                     \
  X(kCatalogMissingKey, "catalog_missing_key", Catalog, 500, "F0000")                         \
  X(kCatalogOutOfRange, "catalog_out_of_range", Catalog, 500, "F0000")                        \
  X(kCatalogPrivacyUnit, "catalog_privacy_unit", Catalog, 500, "F0000")                       \
  X(kCatalogSyntaxError, "catalog_syntax_error", Catalog, 500, "F0000")                       \
  X(kCatalogUnknownKey, "catalog_unknown_key", Catalog, 500, "F0000")                         \
  X(kCatalogUnknownType, "catalog_unknown_type", Catalog, 500, "F0000")                       \
  X(kCatalogWrongShape, "catalog_wrong_shape", Catalog, 500, "F0000")                         \
  X(kBudgetExhausted, "budget_exhausted", Budget, 409, "53000")                               \
  X(kDatasetBudgetExhausted, "dataset_budget_exhausted", Budget, 409, "53000")                \
  X(kNoBudget, "no_budget", Budget, 403, "42501")                                             \
  X(kNotProjectMember, "not_project_member", Budget, 403, "42501")                            \
  X(kProjectBudgetExhausted, "project_budget_exhausted", Budget, 409, "53000")                \
  X(kProjectClosed, "project_closed", Budget, 403, "42501")                                   \
  X(kProjectEnded, "project_ended", Budget, 403, "42501")                                     \
  X(kProjectNotStarted, "project_not_started", Budget, 403, "42501")                          \
  X(kProjectRequired, "project_required", Budget, 403, "42501")                               \
  X(kReleaseAccountExhausted, "release_account_exhausted", Budget, 409, "53000")              \
  X(kUnauthorized, "unauthorized", Auth, 401, "28P01")                                        \
  X(kUnknownAnalyst, "unknown_analyst", NotFound, 404, "42704")                               \
  X(kUnknownBudgetRequest, "unknown_budget_request", NotFound, 404, "42704")                  \
  X(kUnknownDataset, "unknown_dataset", NotFound, 404, "3D000")                               \
  X(kUnknownProject, "unknown_project", NotFound, 404, "42704")                               \
  X(kUnknownRelease, "unknown_release", NotFound, 404, "42704")                               \
  X(kBodyTooLarge, "body_too_large", Limit, 413, "54000")                                     \
  X(kQueryTooLong, "query_too_long", Limit, 413, "54000")                                     \
  X(kJustificationTooLong, "justification_too_long", Limit, 413, "54000")                     \
  X(kBadRequest, "bad_request", Request, 400, "08P01")                                        \
  X(kEmptyQuery, "empty_query", Request, 400, "42601")                                        \
  X(kHeaderTooLarge, "header_too_large", Request, 431, "54000")                               \
  X(kForbidden, "forbidden", Request, 403, "42501")                                           \
  X(kInvalidJson, "invalid_json", Request, 400, "08P01")                                      \
  X(kInvalidParameter, "invalid_parameter", Request, 400, "22023")                            \
  X(kInvalidRequest, "invalid_request", Request, 400, "08P01")                                \
  X(kMethodNotAllowed, "method_not_allowed", Request, 405, "0A000")                           \
  X(kNotFound, "not_found", Request, 404, "42704")                                            \
  X(kRequestDecided, "request_decided", Request, 409, "55000")                                \
  X(kServerBusy, "server_busy", Request, 503, "53300")                                        \
  X(kTableIsPrivate, "table_is_private", Request, 403, "42501")                               \
  X(kCacheCorrupt, "cache_corrupt", Internal, 500, "XX001")                                   \
  X(kCatalogTableMissing, "catalog_table_missing", Internal, 500, "XX000")                    \
  X(kConfigError, "config_error", Internal, 500, "F0000")                                     \
  X(kCryptoError, "crypto_error", Internal, 500, "XX000")                                     \
  X(kDatabaseError, "database_error", Internal, 500, "XX000")                                 \
  X(kDatabaseUnavailable, "database_unavailable", Internal, 503, "08006")                     \
  X(kSiteUnavailable, "site_unavailable", Internal, 503, "08001")                             \
  X(kInternal, "internal", Internal, 500, "XX000")                                            \
  X(kInternalError, "internal_error", Internal, 500, "XX000")                                 \
  X(kInvalidCost, "invalid_cost", Internal, 500, "XX000")                                     \
  X(kInvalidMechanism, "invalid_mechanism", Internal, 500, "XX000")                           \
  X(kInvalidOption, "invalid_option", Internal, 500, "XX000")                                 \
  X(kLedgerNotInitialised, "ledger_not_initialised", Internal, 503, "55000")                  \
  X(kListenFailed, "listen_failed", Internal, 500, "58000")                                   \
  X(kNotInitialised, "not_initialised", Internal, 500, "55000")                               \
  X(kNotReady, "not_ready", Internal, 503, "57P03")                                           \
  X(kQueryFailed, "query_failed", Internal, 500, "XX000")                                     \
  X(kRandomFailure, "random_failure", Internal, 500, "XX000")                                 \
  X(kRoleMembership, "role_membership", Internal, 500, "XX000")                               \
  X(kSchemaTooNew, "schema_too_new", Internal, 500, "55000")                                  \
  X(kShuttingDown, "shutting_down", Internal, 500, "57P01")                                   \
  X(kSuperuserRole, "superuser_role", Internal, 500, "XX000")                                 \
  X(kTlsError, "tls_error", Internal, 500, "08000")                                           \
  X(kUnknownRole, "unknown_role", Internal, 500, "XX000")

enum class ErrorCode : uint16_t {
#define DPQL_ERROR_ENUMERATOR(id, code, kind, status, sqlstate) id,
  DPQL_ERROR_CODES(DPQL_ERROR_ENUMERATOR)
#undef DPQL_ERROR_ENUMERATOR
};

struct ErrorCodeInfo {
  std::string_view name;  // "unknown_column"
  ErrorKind kind;
  int http_status;
  std::string_view sqlstate;  // five characters, e.g. "42703"
};

inline constexpr ErrorCodeInfo kErrorCodes[] = {
#define DPQL_ERROR_INFO(id, code, kind, status, sqlstate) {code, ErrorKind::k##kind, status, sqlstate},
    DPQL_ERROR_CODES(DPQL_ERROR_INFO)
#undef DPQL_ERROR_INFO
};

constexpr const ErrorCodeInfo& Info(ErrorCode code) { return kErrorCodes[static_cast<size_t>(code)]; }
constexpr std::string_view Name(ErrorCode code) { return Info(code).name; }

// The code with this name, if there is one (for clients and tests that read
// a code back from text).
constexpr bool FindErrorCode(std::string_view name, ErrorCode& out) {
  for (size_t i = 0; i < std::size(kErrorCodes); ++i) {
    if (kErrorCodes[i].name == name) {
      out = static_cast<ErrorCode>(i);
      return true;
    }
  }
  return false;
}

}  // namespace dpql
