#include <optional>
#include <string>
#include <vector>

#include "compiler/common/flags.h"
#include "repl/http_client.h"
#include "repl/repl.h"

namespace dpql {

const char* const kDpqlUsage =
    R"(usage: dpql [--url URL] [--token TOKEN] [--dataset NAME] [--project NAME] [-c QUERY | -f FILE]
            [--format table|csv|json] [--insecure]

  --url URL         dpqld's address (default: $DPQL_URL, else http://127.0.0.1:8765)
  --token TOKEN     bearer token from `dpqld admin add-analyst` (default: $DPQL_TOKEN)
  --dataset NAME    the dataset to query (default: your only dataset)
  --project NAME    the research project that pays (default: your own budget,
                    else your only project on the dataset); \project in the REPL
  -c QUERY          run QUERY (one or more statements separated by ;) and exit
  -f FILE           run the statements in FILE ("-" = stdin) and exit
  --format FORMAT   table (default; aligned, value ± half-width), csv or json
  --insecure        https only: do not verify the server's certificate
  --help            show this help;  --version  show the version

Without -c/-f, dpql is interactive when stdin is a terminal and otherwise runs
the statements read from stdin. Exit status: 0 ok, 1 a statement failed,
2 bad arguments or dpqld unreachable / token refused.
)";

ReplOptions ParseReplOptions(const std::vector<std::string>& args, const char* (*env)(const char*)) {
  ReplOptions options;
  bool url_given = false, token_given = false;
  FlagReader flags(args);
  while (flags.Next()) {
    const std::string& flag = flags.flag();
    auto value = [&]() -> std::string {
      std::optional<std::string> given = flags.Value();
      if (!given) throw ReplUsageError(flag + " needs a value");
      return *given;
    };
    if (flag == "--help" || flag == "-h" || flag == "-?") {
      options.help = true;
    } else if (flag == "--version" || flag == "-V") {
      options.version = true;
    } else if (flag == "--url" || flag == "-u") {
      options.url = value();
      url_given = true;
    } else if (flag == "--token" || flag == "-t") {
      options.token = value();
      token_given = true;
    } else if (flag == "--dataset" || flag == "-d") {
      options.dataset = value();
    } else if (flag == "--project") {
      options.project = value();
    } else if (flag == "-c" || flag == "--command") {
      if (options.command || options.file) throw ReplUsageError("give either one -c QUERY or one -f FILE");
      options.command = value();
    } else if (flag == "-f" || flag == "--file") {
      if (options.command || options.file) throw ReplUsageError("give either one -c QUERY or one -f FILE");
      options.file = value();
    } else if (flag == "--format" || flag == "-F") {
      std::string name = value();
      auto format = ParseOutputFormat(name);
      if (!format) throw ReplUsageError("--format must be table, csv or json, not '" + name + "'");
      options.format = *format;
    } else if (flag == "--csv") {
      options.format = OutputFormat::kCsv;
    } else if (flag == "--json") {
      options.format = OutputFormat::kJson;
    } else if (flag == "--insecure" || flag == "-k") {
      options.insecure = true;
    } else {
      throw ReplUsageError("unknown argument '" + flags.arg() + "'; see dpql --help");
    }
  }
  if (!url_given) {
    const char* url = env("DPQL_URL");
    if (url && *url) options.url = url;
  }
  if (!token_given) {
    const char* token = env("DPQL_TOKEN");
    if (token && *token) options.token = token;
  }
  try {
    ParseUrl(options.url);
  } catch (const std::invalid_argument& error) {
    throw ReplUsageError(std::string("--url: ") + error.what());
  }
  return options;
}

}  // namespace dpql
