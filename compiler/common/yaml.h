#pragma once

// YAML reading, written once for every YAML file DPQL reads: the catalog
// (compiler/catalog) and the server's configuration (server/config.cpp).
// Where a node is, what it is, and errors that begin the same way in every
// file: "file:line: key.path: what is wrong and what to write instead".
// Each reader passes its own error codes.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/common/error.h"
#include "compiler/common/rational.h"
#include "compiler/common/source_location.h"

namespace dpql {

// 1-based line and column; line 0 (not Known()) where yaml-cpp has no position.
SourceLocation YamlLocation(const YAML::Mark& mark);
SourceLocation YamlLocation(const YAML::Node& node);  // no position for an undefined node
int YamlLine(const YAML::Node& node);                 // 0 when unknown

// What a node is, for "expected ..., got ..." messages: "a mapping", "a list",
// "'text'" or "nothing".
std::string DescribeYamlNode(const YAML::Node& node);

// "file", "file:line", "file: path" or "file:line: path": where an error is.
std::string YamlPlace(std::string_view source, const SourceLocation& at, std::string_view path);

// A syntax error in a document: yaml-cpp's message and where it was found.
struct YamlSyntaxError {
  std::string message;
  SourceLocation at;
};

// The document's root, or its syntax error (each reader words its own
// message around it).
struct YamlDocument {
  YAML::Node root;
  std::optional<YamlSyntaxError> error;
};
YamlDocument ParseYaml(const std::string& text);

// Reads the nodes of one file; its errors are DpqlError with the caller's code and
// message YamlPlace(...) + ": " + what, and (if `locate`) the node's position.
class YamlReader {
 public:
  YamlReader(std::string source, bool locate) : source_(std::move(source)), locate_(locate) {}

  const std::string& source() const { return source_; }

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& path, ErrorCode code,
                         const std::string& what) const;
  [[noreturn]] void FailAt(const SourceLocation& at, const std::string& path, ErrorCode code,
                           const std::string& what) const;

  // The text of a scalar; anything else fails: "expected <expected>, got <what it is>".
  std::string Scalar(const YAML::Node& node, const std::string& path, ErrorCode code,
                     const std::string& expected) const;
  // The text of a scalar, "" for an empty value; a list or a mapping fails.
  std::string ScalarOrEmpty(const YAML::Node& node, const std::string& path, ErrorCode code) const;
  // An exact decimal number (ParseDecimal: 1, 0.5, 1.0e-6), never through a double.
  Rational Decimal(const YAML::Node& node, const std::string& path, ErrorCode code) const;
  // true or false, in any case.
  bool Bool(const YAML::Node& node, const std::string& path, ErrorCode code) const;
  // A whole number in digits within [min, max]; an empty value is not one.
  int64_t Integer(const YAML::Node& node, const std::string& path, ErrorCode code, int64_t min,
                  int64_t max) const;

 private:
  std::string source_;
  bool locate_;
};

}  // namespace dpql
