#pragma once

// Command-line flags read one argument at a time: the one loop `dpqld compile`,
// `dpqld serve`, `dpqld admin` and the `dpql` client share. Each program keeps
// its own flags, messages and exit statuses; this only splits `--flag=value`
// and finds a flag's value. No dependencies (library dpql_text), so the REPL
// uses it without the compiler.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dpql {

// Which arguments `--flag=value` is split in.
enum class InlineValues {
  kNone,        // never: `--catalog=x` is a flag of its own name
  kDoubleDash,  // arguments starting with "--"
  kAnyDash,     // arguments starting with '-' (and longer than "-")
};

class FlagReader {
 public:
  explicit FlagReader(const std::vector<std::string>& args, InlineValues split = InlineValues::kDoubleDash)
      : args_(args), split_(split) {}

  // Moves to the next argument (the first on the first call); false after the last.
  bool Next();

  // The argument as given ("--url=x").
  const std::string& arg() const { return args_[index_]; }
  // The flag: "--url" of "--url=x", else the whole argument.
  const std::string& flag() const { return flag_; }
  // The value after '=', when the argument was split.
  const std::optional<std::string>& inline_value() const { return inline_value_; }
  // The argument starts with '-' and is longer than "-".
  bool IsOption() const { return arg().size() > 1 && arg()[0] == '-'; }

  // The flag's value: its inline value, else the next argument (consumed);
  // nothing when there is no next argument, or when it starts with
  // `refuse_prefix` (if given), which is then left for Next().
  std::optional<std::string> Value(const char* refuse_prefix = nullptr);

 private:
  const std::vector<std::string>& args_;
  InlineValues split_;
  size_t index_ = 0;
  bool started_ = false;
  std::string flag_;
  std::optional<std::string> inline_value_;
};

}  // namespace dpql
