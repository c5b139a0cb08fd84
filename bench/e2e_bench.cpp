// End-to-end benchmark, run by scripts/bench against a loaded hospital
// database and a running dpqld. For each benchmark query it times, in one
// run and interleaved (so that a noisy machine affects all four alike), in an
// order that rotates from round to round (so that none of them always runs
// right after the same other one):
//   naive      the plain GROUP BY a careless analyst would write
//   reference  the same groups with the per-patient pre-aggregation that any
//              correct per-person bound needs (the lower bound for DPQL)
//   engine     the DP query through dpql::Engine (parse .. SQL .. debit .. noise)
//   http       the DP query through dpqld over HTTP
// and prints medians and ratios; --json writes them as a file. With --load it
// also measures dpqld under concurrent clients (cached and uncached answers).
//
// Every DP query carries a slightly different epsilon on each repetition so
// that the answer cache never serves it: the figures are for real work.

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/workload.h"
#include "compiler/catalog/catalog.h"
#include "repl/http_client.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/random/random_source.h"

namespace dpql {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

struct Options {
  std::string database;  // libpq connection string
  std::string catalog;
  std::string url;  // dpqld
  std::string token;
  std::string analyst;
  int64_t rows = 0;  // as loaded, for the report
  int repeat = 7;
  std::string only;  // run only queries whose name contains this
  std::string json_out;
  int load_seconds = 0;  // 0: no load test
  int64_t dpqld_pid = 0;
  int pg_port = 0;  // dpqld's PostgreSQL front end (0: not measured)
};

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

template <typename F>
double Time(F&& f) {
  auto start = Clock::now();
  f();
  return Millis(Clock::now() - start);
}

std::string WithPrivacy(const BenchQuery& q, int64_t variant) {
  // epsilon 0.5 plus a different millionth each time: no two runs share a cache key.
  char epsilon[32];
  std::snprintf(epsilon, sizeof epsilon, "0.5%06lld", static_cast<long long>(variant % 1000000));
  return q.dpql + " WITH PRIVACY (epsilon = " + epsilon + q.privacy + ")";
}

std::string QueryBody(const std::string& text) {
  return json{{"query", text}, {"dataset", "hospital"}}.dump();
}

HttpClientResponse Post(HttpClient& client, const Options& options, const std::string& text) {
  return client.Send("POST", "/v1/query", QueryBody(text),
                     {{"Authorization", "Bearer " + options.token}, {"Content-Type", "application/json"}});
}

// CPU seconds (user + system) the process has used so far, from /proc.
double CpuSeconds(int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t PeakRssKb(int64_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

json RunQueries(const Options& options, const Catalog& catalog) {
  ConnectionPool pool(options.database, 2);
  // A statement timeout far above any benchmark query's time (10M rows on a
  // busy machine take tens of seconds); scripts/bench gives dpqld the same.
  Engine engine(catalog, pool, std::make_unique<SecureRandom>(), 1800000);
  Ledger ledger{options.database};
  auto analyst = ledger.FindAnalyst(options.analyst);
  if (!analyst) throw std::runtime_error("no analyst named " + options.analyst);
  Caller caller{analyst->id, analyst->name};
  HttpClient http(ParseUrl(options.url));
  pqxx::connection sql(options.database);

  std::vector<BenchQuery> queries;
  for (const BenchQuery& q : Queries()) {
    if (q.name.find(options.only) == std::string::npos) continue;
    try {
      engine.Run(caller, "hospital", "EXPLAIN " + WithPrivacy(q, 0));
      queries.push_back(q);
    } catch (const std::exception& e) {
      std::printf("skipping %s: DPQL refuses it: %s\n", q.name.c_str(), e.what());
    }
  }
  struct Samples {
    std::vector<double> naive, reference, engine, http;
  };
  std::vector<Samples> samples(queries.size());
  int64_t variant = static_cast<int64_t>(getpid()) * 1000;
  auto run_sql = [&](const std::string& text) {
    pqxx::nontransaction tx(sql);
    pqxx::result r = tx.exec(text);
    return r.size();
  };
  // One warm-up round (caches, plans), then `repeat` timed rounds.
  for (int round = 0; round <= options.repeat; ++round) {
    for (size_t i = 0; i < queries.size(); ++i) {
      const BenchQuery& q = queries[i];
      double naive = 0, reference = 0, via_engine = 0, via_http = 0;
      HttpClientResponse response;
      for (int k = 0; k < 4; ++k) {
        switch ((round + k) % 4) {
          case 0: naive = Time([&] { run_sql(q.naive); }); break;
          case 1: reference = Time([&] { run_sql(q.reference); }); break;
          case 2:
            via_engine = Time([&] { engine.Run(caller, "hospital", WithPrivacy(q, ++variant)); });
            break;
          default: via_http = Time([&] { response = Post(http, options, WithPrivacy(q, ++variant)); });
        }
      }
      if (response.status != 200) {
        throw std::runtime_error(q.name + " failed over HTTP (" + std::to_string(response.status) +
                                 "): " + response.body);
      }
      if (round == 0) continue;
      samples[i].naive.push_back(naive);
      samples[i].reference.push_back(reference);
      samples[i].engine.push_back(via_engine);
      samples[i].http.push_back(via_http);
    }
  }

  // Besides the ratio of the medians, each round's own ratio (its slower DP
  // path over its reference, timed moments apart): their median and range
  // show how far the machine's drift between rounds moves the figure.
  json results = json::array();
  std::printf("\n%-30s %10s %10s %10s %10s %8s %8s %17s\n", "query (median ms)", "naive", "reference",
              "dp_engine", "dp_http", "dp/ref", "dp/naive", "per round: median");
  for (size_t i = 0; i < queries.size(); ++i) {
    const Samples& s = samples[i];
    const double naive = Median(s.naive), reference = Median(s.reference);
    const double via_engine = Median(s.engine), via_http = Median(s.http);
    const double dp = std::max(via_engine, via_http);
    std::vector<double> per_round;
    for (size_t r = 0; r < s.reference.size(); ++r) {
      per_round.push_back(std::max(s.engine[r], s.http[r]) / s.reference[r]);
    }
    const auto [low, high] = std::minmax_element(per_round.begin(), per_round.end());
    std::printf("%-30s %10.1f %10.1f %10.1f %10.1f %8.2f %8.2f %6.2f (%.2f-%.2f)\n", queries[i].name.c_str(),
                naive, reference, via_engine, via_http, dp / reference, dp / naive, Median(per_round), *low,
                *high);
    results.push_back(
        {{"name", queries[i].name},
         {"naive_ms", naive},
         {"reference_ms", reference},
         {"dp_engine_ms", via_engine},
         {"dp_http_ms", via_http},
         {"dp_over_reference", dp / reference},
         {"dp_over_naive", dp / naive},
         {"dp_over_reference_per_round", per_round},
         {"rounds_ms",
          {{"naive", s.naive}, {"reference", s.reference}, {"dp_engine", s.engine}, {"dp_http", s.http}}}});
  }
  return results;
}

// `connections` clients, each with its own keep-alive connection, for
// `seconds`; cached: the same query text every time (served from the answer
// cache after the first), uncached: a new epsilon each time (real work).
json RunLoad(const Options& options, int connections, bool cached) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> not_cached{0};  // cached run: answers that were not served from the cache
  std::vector<std::vector<double>> latencies(connections);
  std::vector<std::thread> threads;
  const std::string fixed = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.25)";
  if (cached) {
    HttpClient warm(ParseUrl(options.url));
    Post(warm, options, fixed);
  }
  const double cpu_before = options.dpqld_pid ? CpuSeconds(options.dpqld_pid) : 0;
  auto start = Clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      HttpClient client(ParseUrl(options.url));
      BenchQuery q{"", "SELECT sex, COUNT(*) FROM admissions GROUP BY sex", "", "", ""};
      int64_t variant = (static_cast<int64_t>(c) + 1) * 10000 + getpid() % 1000;
      while (!stop.load(std::memory_order_relaxed)) {
        std::string text = cached ? fixed : WithPrivacy(q, ++variant);
        auto t0 = Clock::now();
        try {
          HttpClientResponse r = Post(client, options, text);
          if (r.status != 200) ++errors;
          if (cached && r.body.find("\"cached\":true") == std::string::npos) ++not_cached;
        } catch (const std::exception&) {
          ++errors;
        }
        latencies[c].push_back(Millis(Clock::now() - t0));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(options.load_seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = Millis(Clock::now() - start) / 1000;
  const double cpu = options.dpqld_pid ? CpuSeconds(options.dpqld_pid) - cpu_before : 0;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  json out = {
      {"cached", cached},
      {"connections", connections},
      {"requests", all.size()},
      {"errors", errors.load()},
      {"not_cached", not_cached.load()},
      {"requests_per_second", static_cast<double>(all.size()) / elapsed},
      {"p50_ms", Percentile(all, 0.5)},
      {"p99_ms", Percentile(all, 0.99)},
      {"server_peak_rss_mb",
       options.dpqld_pid ? static_cast<double>(PeakRssKb(options.dpqld_pid)) / 1024 : 0.0},
      {"server_cpu_ms_per_request", all.empty() ? 0.0 : 1000 * cpu / static_cast<double>(all.size())}};
  std::printf(
      "%-9s %5d conns %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %lld  peak RSS %.0f MB"
      "  dpqld CPU %.3f ms/req\n",
      cached ? "cached" : "uncached", connections, out["requests_per_second"].get<double>(),
      out["p50_ms"].get<double>(), out["p99_ms"].get<double>(),
      static_cast<long long>(errors.load() + not_cached.load()), out["server_peak_rss_mb"].get<double>(),
      out["server_cpu_ms_per_request"].get<double>());
  return out;
}

// The cached load over dpqld's PostgreSQL front end: `connections` libpq
// sessions, each sending the same simple query as the cached HTTP load. The
// same measures, so the two protocols compare in one run.
json RunPgLoad(const Options& options, int connections) {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(options.pg_port) + " user=" + options.analyst +
                               " dbname=hospital sslmode=disable password=" + options.token;
  const std::string fixed = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.25)";
  std::atomic<bool> stop{false};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> latencies(connections);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};  // timing starts once every session has logged in
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      PGconn* conn = PQconnectdb(conninfo.c_str());
      ++ready;
      if (PQstatus(conn) != CONNECTION_OK) {
        ++errors;
        PQfinish(conn);
        return;
      }
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        auto t0 = Clock::now();
        PGresult* result = PQexec(conn, fixed.c_str());
        if (PQresultStatus(result) != PGRES_TUPLES_OK) ++errors;
        PQclear(result);
        latencies[c].push_back(Millis(Clock::now() - t0));
      }
      PQfinish(conn);
    });
  }
  while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::seconds(options.load_seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = Millis(Clock::now() - start) / 1000;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  json out = {{"protocol", "postgresql"},
              {"cached", true},
              {"connections", connections},
              {"requests", all.size()},
              {"errors", errors.load()},
              {"requests_per_second", static_cast<double>(all.size()) / elapsed},
              {"p50_ms", Percentile(all, 0.5)},
              {"p99_ms", Percentile(all, 0.99)}};
  std::printf("pg wire  %5d conns %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %lld\n", connections,
              out["requests_per_second"].get<double>(), out["p50_ms"].get<double>(), out["p99_ms"].get<double>(),
              static_cast<long long>(errors.load()));
  return out;
}

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--database")
      options.database = value();
    else if (arg == "--catalog")
      options.catalog = value();
    else if (arg == "--url")
      options.url = value();
    else if (arg == "--token")
      options.token = value();
    else if (arg == "--analyst")
      options.analyst = value();
    else if (arg == "--rows")
      options.rows = std::stoll(value());
    else if (arg == "--repeat")
      options.repeat = std::stoi(value());
    else if (arg == "--only")
      options.only = value();
    else if (arg == "--json")
      options.json_out = value();
    else if (arg == "--load-seconds")
      options.load_seconds = std::stoi(value());
    else if (arg == "--dpqld-pid")
      options.dpqld_pid = std::stoll(value());
    else if (arg == "--pg-port")
      options.pg_port = std::stoi(value());
    else
      throw std::invalid_argument("unknown option " + arg + " (see scripts/bench)");
  }
  if (options.catalog.empty() || options.url.empty() || options.token.empty() || options.analyst.empty()) {
    throw std::invalid_argument("--catalog, --url, --token and --analyst are required");
  }
  Catalog catalog = LoadCatalog(options.catalog);
  json report = {{"rows", options.rows}, {"repeat", options.repeat}};
  report["queries"] = RunQueries(options, catalog);
  if (options.load_seconds > 0) {
    std::printf("\nload test: %d s per point\n", options.load_seconds);
    json load = json::array();
    for (bool cached : {true, false}) {
      for (int connections : {1, 8, 32, 128}) load.push_back(RunLoad(options, connections, cached));
    }
    report["load"] = load;
    if (options.pg_port != 0) {
      // The same cached query over both protocols, interleaved per point.
      std::printf("\nthe cached query over HTTP and over the PostgreSQL protocol\n");
      json protocols = json::array();
      for (int connections : {1, 8, 32}) {
        json http = RunLoad(options, connections, true);
        json pg = RunPgLoad(options, connections);
        const double ratio = pg["requests_per_second"].get<double>() /
                             std::max(1.0, http["requests_per_second"].get<double>());
        std::printf("  %3d conns: pg/http throughput %.2f x, p99 %.2f / %.2f ms\n", connections, ratio,
                    pg["p99_ms"].get<double>(), http["p99_ms"].get<double>());
        protocols.push_back({{"connections", connections}, {"http", http}, {"pg", pg}, {"pg_over_http", ratio}});
      }
      report["protocols"] = protocols;
    }
  }
  if (!options.json_out.empty()) {
    std::ofstream(options.json_out) << report.dump(2) << "\n";
    std::printf("\nwrote %s\n", options.json_out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace dpql

int main(int argc, char** argv) {
  try {
    return dpql::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpql_e2e_bench: %s\n", e.what());
    return 1;
  }
}
