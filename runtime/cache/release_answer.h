#pragma once

// The stored answer of a release run (dpql.release_runs.answer): one
// released answer per level of the release (one level, named after the
// release, without a hierarchy), each with its column names and confidence.
// Only released values: noisy figures, their intervals and public keys.

#include <optional>
#include <string>
#include <vector>

#include "runtime/release/result.h"

namespace dpql {

struct ReleaseLevelAnswer {
  std::string level;   // the hierarchy level, or the release's name
  QueryResult answer;  // columns named; no cost, budget or ledger id
};

// JSON text; nullopt when an answer holds a non-finite number (not storable).
std::optional<std::string> EncodeReleaseAnswer(const std::vector<ReleaseLevelAnswer>& levels);
// Throws DpqlError "cache_corrupt" for text EncodeReleaseAnswer did not make.
std::vector<ReleaseLevelAnswer> DecodeReleaseAnswer(const std::string& text);

}  // namespace dpql
