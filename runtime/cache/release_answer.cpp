#include "runtime/cache/release_answer.h"

#include <nlohmann/json.hpp>

#include "compiler/common/error.h"
#include "runtime/cache/answer_cache.h"

namespace dpql {

namespace {

using json = nlohmann::json;

constexpr int kReleaseFormat = 1;

}  // namespace

std::optional<std::string> EncodeReleaseAnswer(const std::vector<ReleaseLevelAnswer>& levels) {
  json out = json::array();
  for (const ReleaseLevelAnswer& level : levels) {
    std::optional<std::string> encoded = EncodeAnswer(level.answer);
    if (!encoded) return std::nullopt;
    json names = json::array();
    for (const ResultColumn& column : level.answer.columns) names.push_back(column.name);
    out.push_back({{"level", level.level},
                   {"names", std::move(names)},
                   {"confidence", level.answer.confidence.str()},
                   {"answer", json::parse(*encoded)}});
  }
  return json({{"format", kReleaseFormat}, {"levels", std::move(out)}}).dump();
}

std::vector<ReleaseLevelAnswer> DecodeReleaseAnswer(const std::string& text) {
  std::vector<ReleaseLevelAnswer> out;
  try {
    json in = json::parse(text);
    if (in.at("format").get<int>() != kReleaseFormat) {
      throw DpqlError(ErrorCode::kCacheCorrupt, "unknown stored release answer format");
    }
    for (const json& level : in.at("levels")) {
      ReleaseLevelAnswer entry;
      entry.level = level.at("level").get<std::string>();
      entry.answer = DecodeAnswer(level.at("answer").dump());
      const json& names = level.at("names");
      if (names.size() != entry.answer.columns.size()) {
        throw DpqlError(ErrorCode::kCacheCorrupt, "a stored release answer's names do not fit its columns");
      }
      for (size_t c = 0; c < names.size(); ++c) entry.answer.columns[c].name = names[c].get<std::string>();
      entry.answer.confidence = Rational(level.at("confidence").get<std::string>());
      out.push_back(std::move(entry));
    }
  } catch (const json::exception& e) {
    throw DpqlError(ErrorCode::kCacheCorrupt,
                    std::string("a stored release answer is unreadable: ") + e.what());
  }
  return out;
}

}  // namespace dpql
