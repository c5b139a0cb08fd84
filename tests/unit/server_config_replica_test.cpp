// dpqld.yaml's `replica` key: a streaming read replica's connection string
// for the data queries (docs/OPERATIONS.md, "Configuration").

#include <gtest/gtest.h>

#include <string>

#include "compiler/common/error.h"
#include "server/config.h"

namespace dpql {
namespace {

TEST(ServerConfigReplica, IsReadAsAConnectionString) {
  ServerConfig config = ParseServerConfig(
      "database: \"host=db-primary dbname=hospital\"\n"
      "replica: \"host=db-replica port=5432 dbname=hospital\"\n"
      "catalog: catalog.yaml\n",
      "dpqld.yaml", "");
  EXPECT_EQ(config.database, "host=db-primary dbname=hospital");
  EXPECT_EQ(config.replica, "host=db-replica port=5432 dbname=hospital");
}

TEST(ServerConfigReplica, IsNoneWhenAbsentOrEmpty) {
  EXPECT_EQ(ParseServerConfig("catalog: catalog.yaml\n", "dpqld.yaml", "").replica, "");
  EXPECT_EQ(ParseServerConfig("catalog: catalog.yaml\nreplica:\n", "dpqld.yaml", "").replica, "");
}

TEST(ServerConfigReplica, AListIsRefusedWithTheKeyNamed) {
  try {
    ParseServerConfig("catalog: catalog.yaml\nreplica: [host=a, host=b]\n", "dpqld.yaml", "");
    FAIL() << "a list was accepted as `replica`";
  } catch (const DpqlError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kConfigError);
    const std::string message = error.what();
    EXPECT_NE(message.find("replica"), std::string::npos) << message;
    EXPECT_NE(message.find("expected a single value"), std::string::npos) << message;
  }
}

TEST(ServerConfigReplica, IsAmongTheKnownKeys) {
  try {
    ParseServerConfig("catalog: catalog.yaml\nreplicas: x\n", "dpqld.yaml", "");
    FAIL() << "an unknown key was accepted";
  } catch (const DpqlError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("known keys: listen, database, replica,"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace dpql
