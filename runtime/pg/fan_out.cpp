#include "runtime/pg/fan_out.h"

#include <pqxx/pqxx>

#include <optional>

#include "compiler/common/error.h"
#include "compiler/common/text.h"

namespace dpql {

namespace {

// dpql.fan_out(servers, columns, query): `query` sent to every server first
// (dblink_send_query: all run at once), then each server's rows read in
// turn as `columns`. Any failure closes every dpql_site_ connection of the
// session; a server that cannot be reached or stops answering becomes
// SQLSTATE DPQ01 "dpql site unavailable: NAME". PostgreSQL's own message is
// not passed on (it can quote the data); the coordinator's log has it.
constexpr const char* kFanOutSql = R"sql(
CREATE SCHEMA IF NOT EXISTS dpql;
CREATE OR REPLACE FUNCTION dpql.fan_out_reset() RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  c text;
BEGIN
  FOREACH c IN ARRAY coalesce(dblink_get_connections(), '{}'::text[]) LOOP
    IF c LIKE 'dpql\_site\_%' THEN
      PERFORM dblink_disconnect(c);
    END IF;
  END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION dpql.fan_out(servers text[], columns text, query text)
RETURNS SETOF record LANGUAGE plpgsql AS $fn$
DECLARE
  site text;
  conn text;
BEGIN
  BEGIN
    FOREACH site IN ARRAY servers LOOP
      conn := 'dpql_site_' || site;
      IF NOT (conn = ANY (coalesce(dblink_get_connections(), '{}'::text[]))) THEN
        PERFORM dblink_connect(conn, site);
      END IF;
      IF dblink_send_query(conn, query) <> 1 THEN
        RAISE EXCEPTION 'could not send the query' USING ERRCODE = '08006';
      END IF;
    END LOOP;
    FOREACH site IN ARRAY servers LOOP
      conn := 'dpql_site_' || site;
      RETURN QUERY EXECUTE format('SELECT * FROM dblink_get_result(%L) AS t(%s)', conn, columns);
      -- The empty result that ends the statement frees the connection.
      EXECUTE format('SELECT * FROM dblink_get_result(%L) AS t(%s)', conn, columns);
    END LOOP;
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    PERFORM dpql.fan_out_reset();
    IF SQLSTATE LIKE '08%' OR SQLSTATE IN ('57P01', '57P02', '57P03') THEN
      RAISE EXCEPTION 'dpql site unavailable: %', site USING ERRCODE = 'DPQ01';
    END IF;
    RAISE;
  END;
END
$fn$;
)sql";

bool IsServerName(const std::string& name) {
  if (name.empty() || name.size() > 63 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string Option(pqxx::transaction_base& txn, const char* key, const std::string& value) {
  return std::string(key) + " " + txn.quote(value);
}

}  // namespace

std::vector<std::string> AddServer(const std::string& coordinator, const ServerOptions& options) {
  if (!IsServerName(options.name)) {
    throw DpqlError(ErrorCode::kInvalidName,
                    "server name '" + options.name +
                        "' is not a plain identifier (lower-case letters, digits and _, not starting with a "
                        "digit); the catalog's shards: and sites: name servers this way");
  }
  std::vector<std::string> steps;
  pqxx::connection connection(coordinator);
  pqxx::work txn(connection);
  txn.exec0("CREATE EXTENSION IF NOT EXISTS dblink");
  txn.exec0("CREATE EXTENSION IF NOT EXISTS postgres_fdw");
  txn.exec0(kFanOutSql);
  steps.push_back("dblink, postgres_fdw and dpql.fan_out installed");
  const std::string server = txn.quote_name(options.name);
  std::vector<std::string> server_options = {Option(txn, "host", options.host), Option(txn, "port", options.port),
                                             Option(txn, "dbname", options.dbname)};
  const bool exists =
      !txn.exec_params("SELECT 1 FROM pg_foreign_server WHERE srvname = $1", options.name).empty();
  std::string list;
  for (const std::string& option : server_options) {
    list += std::string(list.empty() ? "" : ", ") + (exists ? "SET " : "") + option;
  }
  if (exists) {
    txn.exec0("ALTER SERVER " + server + " OPTIONS (" + list + ")");
    steps.push_back("server " + options.name + " updated: " + options.host + ":" + options.port + "/" + options.dbname);
  } else {
    txn.exec0("CREATE SERVER " + server + " FOREIGN DATA WRAPPER postgres_fdw OPTIONS (" + list +
              ", async_capable 'true', fetch_size '10000')");
    steps.push_back("server " + options.name + " created: " + options.host + ":" + options.port + "/" + options.dbname);
  }
  std::string mapping;
  if (!options.user.empty()) mapping += Option(txn, "user", options.user);
  if (!options.password.empty()) mapping += (mapping.empty() ? "" : ", ") + Option(txn, "password", options.password);
  const std::string role = options.for_role.empty() ? "CURRENT_USER" : txn.quote_name(options.for_role);
  txn.exec0("DROP USER MAPPING IF EXISTS FOR " + role + " SERVER " + server);
  txn.exec0("CREATE USER MAPPING FOR " + role + " SERVER " + server +
            (mapping.empty() ? std::string() : " OPTIONS (" + mapping + ")"));
  if (!options.for_role.empty()) {
    txn.exec0("GRANT USAGE ON FOREIGN SERVER " + server + " TO " + role);
    txn.exec0("GRANT USAGE ON SCHEMA dpql TO " + role);
    txn.exec0("GRANT EXECUTE ON FUNCTION dpql.fan_out(text[], text, text), dpql.fan_out_reset() TO " + role);
  }
  steps.push_back("user mapping for " + (options.for_role.empty() ? std::string("the current role") : options.for_role) +
                  " on " + options.name + (options.user.empty() ? "" : " as " + options.user));
  txn.commit();
  return steps;
}

namespace {

std::vector<std::string> DistributeRows(const std::string& coordinator, const Dataset& dataset);

}  // namespace

std::vector<std::string> Distribute(const std::string& coordinator, const Dataset& dataset) {
  try {
    return DistributeRows(coordinator, dataset);
  } catch (const pqxx::failure& e) {
    // PostgreSQL's first line only: a failed batch insert quotes its whole statement.
    std::string message = e.what();
    message = message.substr(0, message.find('\n'));
    if (message.size() > 300) message = message.substr(0, 300) + "...";
    throw DpqlError(ErrorCode::kDatabaseError, "distributing dataset " + dataset.name + " failed: " + message);
  }
}

namespace {

std::vector<std::string> DistributeRows(const std::string& coordinator, const Dataset& dataset) {
  const DataPlacement& placement = dataset.placement;
  if (placement.kind != Placement::kSharded) {
    throw DpqlError(ErrorCode::kInvalidName,
                    "dataset " + dataset.name +
                        " declares no shards: distribute copies a dataset to the servers of its 'shards:' "
                        "list (a federated dataset's sites keep their own rows)");
  }
  std::vector<std::string> steps;
  pqxx::connection connection(coordinator);
  // The shards' DDL (dblink_exec) commits on each shard at once; the rows
  // go in one coordinator transaction (postgres_fdw commits the shards'
  // parts with it), committed before the indexes are built on the shards,
  // which would otherwise wait for it.
  std::optional<pqxx::nontransaction> ddl(std::in_place, connection);
  ddl->exec0("CREATE SCHEMA IF NOT EXISTS dpql_shards");
  struct Relation {
    std::string name, qualified;
    char kind;
    bool is_private;
  };
  std::vector<Relation> relations;
  for (const CatalogTable& table : dataset.tables) {
    pqxx::result found = ddl->exec_params(
        "SELECT c.oid::regclass::text, c.relkind FROM pg_class c WHERE c.oid = to_regclass($1)", table.name);
    if (found.empty()) {
      throw DpqlError(ErrorCode::kNotFound, "table " + table.name + " of dataset " + dataset.name +
                                                " is not in the coordinator's database; load it there first");
    }
    const char kind = found[0][1].c_str()[0];
    if (kind != 'r' && kind != 'v' && kind != 'm') {
      throw DpqlError(ErrorCode::kInvalidName, "table " + table.name +
                                                   " is neither a table nor a view; distribute copies tables "
                                                   "(and re-creates views and materialized views) only");
    }
    relations.push_back({table.name, found[0][0].c_str(), kind, table.is_private});
  }
  const std::string n = std::to_string(placement.servers.size());
  // 1. The tables on every shard, empty.
  for (const Relation& r : relations) {
    if (r.kind != 'r') continue;
    const std::string create = ddl->exec_params1(
                                   "SELECT 'CREATE TABLE IF NOT EXISTS ' || quote_ident($1) || ' (' || "
                                   "string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' "
                                   "ORDER BY attnum) || ')' FROM pg_attribute WHERE attrelid = $2::regclass AND "
                                   "attnum > 0 AND NOT attisdropped",
                                   r.name, r.qualified)[0]
                                   .c_str();
    for (const std::string& server : placement.servers) {
      ddl->exec_params("SELECT dblink_exec($1, $2)", server, create);
      ddl->exec_params("SELECT dblink_exec($1, $2)", server, "TRUNCATE " + ddl->quote_name(r.name));
    }
  }
  ddl.reset();
  // 2. Rows: private tables by a hash of the privacy unit, public ones whole.
  std::optional<pqxx::work> rows(std::in_place, connection);
  pqxx::work& txn = *rows;
  for (const Relation& r : relations) {
    if (r.kind != 'r') continue;
    const std::string target = "dpql_shards." + txn.quote_name(r.name);
    txn.exec0("DROP TABLE IF EXISTS " + target + " CASCADE");
    if (r.is_private) {
      txn.exec0("CREATE TABLE " + target + " (LIKE " + r.qualified + ") PARTITION BY HASH (" +
                txn.quote_name(dataset.privacy_unit) + ")");
      for (size_t i = 0; i < placement.servers.size(); ++i) {
        txn.exec0("CREATE FOREIGN TABLE dpql_shards." + txn.quote_name(r.name + "_" + placement.servers[i]) +
                  " PARTITION OF " + target + " FOR VALUES WITH (MODULUS " + n + ", REMAINDER " +
                  std::to_string(i) + ") SERVER " + txn.quote_name(placement.servers[i]) +
                  " OPTIONS (schema_name 'public', table_name " + txn.quote(r.name) + ", batch_size '1000')");
      }
      txn.exec0("INSERT INTO " + target + " SELECT * FROM " + r.qualified);
      std::string counts;
      for (const auto& row : txn.exec("SELECT tableoid::regclass::text, count(*) FROM " + target + " GROUP BY 1 ORDER BY 1")) {
        counts += (counts.empty() ? "" : ", ") + std::string(row[0].c_str()) + " " + row[1].c_str();
      }
      steps.push_back(r.name + ": rows by " + dataset.privacy_unit + " to " + n + " shards (" + counts + ")");
    } else {
      txn.exec0("CREATE SCHEMA IF NOT EXISTS dpql_load");
      for (const std::string& server : placement.servers) {
        const std::string copy = "dpql_load." + txn.quote_name(r.name);
        txn.exec0("IMPORT FOREIGN SCHEMA public LIMIT TO (" + txn.quote_name(r.name) + ") FROM SERVER " +
                  txn.quote_name(server) + " INTO dpql_load");
        txn.exec0("INSERT INTO " + copy + " SELECT * FROM " + r.qualified);
        txn.exec0("DROP FOREIGN TABLE " + copy);
      }
      steps.push_back(r.name + ": public, copied whole to each of " + n + " shards");
    }
  }
  rows->commit();
  rows.reset();
  // 3. Views and materialized views (refreshed from the shard's own rows),
  //    then indexes, from the coordinator's definitions; statistics.
  pqxx::nontransaction after(connection);
  auto on_every_shard = [&](const std::string& sql) {
    for (const std::string& server : placement.servers) after.exec_params("SELECT dblink_exec($1, $2)", server, sql);
  };
  for (const Relation& r : relations) {
    if (r.kind == 'r') continue;
    const std::string definition =
        after.exec_params1("SELECT rtrim(pg_get_viewdef($1::regclass), E'; \\n')", r.qualified)[0].c_str();
    const std::string name = after.quote_name(r.name);
    if (r.kind == 'v') {
      on_every_shard("CREATE OR REPLACE VIEW " + name + " AS " + definition);
      steps.push_back(r.name + ": view re-created on each shard");
    } else {
      on_every_shard("CREATE MATERIALIZED VIEW IF NOT EXISTS " + name + " AS " + definition + " WITH NO DATA");
      on_every_shard("REFRESH MATERIALIZED VIEW " + name);
      steps.push_back(r.name + ": materialized view re-created and refreshed on each shard");
    }
  }
  for (const Relation& r : relations) {
    if (r.kind == 'v') continue;
    for (const auto& index : after.exec_params(
             "SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX ', "
             "'CREATE \\1INDEX IF NOT EXISTS ') FROM pg_index WHERE indrelid = $1::regclass",
             r.qualified)) {
      on_every_shard(index[0].c_str());
    }
  }
  for (const std::string& server : placement.servers) after.exec_params("SELECT dblink_exec($1, 'ANALYZE')", server);
  steps.push_back("statistics gathered on each shard (ANALYZE)");
  return steps;
}

}  // namespace

}  // namespace dpql
