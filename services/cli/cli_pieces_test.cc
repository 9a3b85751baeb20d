// The client verbs' pieces without a server: key/value output, secrets read
// from files, the exit statuses of `token verify`.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "services/cli/cli_output.h"
#include "services/cli/secret_input.h"
#include "services/cli/verify_exit_codes.h"
#include "services/domain/decider.h"

namespace tl {
namespace {

TEST(PrintKeyValues, ValuesStartInOneColumnPastTheLongestKey) {
  std::ostringstream out;
  PrintKeyValues(out, {{"id", "tok_1"}, {"allowed_origins", "[\"a\"]"}, {"secret", "s\nnote"}});
  EXPECT_EQ(out.str(),
            "id:               tok_1\n"
            "allowed_origins:  [\"a\"]\n"
            "secret:           s\n"
            "                  note\n");
}

class SecretFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  const std::string path_ =
      ::testing::TempDir() + "/secret_file_" + std::to_string(::getpid()) + ".txt";
};

TEST_F(SecretFile, DropsOneTrailingNewline) {
  EXPECT_EQ(*ReadSecretFile(Write("tl_abc\n"), "token-file"), "tl_abc");
  EXPECT_EQ(*ReadSecretFile(Write("tl_abc\r\n"), "token-file"), "tl_abc");
  EXPECT_EQ(*ReadSecretFile(Write("tl_abc"), "token-file"), "tl_abc");
}

TEST_F(SecretFile, EmptyOrUnreadableIsAnErrorNamingThePathOnly) {
  auto empty = ReadSecretFile(Write("\n"), "token-file");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "--token-file: " + path_ + " is empty");
  auto missing = ReadSecretFile(path_ + ".missing", "secret-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--secret-file: cannot read " + path_ + ".missing"),
            std::string::npos)
      << missing.error().message;
  // A directory opens but cannot be read as a file.
  auto dir = ReadSecretFile(::testing::TempDir(), "token-file");
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("Is a directory"), std::string::npos) << dir.error().message;
}

TEST(VerifyExitCode, ZeroOnlyForValidAndOneStatusPerCode) {
  EXPECT_EQ(VerifyExitCode(kCodeValid), 0);
  std::set<int> seen{kExitRefused, kExitUsage, kExitUnreachable};
  for (std::string_view code :
       {kCodeNotFound, kCodeRevoked, kCodeExpired, kCodeOriginNotAllowed, kCodeIpNotAllowed,
        kCodeForbidden, kCodeRateLimited, kCodeUsageExceeded}) {
    const int status = VerifyExitCode(code);
    EXPECT_GE(status, 10) << code;
    EXPECT_TRUE(seen.insert(status).second) << code << " shares status " << status;
    EXPECT_NE(VerifyExitCodeTable().find(std::string(code)), std::string::npos) << code;
  }
  EXPECT_EQ(VerifyExitCode("SOMETHING_NEW"), kExitOtherCode);
  EXPECT_EQ(seen.count(kExitOtherCode), 0u);
}

}  // namespace
}  // namespace tl
