#include "server/console.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "compiler/common/error.h"
#include "runtime/crypto/sha256.h"

namespace dpql {

namespace {

namespace fs = std::filesystem;

// The console's whole build is a few hundred KB; anything near this is a wrong directory.
constexpr uintmax_t kMaxConsoleBytes = 64ull * 1024 * 1024;

constexpr const char* kIndexCache = "no-cache";
constexpr const char* kAssetCache = "public, max-age=31536000, immutable";

[[noreturn]] void Fail(const std::string& message) { throw DpqlError(ErrorCode::kConfigError, message); }

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("console: cannot read " + path.string() + "; check its permissions");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ContentType(const std::string& name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [suffix, type] : kTypes) {
    std::string_view s(suffix);
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return type;
  }
  return "application/octet-stream";
}

std::string Etag(const std::string& body, const char* variant) {
  return "\"" + Sha256Hex(body).substr(0, 32) + variant + "\"";
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& ConsoleSecurityHeaders() {
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
  };
  return kHeaders;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? "" : accept_encoding.substr(comma + 1);
    size_t semicolon = item.find(';');
    std::string_view coding = Trim(item.substr(0, semicolon));
    if (!IEquals(coding, "gzip") && !IEquals(coding, "x-gzip") && coding != "*") continue;
    bool refused = false;
    if (semicolon != std::string_view::npos) {
      std::string_view param = Trim(item.substr(semicolon + 1));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        std::string_view q = Trim(param.substr(2));
        // q=0, q=0.0, q=0.00, q=0.000: refused.
        refused = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!refused) return true;
  }
  return false;
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view item = Trim(if_none_match.substr(0, comma));
    if_none_match = comma == std::string_view::npos ? "" : if_none_match.substr(comma + 1);
    if (item == "*") return true;
    if (item.rfind("W/", 0) == 0) item.remove_prefix(2);  // If-None-Match compares weakly
    if (item == etag) return true;
  }
  return false;
}

ConsoleFiles ConsoleFiles::Load(const std::string& dir) {
  ConsoleFiles console;
  console.dir_ = dir;
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_regular_file(root / "index.html", ec)) {
    Fail("console: " + (root / "index.html").string() +
         " does not exist; build the console with scripts/console-build, or point console_dir "
         "(--console-dir) at the folder it wrote");
  }
  uintmax_t total = 0;
  auto add = [&](const fs::path& file, const std::string& url) {
    File entry;
    entry.body = ReadAll(file);
    entry.content_type = ContentType(file.filename().string());
    entry.etag = Etag(entry.body, "");
    fs::path gz = file;
    gz += ".gz";
    if (fs::is_regular_file(gz, ec)) {
      entry.gzipped = ReadAll(gz);
      entry.gzip_etag = Etag(entry.body, "-gzip");
      total += entry.gzipped->size();
    }
    total += entry.body.size();
    if (total > kMaxConsoleBytes) {
      Fail("console: " + dir +
           " holds more than 64 MiB; console_dir must be the folder "
           "scripts/console-build wrote (index.html and assets/)");
    }
    console.files_.emplace(url, std::move(entry));
  };
  add(root / "index.html", "/");
  const fs::path assets = root / "assets";
  if (fs::is_directory(assets, ec)) {
    for (fs::recursive_directory_iterator it(assets, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const fs::path& file = it->path();
      std::string relative = file.lexically_relative(assets).generic_string();
      if (file.extension() == ".gz") {
        fs::path base = file;
        base.replace_extension();
        if (fs::is_regular_file(base, ec)) continue;  // a sibling, read with its file
      }
      add(file, "/assets/" + relative);
    }
    if (ec) Fail("console: cannot list " + assets.string() + ": " + ec.message());
  }
  return console;
}

std::optional<std::string> ConsoleFiles::DefaultDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  fs::path dir = (exe.parent_path() / ".." / "console").lexically_normal();
  if (!fs::is_regular_file(dir / "index.html", ec)) return std::nullopt;
  return dir.string();
}

bool ConsoleFiles::Owns(std::string_view path) { return path == "/" || path.rfind("/assets/", 0) == 0; }

HttpResponse ConsoleFiles::Serve(std::string_view path, const HttpRequest& request) const {
  HttpResponse response;
  auto found = files_.find(path);
  if (found == files_.end()) {
    response.status = 404;
    response.body =
        "{\"error\":{\"code\":\"not_found\",\"kind\":\"request_error\",\"message\":"
        "\"no such console file\"}}\n";
    return response;
  }
  const File& file = found->second;
  const bool gzip = file.gzipped && AcceptsGzip(request.accept_encoding);
  const std::string& etag = gzip ? file.gzip_etag : file.etag;
  response.headers = ConsoleSecurityHeaders();
  response.headers.emplace_back("Cache-Control", path == "/" ? kIndexCache : kAssetCache);
  response.headers.emplace_back("ETag", etag);
  response.headers.emplace_back("Vary", "Accept-Encoding");
  if (EtagMatches(request.if_none_match, etag)) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = file.content_type;
  if (gzip) {
    response.headers.emplace_back("Content-Encoding", "gzip");
    response.body = *file.gzipped;
  } else {
    response.body = file.body;
  }
  return response;
}

}  // namespace dpql
