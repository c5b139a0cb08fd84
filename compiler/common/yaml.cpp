#include "compiler/common/yaml.h"

#include <charconv>

#include "compiler/common/text.h"

namespace dpql {

SourceLocation YamlLocation(const YAML::Mark& mark) {
  SourceLocation loc;
  if (mark.is_null()) return loc;
  loc.line = static_cast<uint32_t>(mark.line + 1);
  loc.column = static_cast<uint32_t>(mark.column + 1);
  return loc;
}

SourceLocation YamlLocation(const YAML::Node& node) {
  return node.IsDefined() ? YamlLocation(node.Mark()) : SourceLocation{};
}

int YamlLine(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string DescribeYamlNode(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

std::string YamlPlace(std::string_view source, const SourceLocation& at, std::string_view path) {
  std::string place(source);
  if (at.Known()) place += ":" + std::to_string(at.line);
  if (!path.empty()) place += ": " + std::string(path);
  return place;
}

YamlDocument ParseYaml(const std::string& text) {
  YamlDocument document;
  try {
    document.root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    document.error = YamlSyntaxError{e.msg, YamlLocation(e.mark)};
  }
  return document;
}

void YamlReader::Fail(const YAML::Node& at, const std::string& path, ErrorCode code,
                      const std::string& what) const {
  FailAt(YamlLocation(at), path, code, what);
}

void YamlReader::FailAt(const SourceLocation& at, const std::string& path, ErrorCode code,
                        const std::string& what) const {
  throw DpqlError(code, YamlPlace(source_, at, path) + ": " + what, locate_ ? at : SourceLocation{});
}

std::string YamlReader::Scalar(const YAML::Node& node, const std::string& path, ErrorCode code,
                               const std::string& expected) const {
  if (!node.IsScalar()) {
    Fail(node, path, code, "expected " + expected + ", got " + DescribeYamlNode(node));
  }
  return node.Scalar();
}

std::string YamlReader::ScalarOrEmpty(const YAML::Node& node, const std::string& path, ErrorCode code) const {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) Fail(node, path, code, "expected a single value, not a list or map");
  return node.Scalar();
}

Rational YamlReader::Decimal(const YAML::Node& node, const std::string& path, ErrorCode code) const {
  std::string text = Scalar(node, path, code, "a number");
  std::optional<Rational> value = ParseDecimal(text);
  if (!value) {
    Fail(node, path, code, "expected a number, got '" + text + "'; write digits like 1, 0.5 or 1.0e-6");
  }
  return *value;
}

bool YamlReader::Bool(const YAML::Node& node, const std::string& path, ErrorCode code) const {
  std::string text = LowerAscii(Scalar(node, path, code, "true or false"));
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(node, path, code, "expected true or false, got '" + node.Scalar() + "'");
}

int64_t YamlReader::Integer(const YAML::Node& node, const std::string& path, ErrorCode code, int64_t min,
                            int64_t max) const {
  std::string text = ScalarOrEmpty(node, path, code);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    Fail(node, path, code, "expected a whole number, got '" + text + "'");
  }
  if (value < min || value > max) {
    Fail(node, path, code,
         std::to_string(value) + " is out of range; use " + std::to_string(min) + " to " +
             std::to_string(max));
  }
  return value;
}

}  // namespace dpql
