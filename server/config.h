#pragma once

// `dpqld serve` configuration: the YAML file of `--config`, with the
// `--listen`, `--database` and `--replica` flags applied on top. Loading
// validates every key and value; a mistake is a DpqlError (kInternal,
// "config_error") naming the file, the line and the key, and saying what to
// write instead.

#include <cstddef>
#include <cstdint>
#include <string>

namespace dpql {

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8765;     // 0 = pick a free port
  std::string database;            // libpq URL or conninfo; "" = libpq environment
  // A streaming read replica of `database` (libpq URL or conninfo): the data
  // queries run there; debits, budgets, the answer cache, releases, audit and
  // tokens stay on `database` (docs/SCALING.md). "" = none: all on `database`.
  std::string replica;
  std::string catalog;             // absolute, or relative to the working directory
  std::string console_dir;         // the web console's files; "" = the default (server/console.h)
  std::string dashboards;          // the dashboards file; "" = none (GET /v1/dashboards is [])
  std::string releases;            // the releases file; "" = none (GET /v1/releases is [])
  int release_check_seconds = 30;  // how often the release scheduler looks for a due run
  std::string tls_cert;            // both set: serve HTTPS
  std::string tls_key;
  int threads = 2;                      // I/O threads
  int db_pool = 4;                      // PostgreSQL connections and database worker threads
  size_t max_body_bytes = 1024 * 1024;  // request body limit (413 above it)
  size_t max_query_bytes = 100 * 1024;  // query text limit (413 above it)
  int request_timeout_ms = 30000;       // per read of a request from a connection
  int statement_timeout_ms = 60000;     // PostgreSQL statement_timeout for queries

  // The PostgreSQL wire protocol front end (server/pg_server.h), off unless
  // `listen_pg` is set. It shares the HTTP server's threads, database
  // workers and limits.
  bool pg_enabled = false;
  std::string pg_host = "127.0.0.1";
  uint16_t pg_port = 5433;               // 0 = pick a free port
  bool pg_require_tls = false;           // refuse a session that did not ask for TLS
  int pg_max_connections = 100;          // sessions at once, all analysts
  int pg_max_connections_per_analyst = 10;
  int pg_idle_timeout_ms = 3'600'000;    // a session idle this long is closed

  bool Tls() const { return !tls_cert.empty() && !tls_key.empty(); }
};

// Splits "HOST:PORT" ("[::1]:5433") into `host` and `port`. Throws
// DpqlError("config_error") naming `what`.
void SplitHostPort(const std::string& value, const std::string& what, std::string& host, uint16_t& port);

// Parses YAML text; relative paths (catalog, console_dir, dashboards, releases, tls_cert, tls_key) are
// resolved against `base_dir` ("" = leave them as written). `source_name` is used in messages.
ServerConfig ParseServerConfig(const std::string& yaml_text, const std::string& source_name,
                               const std::string& base_dir);

// Reads and parses a config file; relative paths are taken from its folder.
ServerConfig LoadServerConfig(const std::string& path);

// Splits "HOST:PORT" ("[::1]:8765" for IPv6) into `config`. Throws
// DpqlError("config_error") with `what` ("--listen", "dpqld.yaml:3: listen") in
// the message.
void SetListen(ServerConfig& config, const std::string& value, const std::string& what);

}  // namespace dpql
