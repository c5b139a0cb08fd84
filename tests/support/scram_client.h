#pragma once

// The client's side of SCRAM-SHA-256 as libpq speaks it (GS2 header "n,,",
// empty user name), written out with OpenSSL for the tests of the server's
// side (runtime/ledger/scram.h): it derives its proof from the password alone,
// never from the verifier under test.

#include <string>
#include <string_view>

#include "runtime/ledger/scram.h"

namespace dpql {

class ScramClient {
 public:
  ScramClient(std::string password, std::string client_nonce);

  // The client-first-message: "n,,n=,r=<client nonce>".
  std::string First() const;
  // The client-final-message answering `server_first` ("r=...,s=...,i=...").
  // Throws scram::ScramError when that message is malformed or its nonce does
  // not extend the client's.
  std::string Final(std::string_view server_first);
  // Whether `server_final` ("v=...") proves the server knew the verifier.
  bool ServerSignatureMatches(std::string_view server_final) const;

 private:
  std::string password_;
  std::string client_nonce_;
  std::string expected_server_final_;
};

// A whole exchange of `password` against a server holding `verifier`: true
// when the server accepts the client's proof and the client accepts the
// server's signature; false when the server refuses the proof.
bool ScramAuthenticates(const scram::Verifier& verifier, const std::string& password);

}  // namespace dpql
