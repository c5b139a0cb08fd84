// The ledger's side of the PostgreSQL wire protocol's login, against a real
// PostgreSQL: each analyst's SCRAM-SHA-256 verifier of their token (schema
// version 5), read by Ledger::FindLogin and replaced by Ledger::NewToken. The
// exchange's client side is tests/support/scram_client, which derives its
// proof from the token alone. The verifier's text is PostgreSQL's own: one
// PostgreSQL made is read, and PostgreSQL accepts one the ledger made.

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "compiler/common/error.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/schema.h"
#include "runtime/ledger/scram.h"
#include "tests/support/pg.h"
#include "tests/support/scram_client.h"

namespace dpql {
namespace {

class LedgerLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = std::make_unique<Ledger>(db_.url());
    ledger_->Init();
  }

  std::string Add(const std::string& name) {
    return ledger_->AddAnalyst(name, "hospital", BudgetCost{1'000'000, 0, 0}, false);
  }

  scram::Verifier VerifierOf(const std::string& name) {
    std::optional<Login> login = ledger_->FindLogin(name);
    if (!login) throw std::runtime_error("no analyst " + name);
    if (!login->verifier) throw std::runtime_error("analyst " + name + " has no verifier");
    return *login->verifier;
  }

  std::string StoredText(const std::string& name) {
    return db_.QueryValue("SELECT coalesce(scram_verifier, 'NULL') FROM dpql.analysts WHERE name = '" + name +
                          "'");
  }

  static std::string ErrorName(const std::function<void()>& action) {
    try {
      action();
    } catch (const DpqlError& e) {
      return std::string(Name(e.code())) + ": " + e.message();
    }
    return "no error";
  }

  TestDatabase db_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerLoginTest, AddAnalystStoresAVerifierTheTokenAuthenticatesAgainst) {
  const std::string token = Add("alice");
  std::optional<Login> login = ledger_->FindLogin("alice");
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(login->analyst.name, "alice");
  EXPECT_EQ(login->analyst.id, ledger_->FindAnalyst("alice")->id);
  EXPECT_FALSE(login->analyst.revoked);
  EXPECT_FALSE(login->analyst.is_admin);
  ASSERT_TRUE(login->verifier.has_value());
  EXPECT_EQ(login->verifier->iterations, scram::kDefaultIterations);
  EXPECT_EQ(login->verifier->salt.size(), 16u);

  EXPECT_TRUE(ScramAuthenticates(*login->verifier, token));
  std::string altered = token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ScramAuthenticates(*login->verifier, altered));
  EXPECT_FALSE(ScramAuthenticates(*login->verifier, Add("bob")));  // another analyst's token

  // Stored in PostgreSQL's text form; the token appears nowhere in the row.
  const std::string text = StoredText("alice");
  EXPECT_EQ(text, scram::FormatVerifier(*login->verifier));
  EXPECT_EQ(text.rfind("SCRAM-SHA-256$4096:", 0), 0u) << text;
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.analysts a WHERE strpos(a::text, '" + token + "') > 0"),
            "0");
  // Each analyst has their own salt.
  EXPECT_NE(VerifierOf("alice").salt, VerifierOf("bob").salt);
}

TEST_F(LedgerLoginTest, FindLoginOfAnUnknownNameIsEmptyAndARevokedAnalystIsMarked) {
  EXPECT_FALSE(ledger_->FindLogin("nobody").has_value());
  EXPECT_FALSE(ledger_->FindLogin("").has_value());
  const std::string token = Add("carol");
  EXPECT_FALSE(ledger_->FindLogin("Carol").has_value());  // names are exact
  ASSERT_TRUE(ledger_->Revoke("carol"));
  std::optional<Login> login = ledger_->FindLogin("carol");
  ASSERT_TRUE(login.has_value());
  EXPECT_TRUE(login->analyst.revoked);  // the caller refuses it
  ASSERT_TRUE(login->verifier.has_value());
}

