// core/user_agent.h: what a session keeps of a login's User-Agent.
#include "core/user_agent.h"

#include <gtest/gtest.h>

#include <string>

namespace authgate {
namespace {

TEST(SessionUserAgentTest, KeepsPrintableAsciiAndWellFormedUtf8) {
  EXPECT_EQ(SessionUserAgent("curl/8.1.2"), "curl/8.1.2");
  EXPECT_EQ(SessionUserAgent("Bank app \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"),
            "Bank app \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91");
  EXPECT_EQ(SessionUserAgent(""), "");
}

TEST(SessionUserAgentTest, ReplacesControlsAndMalformedBytesOneByOne) {
  EXPECT_EQ(SessionUserAgent(std::string("a\0b\tc\x7f", 6)), "a?b?c?");
  EXPECT_EQ(SessionUserAgent("\xc2\x85"), "??");          // C1 control (NEL)
  EXPECT_EQ(SessionUserAgent("\xc0\xaf"), "??");          // overlong '/'
  EXPECT_EQ(SessionUserAgent("\xed\xa0\x80"), "???");     // a surrogate
  EXPECT_EQ(SessionUserAgent("\xf4\x90\x80\x80"), "????");  // beyond U+10FFFF
  EXPECT_EQ(SessionUserAgent("x\xe2\x82"), "x??");        // cut short
  EXPECT_EQ(SessionUserAgent("\xff\xfe"), "??");
}

TEST(SessionUserAgentTest, CutsAtACharacterBoundaryWithinTheLimit) {
  EXPECT_EQ(SessionUserAgent(std::string(1000, 'a')), std::string(kUserAgentMaxBytes, 'a'));
  // 255 bytes, then a 2-byte character that would end at byte 257: left out whole.
  const std::string cut = SessionUserAgent(std::string(255, 'a') + "\xc3\xa9" + "tail");
  EXPECT_EQ(cut, std::string(255, 'a'));
  const std::string fits = SessionUserAgent(std::string(254, 'a') + "\xc3\xa9" + "tail");
  EXPECT_EQ(fits, std::string(254, 'a') + "\xc3\xa9");
}

}  // namespace
}  // namespace authgate
