#include "services/console/console_assets.h"

#include "services/console/console_assets_data.h"

#include <gtest/gtest.h>

#include <string>

namespace tokenledger {
namespace {

TEST(ConsoleAssets, EmptyPathAndSlashServeIndex) {
  const ConsoleAsset* index = FindConsoleAsset("");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<!doctype html>"), std::string_view::npos);
  EXPECT_EQ(FindConsoleAsset("/"), index);
  EXPECT_EQ(FindConsoleAsset("index.html"), index);
  EXPECT_EQ(FindConsoleAsset("/index.html"), index);
}

TEST(ConsoleAssets, ContentTypesFollowTheExtension) {
  const ConsoleAsset* script = FindConsoleAsset("app.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  const ConsoleAsset* style = FindConsoleAsset("style.css");
  ASSERT_NE(style, nullptr);
  EXPECT_EQ(style->content_type, "text/css; charset=utf-8");
  const ConsoleAsset* icon = FindConsoleAsset("favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
}

TEST(ConsoleAssets, NestedModulesAreFound) {
  const ConsoleAsset* view = FindConsoleAsset("views/token-list.js");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->path, "views/token-list.js");
}

TEST(ConsoleAssets, UnknownPathsAreAbsent) {
  EXPECT_EQ(FindConsoleAsset("nope.js"), nullptr);
  EXPECT_EQ(FindConsoleAsset("../CMakeLists.txt"), nullptr);
  EXPECT_EQ(FindConsoleAsset("CMakeLists.txt"), nullptr);
  EXPECT_EQ(FindConsoleAsset("console_assets.h"), nullptr);
  EXPECT_EQ(FindConsoleAsset("app.js?x=1"), nullptr);
}

TEST(ConsoleAssets, EveryAssetIsNonEmptyAndFindable) {
  size_t count = 0;
  for (const ConsoleAsset& asset : internal::ConsoleAssets()) {
    ++count;
    EXPECT_FALSE(asset.body.empty()) << asset.path;
    EXPECT_FALSE(asset.content_type.empty()) << asset.path;
    EXPECT_EQ(FindConsoleAsset(asset.path), &asset) << asset.path;
  }
  EXPECT_GE(count, 4u);  // index.html, app.js, style.css, favicon.svg at least
}

}  // namespace
}  // namespace tokenledger
