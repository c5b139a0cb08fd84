#include "compiler/common/flags.h"

namespace dpql {

bool FlagReader::Next() {
  if (started_) ++index_;
  started_ = true;
  if (index_ >= args_.size()) return false;
  const std::string& argument = args_[index_];
  flag_ = argument;
  inline_value_.reset();
  bool splits = split_ == InlineValues::kAnyDash      ? IsOption()
                : split_ == InlineValues::kDoubleDash ? argument.rfind("--", 0) == 0
                                                      : false;
  if (size_t eq = argument.find('='); splits && eq != std::string::npos) {
    flag_ = argument.substr(0, eq);
    inline_value_ = argument.substr(eq + 1);
  }
  return true;
}

std::optional<std::string> FlagReader::Value(const char* refuse_prefix) {
  if (inline_value_) return inline_value_;
  if (index_ + 1 >= args_.size()) return std::nullopt;
  if (refuse_prefix != nullptr && args_[index_ + 1].rfind(refuse_prefix, 0) == 0) return std::nullopt;
  return args_[++index_];
}

}  // namespace dpql
