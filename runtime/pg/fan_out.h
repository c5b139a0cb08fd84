#pragma once

// Sharded and federated datasets on the server's own PostgreSQL
// (docs/SCALING.md). The server's database is the coordinator: each shard or
// site is a postgres_fdw foreign server of it, and dpql.fan_out, a function
// installed here, runs one statement on every server at once through
// dblink's asynchronous calls (dblink_send_query, then dblink_get_result),
// returning each server's rows. The generated SQL (WrapForFanOut) sums them
// per group; no row of a person ever crosses the network.
//
// dpql.fan_out keeps one dblink connection per server per coordinator
// session (the engine's pooled connections), and closes them all when any
// server fails, so no half-read result is ever left on one. A server that
// cannot be reached, or whose connection breaks, is reported as SQLSTATE
// DPQ01 (a class of its own: libpq clients read class 08 as the
// coordinator's own connection failing) with the message "dpql site
// unavailable: NAME".

#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"

namespace dpql {

// The message prefix of dpql.fan_out's DPQ01 error, before the server's name.
inline constexpr const char* kSiteUnavailablePrefix = "dpql site unavailable: ";

struct ServerOptions {
  std::string name;  // a plain identifier: the catalog's `shards:` / `sites:` entry
  std::string host;
  std::string port;
  std::string dbname;
  std::string user;      // the role on the server; "" = the coordinator role's name
  std::string password;  // "" = none (trust, a .pgpass file, or a certificate)
  // The coordinator role dpqld connects as, given the user mapping and the
  // grants to use the server and dpql.fan_out; "" = the current role.
  std::string for_role;
};

// Installs dblink and postgres_fdw and dpql.fan_out on the coordinator, and
// creates (or replaces the options of) foreign server `options.name` with a
// user mapping for `options.for_role` (granted what dpql.fan_out needs). A
// role that is not a superuser may use dblink only with a password sent to
// the server (PostgreSQL's rule), so give one through DPQL_SERVER_PASSWORD. Needs a role that may create
// extensions. Returns one line per step, for the administrator.
std::vector<std::string> AddServer(const std::string& coordinator, const ServerOptions& options);

// Sharded datasets: copies the coordinator's tables of `dataset` to its
// shards. Each table (and view, and index) is created on every shard from
// the coordinator's definition; each private base table's rows go to the
// shard that hash partitioning on the privacy unit assigns (through the
// coordinator's partitioned table dpql_shards.TABLE of foreign partitions,
// which stays as the guardian's view of all rows); each public table is
// copied whole to every shard. Shards' copies are emptied first. Returns one
// line per step with the rows each shard received.
std::vector<std::string> Distribute(const std::string& coordinator, const Dataset& dataset);

}  // namespace dpql
