#pragma once

// dpqld's PostgreSQL front end (protocol 3.0): psql, libpq, psycopg, JDBC
// and the BI tools built on them connect to `listen_pg` with user = analyst
// name, password = bearer token, database = dataset. Every DPQL statement
// goes through the same Router as HTTP (authentication re-checked, the
// engine, the budget, the audit row); the session answers only its own
// statements (SET/SHOW/BEGIN/...) and the catalog lookups of client tools,
// from public metadata. docs/CLIENTS.md is the user's side.
//
// Sessions run on the HTTP server's I/O threads and database workers
// (server/server_state.h), and are counted against `pg_max_connections` and
// `pg_max_connections_per_analyst`.

#include <cstdint>
#include <memory>

namespace dpql {

struct ServerState;

class PgServer {
 public:
  explicit PgServer(ServerState& state);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // Binds `listen_pg`. Throws DpqlError(listen_failed) saying why.
  void Listen();
  // Starts accepting on the I/O context.
  void Accept();
  // Stops accepting (shutdown); open sessions end at their next message.
  void Close();
  uint16_t port() const;

  struct Impl;  // pg_server.cpp's: the acceptor, the session counts, the cancel keys

 private:
  std::shared_ptr<Impl> impl_;  // shared with the sessions
};

}  // namespace dpql
