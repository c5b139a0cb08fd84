#pragma once

// libpqxx 6.4's own declarations of a connection, so that headers taking a
// `pqxx::connection&` need not include <pqxx/pqxx>.

namespace pqxx {
class connect_direct;
template <typename CONNECTPOLICY>
class basic_connection_base;
using connection = basic_connection_base<connect_direct>;
}  // namespace pqxx
