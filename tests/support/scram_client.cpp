#include "tests/support/scram_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <optional>
#include <utility>

namespace dpql {
namespace {

using Key = std::array<unsigned char, 32>;

Key Hmac(const Key& key, std::string_view data) {
  Key out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view AsText(const Key& key) { return {reinterpret_cast<const char*>(key.data()), key.size()}; }

// The value of attribute `name` ("x=value") among the comma-separated `message`.
std::string Attribute(std::string_view message, char name) {
  size_t start = 0;
  while (start <= message.size()) {
    size_t comma = message.find(',', start);
    if (comma == std::string_view::npos) comma = message.size();
    const std::string_view part = message.substr(start, comma - start);
    if (part.size() >= 2 && part[0] == name && part[1] == '=') return std::string(part.substr(2));
    start = comma + 1;
  }
  throw scram::ScramError(std::string("server-first-message without '") + name + "='");
}

}  // namespace

ScramClient::ScramClient(std::string password, std::string client_nonce)
    : password_(std::move(password)), client_nonce_(std::move(client_nonce)) {}

std::string ScramClient::First() const { return "n,,n=,r=" + client_nonce_; }

std::string ScramClient::Final(std::string_view server_first) {
  const std::string nonce = Attribute(server_first, 'r');
  if (nonce.size() <= client_nonce_.size() || nonce.compare(0, client_nonce_.size(), client_nonce_) != 0) {
    throw scram::ScramError("the server's nonce does not extend the client's");
  }
  const std::string salt = scram::Base64Decode(Attribute(server_first, 's'));
  const int iterations = std::stoi(Attribute(server_first, 'i'));
  Key salted{};
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                    iterations, EVP_sha256(), static_cast<int>(salted.size()), salted.data());
  const Key client_key = Hmac(salted, "Client Key");
  Key stored_key{};
  SHA256(client_key.data(), client_key.size(), stored_key.data());
  const std::string without_proof = "c=" + scram::Base64Encode("n,,") + ",r=" + nonce;
  const std::string auth_message = First().substr(3) + "," + std::string(server_first) + "," + without_proof;
  const Key signature = Hmac(stored_key, auth_message);
  Key proof{};
  for (size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<unsigned char>(client_key[i] ^ signature[i]);
  expected_server_final_ = "v=" + scram::Base64Encode(AsText(Hmac(Hmac(salted, "Server Key"), auth_message)));
  return without_proof + ",p=" + scram::Base64Encode(AsText(proof));
}

bool ScramClient::ServerSignatureMatches(std::string_view server_final) const {
  return !expected_server_final_.empty() && server_final == expected_server_final_;
}

bool ScramAuthenticates(const scram::Verifier& verifier, const std::string& password) {
  ScramClient client(password, scram::ServerExchange::NewNonce());
  scram::ServerExchange server(verifier, scram::ServerExchange::NewNonce());
  const std::string server_first = server.ClientFirst(client.First());
  const std::optional<std::string> server_final = server.ClientFinal(client.Final(server_first));
  if (!server_final) return false;
  // The server accepted: its signature must prove it too held the verifier.
  if (!client.ServerSignatureMatches(*server_final)) {
    ADD_FAILURE() << "the server accepted the proof but its signature " << *server_final << " is wrong";
    return false;
  }
  return true;
}

}  // namespace dpql
