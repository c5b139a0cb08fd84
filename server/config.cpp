#include "server/config.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "compiler/common/error.h"
#include "compiler/common/yaml.h"
#include "compiler/parser/parser.h"

namespace dpql {

namespace {

constexpr const char* kKnownKeys =
    "listen, database, replica, catalog, console_dir, dashboards, releases, release_check_seconds, "
    "tls_cert, tls_key, threads, db_pool, "
    "max_body_bytes, "
    "max_query_bytes, request_timeout_ms, statement_timeout_ms, listen_pg, pg_require_tls, "
    "pg_max_connections, pg_max_connections_per_analyst, pg_idle_timeout_ms";

[[noreturn]] void Fail(const std::string& message) { throw DpqlError(ErrorCode::kConfigError, message); }

// The scalar of `key`, "" when empty.
std::string Scalar(const YamlReader& yaml, const YAML::Node& node, const std::string& key) {
  return yaml.ScalarOrEmpty(node, key, ErrorCode::kConfigError);
}

int64_t Integer(const YamlReader& yaml, const YAML::Node& node, const std::string& key, int64_t min,
                int64_t max) {
  return yaml.Integer(node, key, ErrorCode::kConfigError, min, max);
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace

void SplitHostPort(const std::string& value, const std::string& what, std::string& out_host,
                   uint16_t& out_port) {
  std::string host, port;
  if (!value.empty() && value[0] == '[') {
    size_t close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      Fail(what + ": expected [IPV6]:PORT, got '" + value + "'");
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string::npos) {
      Fail(what + ": expected HOST:PORT (e.g. 127.0.0.1:8765), got '" + value + "'");
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      number > 65535) {
    Fail(what + ": expected HOST:PORT with a port from 0 to 65535 (0 picks a free port), got '" + value +
         "'");
  }
  out_host = host;
  out_port = static_cast<uint16_t>(number);
}

void SetListen(ServerConfig& config, const std::string& value, const std::string& what) {
  SplitHostPort(value, what, config.listen_host, config.listen_port);
}

ServerConfig ParseServerConfig(const std::string& yaml_text, const std::string& source,
                               const std::string& base_dir) {
  YamlDocument document = ParseYaml(yaml_text);
  if (document.error) {
    // The line is 0 when yaml-cpp gives none.
    Fail(source + ":" + std::to_string(document.error->at.line) +
         ": not valid YAML: " + document.error->message);
  }
  const YAML::Node& root = document.root;
  const YamlReader yaml(source, /*locate=*/false);
  ServerConfig config;
  if (root.IsNull()) return config;
  if (!root.IsMap())
    Fail(source + ": expected a map of settings (key: value), e.g. `listen: 127.0.0.1:8765`");

  bool have_catalog = false;
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (key == "listen") {
      SetListen(config, Scalar(yaml, value, key), YamlPlace(source, YamlLocation(value), key));
    } else if (key == "database") {
      config.database = Scalar(yaml, value, key);
    } else if (key == "replica") {
      config.replica = Scalar(yaml, value, key);
    } else if (key == "catalog") {
      config.catalog = Resolve(base_dir, Scalar(yaml, value, key));
      have_catalog = !config.catalog.empty();
    } else if (key == "console_dir") {
      config.console_dir = Resolve(base_dir, Scalar(yaml, value, key));
    } else if (key == "dashboards") {
      config.dashboards = Resolve(base_dir, Scalar(yaml, value, key));
    } else if (key == "releases") {
      config.releases = Resolve(base_dir, Scalar(yaml, value, key));
    } else if (key == "release_check_seconds") {
      config.release_check_seconds = static_cast<int>(Integer(yaml, value, key, 1, 86'400));
    } else if (key == "tls_cert") {
      config.tls_cert = Resolve(base_dir, Scalar(yaml, value, key));
    } else if (key == "tls_key") {
      config.tls_key = Resolve(base_dir, Scalar(yaml, value, key));
    } else if (key == "threads") {
      config.threads = static_cast<int>(Integer(yaml, value, key, 1, 256));
    } else if (key == "db_pool") {
      config.db_pool = static_cast<int>(Integer(yaml, value, key, 1, 1000));
    } else if (key == "max_body_bytes") {
      config.max_body_bytes = static_cast<size_t>(Integer(yaml, value, key, 1024, int64_t{1} << 30));
    } else if (key == "max_query_bytes") {
      config.max_query_bytes =
          static_cast<size_t>(Integer(yaml, value, key, 16, static_cast<int64_t>(kMaxQueryBytes)));
    } else if (key == "request_timeout_ms") {
      config.request_timeout_ms = static_cast<int>(Integer(yaml, value, key, 100, 3'600'000));
    } else if (key == "listen_pg") {
      SplitHostPort(Scalar(yaml, value, key), YamlPlace(source, YamlLocation(value), key), config.pg_host,
                    config.pg_port);
      config.pg_enabled = true;
    } else if (key == "pg_require_tls") {
      config.pg_require_tls = yaml.Bool(value, key, ErrorCode::kConfigError);
    } else if (key == "pg_max_connections") {
      config.pg_max_connections = static_cast<int>(Integer(yaml, value, key, 1, 100'000));
    } else if (key == "pg_max_connections_per_analyst") {
      config.pg_max_connections_per_analyst = static_cast<int>(Integer(yaml, value, key, 1, 100'000));
    } else if (key == "pg_idle_timeout_ms") {
      config.pg_idle_timeout_ms = static_cast<int>(Integer(yaml, value, key, 1000, 86'400'000));
    } else if (key == "statement_timeout_ms") {
      config.statement_timeout_ms = static_cast<int>(Integer(yaml, value, key, 1, 86'400'000));
    } else {
      yaml.Fail(entry.first, "", ErrorCode::kConfigError,
                "unknown key '" + key + "'; known keys: " + kKnownKeys);
    }
  }
  if (!have_catalog) {
    Fail(source + ": no `catalog` key; add e.g. `catalog: catalog.yaml` (relative to this file)");
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    Fail(source + ": TLS needs both `tls_cert` and `tls_key` (PEM files); set both or neither");
  }
  if (config.pg_require_tls && !config.Tls()) {
    Fail(source + ": pg_require_tls needs TLS (`tls_cert` and `tls_key`); set them, or remove pg_require_tls");
  }
  if (config.max_query_bytes > config.max_body_bytes) {
    Fail(source + ": max_query_bytes (" + std::to_string(config.max_query_bytes) +
         ") exceeds max_body_bytes (" + std::to_string(config.max_body_bytes) +
         "); a query must fit in a request body");
  }
  return config;
}

ServerConfig LoadServerConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read config file " + path + "; check the path given to --config");
  std::ostringstream text;
  text << in.rdbuf();
  std::string base = std::filesystem::path(path).parent_path().string();
  if (base.empty()) base = ".";
  return ParseServerConfig(text.str(), path, base);
}

}  // namespace dpql
