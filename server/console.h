#pragma once

// The web console's files (issue 19; docs/CONSOLE.md): read into memory once
// at start-up from the console directory (`console_dir`, --console-dir, or
// <dpqld's folder>/../console), then served from memory with no filesystem
// access per request. Only the files found at start-up exist: a request for
// anything else (`..`, an absolute path, a file added later) is 404.
//
//   GET|HEAD /              -> index.html    Cache-Control: no-cache
//   GET|HEAD /assets/<file> -> that file     Cache-Control: public, max-age=31536000, immutable
//
// A `.gz` sibling is sent (Content-Encoding: gzip) when Accept-Encoding allows
// gzip; every answer carries a strong ETag (If-None-Match -> 304), Vary:
// Accept-Encoding and the console's security headers (a strict CSP: no inline
// script or style, nothing from another host).

#include <map>
#include <optional>
#include <string>

#include "server/router.h"

namespace dpql {

class ConsoleFiles {
 public:
  // Reads `dir`: index.html (required) and every regular file under assets/.
  // Throws DpqlError(kConfigError) naming the directory when index.html is
  // missing or a file cannot be read.
  static ConsoleFiles Load(const std::string& dir);

  // The default console directory, <folder of the running dpqld>/../console,
  // when it holds index.html; nothing otherwise.
  static std::optional<std::string> DefaultDir();

  // True for the paths the console owns: "/" and "/assets/...".
  static bool Owns(std::string_view path);

  // Answers a GET or HEAD of a path Owns() accepted (404 when no such file).
  HttpResponse Serve(std::string_view path, const HttpRequest& request) const;

  const std::string& dir() const { return dir_; }
  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;                    // "\"<sha256 prefix>\""
    std::optional<std::string> gzipped;  // the .gz sibling's bytes
    std::string gzip_etag;
  };

  std::string dir_;
  std::map<std::string, File, std::less<>> files_;  // "/" and "/assets/..." -> file
};

// The headers every console answer carries (CSP, nosniff, ...).
const std::vector<std::pair<std::string, std::string>>& ConsoleSecurityHeaders();

// True when an Accept-Encoding header value accepts gzip (a `gzip` or `*`
// token whose q is not 0).
bool AcceptsGzip(std::string_view accept_encoding);

// True when an If-None-Match header value matches `etag` (weak comparison, or `*`).
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

}  // namespace dpql
