// What an analyst's JDBC tool (DBeaver, a notebook's JDBC kernel, a report
// server) does against dpqld's PostgreSQL port, through Debian's pgjdbc
// (libpostgresql-jdbc-java). Run by PgWireTest.JdbcDriverQueriesWithBoundParameters:
//
//   java -cp /usr/share/java/postgresql.jar JdbcClient.java PORT TOKEN [URL_PARAMETERS]
//
// Prints one JSON object a line, one per fact ({"fact": NAME, ...}); a step
// that fails prints its SQLState and message instead of stopping the run.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class JdbcClient {
  static String quote(String text) {
    if (text == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c == '\n') out.append("\\n");
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }

  static String list(List<String> items) {
    return "[" + String.join(",", items) + "]";
  }

  static void fact(String name, String fields) {
    System.out.println("{\"fact\":" + quote(name) + (fields.isEmpty() ? "" : "," + fields) + "}");
  }

  static void failed(String name, SQLException error) {
    fact(name, "\"error\":true,\"sqlstate\":" + quote(error.getSQLState()) + ",\"message\":" + quote(error.getMessage()));
  }

  static List<String> warnings(SQLWarning warning) {
    List<String> out = new ArrayList<>();
    for (; warning != null; warning = warning.getNextWarning()) out.add(quote(warning.getMessage()));
    return out;
  }

  // The rows of `rs` as JSON arrays of strings, and its metadata as one fact.
  static List<String> rows(ResultSet rs, String name) throws SQLException {
    ResultSetMetaData meta = rs.getMetaData();
    List<String> columns = new ArrayList<>(), types = new ArrayList<>(), classes = new ArrayList<>();
    for (int i = 1; i <= meta.getColumnCount(); ++i) {
      columns.add(quote(meta.getColumnLabel(i)));
      types.add(quote(meta.getColumnTypeName(i)));
      classes.add(quote(meta.getColumnClassName(i)));
    }
    fact(name + "_metadata", "\"columns\":" + list(columns) + ",\"types\":" + list(types) + ",\"classes\":" + list(classes));
    List<String> out = new ArrayList<>();
    while (rs.next()) {
      List<String> row = new ArrayList<>();
      for (int i = 1; i <= meta.getColumnCount(); ++i) row.add(quote(rs.getString(i)));
      out.add(list(row));
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/hospital?sslmode=disable" + (args.length > 2 ? "&" + args[2] : "");
    Properties properties = new Properties();
    properties.setProperty("user", "planner");
    properties.setProperty("password", args[1]);
    properties.setProperty("ApplicationName", "JdbcClient");
    try (Connection connection = DriverManager.getConnection(url, properties)) {
      DatabaseMetaData database = connection.getMetaData();
      fact("connected", "\"product\":" + quote(database.getDatabaseProductName()) + ",\"version\":" +
                            quote(database.getDatabaseProductVersion()) + ",\"driver\":" + quote(database.getDriverVersion()));

      // A Statement query: the simple protocol, with its cost as a warning.
      try (Statement statement = connection.createStatement()) {
        try (ResultSet rs = statement.executeQuery("SELECT ward_code, COUNT(*) AS n FROM admissions GROUP BY ward_code")) {
          List<String> rows = rows(rs, "statement");
          fact("statement", "\"rows\":" + rows.size() + ",\"first\":" + (rows.isEmpty() ? "null" : rows.get(0)));
        }
        fact("statement_warnings", "\"warnings\":" + list(warnings(statement.getWarnings())));
      } catch (SQLException error) {
        failed("statement", error);
      }

      // A PreparedStatement with a bound String and a bound int, run twice
      // (pgjdbc switches to a named server-side statement on the fifth run
      // by default; prepareThreshold=1 in a second round exercises it too).
      String prepared = "SELECT sex, COUNT(*) AS n FROM admissions WHERE admission_method = ? AND age >= ? GROUP BY sex";
      try (PreparedStatement statement = connection.prepareStatement(prepared)) {
        statement.setString(1, "emergency");
        statement.setInt(2, 65);
        ResultSetMetaData before = statement.getMetaData();
        fact("prepared_metadata_before_execute", "\"columns\":" + (before == null ? "null" : before.getColumnCount()));
        try (ResultSet rs = statement.executeQuery()) {
          List<String> rows = rows(rs, "prepared");
          fact("prepared", "\"rows\":" + list(rows));
        }
        fact("prepared_warnings", "\"warnings\":" + list(warnings(statement.getWarnings())));
      } catch (SQLException error) {
        failed("prepared", error);
      }
      try (PreparedStatement statement = connection.prepareStatement(prepared)) {
        statement.unwrap(org.postgresql.PGStatement.class).setPrepareThreshold(1);
        statement.setString(1, "elective");
        statement.setInt(2, 18);
        try (ResultSet rs = statement.executeQuery()) {
          fact("server_prepared", "\"rows\":" + list(rows(rs, "server_prepared")));
        }
      } catch (SQLException error) {
        failed("server_prepared", error);
      }

      // What a tool asks on connect and before showing a table list.
      try (Statement statement = connection.createStatement();
           ResultSet rs = statement.executeQuery("SHOW TRANSACTION ISOLATION LEVEL")) {
        rs.next();
        fact("isolation", "\"value\":" + quote(rs.getString(1)) + ",\"jdbc\":" + connection.getTransactionIsolation());
      } catch (SQLException error) {
        failed("isolation", error);
      }
      try {
        List<String> tables = new ArrayList<>();
        try (ResultSet rs = database.getTables(null, null, "%", new String[] {"TABLE"})) {
          while (rs.next()) tables.add(quote(rs.getString("TABLE_NAME")));
        }
        fact("get_tables", "\"tables\":" + list(tables));
      } catch (SQLException error) {
        failed("get_tables", error);
      }
      try {
        List<String> columns = new ArrayList<>();
        try (ResultSet rs = database.getColumns(null, null, "admissions", "%")) {
          while (rs.next()) columns.add(quote(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME")));
        }
        fact("get_columns", "\"columns\":" + list(columns));
      } catch (SQLException error) {
        failed("get_columns", error);
      }

      // A refused query: its SQLState, and nothing charged.
      try (Statement statement = connection.createStatement()) {
        statement.executeQuery("SELECT COUNT(*) FROM admissions WHERE nosuch = 1");
        fact("refused", "\"error\":false");
      } catch (SQLException error) {
        failed("refused", error);
      }
      // The session still answers after the refusal.
      try (Statement statement = connection.createStatement();
           ResultSet rs = statement.executeQuery("SHOW BUDGET")) {
        List<String> rows = rows(rs, "budget");
        fact("budget", "\"rows\":" + list(rows));
      } catch (SQLException error) {
        failed("budget", error);
      }
    } catch (SQLException error) {
      failed("connect", error);
      System.exit(1);
    }
  }
}