TEST_F(LedgerLoginTest, NewTokenReplacesTheTokenAndTheVerifier) {
  const std::string old_token = Add("dora");
  const int64_t id = ledger_->FindAnalyst("dora")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", BudgetCost{250'000, 0, 0}, "q").ok());
  const scram::Verifier old_verifier = VerifierOf("dora");
  const std::string old_text = StoredText("dora");

  const std::string new_token = ledger_->NewToken("dora");
  ASSERT_EQ(new_token.rfind("dpql_", 0), 0u) << new_token;
  EXPECT_NE(new_token, old_token);

  // The bearer token: the old one no longer authenticates, the new one does.
  EXPECT_FALSE(ledger_->Authenticate(old_token).has_value());
  ASSERT_TRUE(ledger_->Authenticate(new_token).has_value());
  EXPECT_EQ(ledger_->Authenticate(new_token)->id, id);
  EXPECT_EQ(db_.QueryValue("SELECT encode(token_hash, 'hex') FROM dpql.analysts WHERE name = 'dora'"),
            Sha256Hex(new_token));

  // SCRAM: a new verifier, of the new token only.
  const scram::Verifier new_verifier = VerifierOf("dora");
  EXPECT_NE(StoredText("dora"), old_text);
  EXPECT_NE(new_verifier.salt, old_verifier.salt);
  EXPECT_NE(new_verifier.stored_key, old_verifier.stored_key);
  EXPECT_TRUE(ScramAuthenticates(new_verifier, new_token));
  EXPECT_FALSE(ScramAuthenticates(new_verifier, old_token));

  // The analyst is the same: budget and ledger stay.
  EXPECT_EQ(ledger_->GetBudget(id, "hospital")->spent.epsilon_micro, 250'000);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.ledger WHERE analyst_id = " + std::to_string(id)), "1");
}

TEST_F(LedgerLoginTest, NewTokenRefusesUnknownAndRevokedAnalysts) {
  const std::string token = Add("erin");
  EXPECT_EQ(
      ErrorName([&] { ledger_->NewToken("nobody"); }).rfind("unknown_analyst: unknown analyst 'nobody'", 0),
      0u);
  ASSERT_TRUE(ledger_->Revoke("erin"));
  const std::string text = StoredText("erin");
  const std::string refused = ErrorName([&] { ledger_->NewToken("erin"); });
  EXPECT_EQ(refused.rfind("analyst_revoked: analyst 'erin' has been revoked", 0), 0u) << refused;
  // The refusal changed nothing: still revoked, same verifier and hash.
  EXPECT_EQ(StoredText("erin"), text);
  EXPECT_EQ(db_.QueryValue("SELECT encode(token_hash, 'hex') FROM dpql.analysts WHERE name = 'erin'"),
            Sha256Hex(token));
  EXPECT_TRUE(ledger_->FindLogin("erin")->analyst.revoked);
}

// An analyst created on a version-4 schema has no verifier after the upgrade
// (the bearer token still works) until `new-token` gives them one.
TEST_F(LedgerLoginTest, AnAnalystFromSchemaVersionFourHasNoVerifierUntilNewToken) {
  const std::string token = Add("frank");
  // Turn the database back into a version-4 schema holding that analyst.
  db_.Exec(
      "ALTER TABLE dpql.analysts DROP COLUMN scram_verifier;"
      "DELETE FROM dpql.schema_version WHERE version >= 5;");
  ledger_->Init();
  EXPECT_EQ(db_.QueryValue("SELECT max(version) FROM dpql.schema_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(kSchemaVersion, 5);
  EXPECT_EQ(StoredText("frank"), "NULL");

  std::optional<Login> login = ledger_->FindLogin("frank");
  ASSERT_TRUE(login.has_value());
  EXPECT_EQ(login->analyst.name, "frank");
  EXPECT_FALSE(login->verifier.has_value());
  EXPECT_TRUE(ledger_->Authenticate(token).has_value());

  const std::string new_token = ledger_->NewToken("frank");
  ASSERT_TRUE(ledger_->FindLogin("frank")->verifier.has_value());
  EXPECT_TRUE(ScramAuthenticates(VerifierOf("frank"), new_token));
  // Analysts added after the upgrade get one at once.
  const std::string later = Add("gwen");
  EXPECT_TRUE(ScramAuthenticates(VerifierOf("gwen"), later));
}

TEST_F(LedgerLoginTest, AMalformedStoredVerifierIsADatabaseErrorSayingWhatToDo) {
  Add("hana");
  db_.Exec(
      "UPDATE dpql.analysts SET scram_verifier = 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA' WHERE name = 'hana'");
  const std::string error = ErrorName([&] { (void)ledger_->FindLogin("hana"); });
  EXPECT_EQ(error.rfind(
                "database_error: analyst 'hana' has a malformed SCRAM verifier: the StoredKey is 3 bytes", 0),
            0u)
      << error;
  EXPECT_NE(error.find("dpqld admin new-token"), std::string::npos) << error;
  // And NewToken repairs it.
  const std::string token = ledger_->NewToken("hana");
  EXPECT_TRUE(ScramAuthenticates(VerifierOf("hana"), token));
}

// The verifier's text is PostgreSQL's: a role's password stored as the
// ledger's verifier lets libpq log in with the token (PostgreSQL runs the
// exchange), and a verifier PostgreSQL made for a password is read by
// ParseVerifier and authenticates that password here.
TEST_F(LedgerLoginTest, VerifierTextIsInterchangeableWithPostgresqls) {
  ASSERT_EQ(db_.QueryValue("SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"), "true")
      << "this test reads pg_authid, which needs a superuser (pg_virtualenv's postgres)";
  const std::string role = "dpql_scram_" + std::to_string(getpid());
  const std::string token = Add("ines");
  db_.Exec("DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role + " LOGIN PASSWORD '" +
           StoredText("ines") + "'");
  struct DropRole {
    TestDatabase& db;
    std::string role;
    ~DropRole() {
      try {
        db.Exec("DROP ROLE IF EXISTS " + role);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "could not drop role " << role << ": " << e.what();
      }
    }
  } drop{db_, role};
  // PostgreSQL kept the verifier as given (not hashed again).
  EXPECT_EQ(db_.QueryValue("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'"),
            StoredText("ines"));

  // libpq over TCP (pg_virtualenv's host lines are scram-sha-256).
  auto connect = [&](const std::string& password) {
    try {
      pqxx::connection connection(db_.url() + " host=127.0.0.1 user=" + role + " password=" + password);
      return std::string("connected");
    } catch (const pqxx::broken_connection& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(connect(token), "connected");
  const std::string wrong = connect(token + "x");
  EXPECT_NE(wrong.find("password authentication failed"), std::string::npos) << wrong;

  // The other way: PostgreSQL's own verifier of a password.
  db_.Exec("SET password_encryption = 'scram-sha-256'; ALTER ROLE " + role + " PASSWORD 'pg-made-password'");
  const std::string pg_text =
      db_.QueryValue("SELECT rolpassword FROM pg_authid WHERE rolname = '" + role + "'");
  ASSERT_EQ(pg_text.rfind("SCRAM-SHA-256$", 0), 0u) << "PostgreSQL did not store a SCRAM verifier";
  const scram::Verifier parsed = scram::ParseVerifier(pg_text);
  EXPECT_EQ(scram::FormatVerifier(parsed), pg_text);
  EXPECT_TRUE(ScramAuthenticates(parsed, "pg-made-password"));
  EXPECT_FALSE(ScramAuthenticates(parsed, "pg-made-passwordx"));
}

}  // namespace
}  // namespace dpql
