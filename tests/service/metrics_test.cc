// StripedCounter and the histogram (src/service/metrics.h): stripes add up exactly, whatever
// the threads.
#include "service/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace authgate {
namespace {

TEST(StripedCounter, SumsEveryThreadsAdds) {
  StripedCounter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {  // more threads than stripes: some share one
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) counter.Add();
    });
  }
  for (std::thread& thread : threads) thread.join();
  counter.Add(5);
  EXPECT_EQ(counter.Value(), 120005u);
}

TEST(Metrics, RenderShowsTheStoreProbes) {
  Metrics metrics;
  const std::string text = metrics.Render(0, {3, true, false, std::nullopt});
  EXPECT_NE(text.find("authgate_store_errors_total 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE authgate_store_up gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("authgate_store_up{probe=\"read\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("authgate_store_up{probe=\"write\"} 0\n"), std::string::npos) << text;
}

TEST(Metrics, RenderShowsCommitGroupSizesOnlyWhereTheStoreGroups) {
  Metrics metrics;
  EXPECT_EQ(metrics.Render(0, {}).find("authgate_store_commit_group_size"), std::string::npos);
  CommitGroupStats groups;
  groups.groups[0] = 2;  // two commits of one operation
  groups.groups[3] = 1;  // one of 5..8
  groups.operations = 9;
  const std::string text = metrics.Render(0, {0, true, true, groups});
  EXPECT_NE(text.find("# TYPE authgate_store_commit_group_size histogram\n"), std::string::npos);
  EXPECT_NE(text.find("authgate_store_commit_group_size_bucket{le=\"1\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("authgate_store_commit_group_size_bucket{le=\"4\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("authgate_store_commit_group_size_bucket{le=\"8\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("authgate_store_commit_group_size_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("authgate_store_commit_group_size_sum 9\n"), std::string::npos);
  EXPECT_NE(text.find("authgate_store_commit_group_size_count 3\n"), std::string::npos);
}

TEST(Metrics, RenderSumsHistogramStripes) {
  Metrics metrics;
  RequestStats stats(metrics, {"/api/v1/auth/verify", "other"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) stats.Observe(0, 200, 0.0002);
    });
  }
  for (std::thread& thread : threads) thread.join();
  stats.Observe(1, 404, 2.0);
  const std::string text = metrics.Render(0, {});
  const std::string verify = "endpoint=\"/api/v1/auth/verify\",status=\"200\"";
  EXPECT_NE(text.find("authgate_http_requests_total{" + verify + "} 4000\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("authgate_request_duration_seconds_bucket{" + verify + ",le=\"0.0001\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("authgate_request_duration_seconds_bucket{" + verify + ",le=\"0.00025\"} 4000\n"),
            std::string::npos);
  EXPECT_NE(text.find("authgate_request_duration_seconds_count{" + verify + "} 4000\n"),
            std::string::npos);
  const std::string other = "endpoint=\"other\",status=\"404\"";
  EXPECT_NE(text.find("authgate_request_duration_seconds_bucket{" + other + ",le=\"1\"} 0\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("authgate_request_duration_seconds_bucket{" + other + ",le=\"+Inf\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace authgate
