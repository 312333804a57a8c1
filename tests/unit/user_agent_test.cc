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

// Bidirectional-text controls (Trojan Source, CVE-2021-42574) and the line and paragraph
// separators could reorder or break what an operator's terminal or a JSON reader shows: each of
// their bytes becomes '?', at both ends of every range; their neighbours are kept.
TEST(SessionUserAgentTest, ReplacesBidiControlsAndSeparators) {
  EXPECT_EQ(SessionUserAgent("\xe2\x80\x8d"), "\xe2\x80\x8d");  // U+200D, before U+200E: kept
  EXPECT_EQ(SessionUserAgent("a\xe2\x80\x8e"), "a???");         // U+200E LRM
  EXPECT_EQ(SessionUserAgent("\xe2\x80\x8f"), "???");           // U+200F RLM
  EXPECT_EQ(SessionUserAgent("\xe2\x80\x90"), "\xe2\x80\x90");  // U+2010, after: kept
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xa7"), "\xe2\x80\xa7");  // U+2027: kept
  EXPECT_EQ(SessionUserAgent("\xd8\x9b"), "\xd8\x9b");          // U+061B: kept
  EXPECT_EQ(SessionUserAgent("\xd8\x9c"), "??");                 // U+061C Arabic letter mark
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xa8"), "???");           // U+2028 line separator
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xa9"), "???");           // U+2029 paragraph separator
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xaa"), "???");           // U+202A LRE
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xae"), "???");           // U+202E RLO
  EXPECT_EQ(SessionUserAgent("\xe2\x80\xaf"), "\xe2\x80\xaf");  // U+202F, after: kept
  EXPECT_EQ(SessionUserAgent("\xe2\x81\xa5"), "\xe2\x81\xa5");  // U+2065, before U+2066: kept
  EXPECT_EQ(SessionUserAgent("\xe2\x81\xa6"), "???");           // U+2066 LRI
  EXPECT_EQ(SessionUserAgent("\xe2\x81\xa9z"), "???z");         // U+2069 PDI
  EXPECT_EQ(SessionUserAgent("\xe2\x81\xaa"), "\xe2\x81\xaa");  // U+206A, after: kept
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
