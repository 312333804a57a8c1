#include "core/requests.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

TEST(RequestsTest, JsonContentTypes) {
  for (const char* type : {"application/json", "application/json; charset=utf-8",
                           "Application/JSON", "application/json-patch+json",
                           "application/vnd.api+json;charset=UTF-8"}) {
    EXPECT_TRUE(IsJsonContentType(type)) << type;
  }
  for (const char* type : {"", "text/plain", "application/xml", "text/json", "application/+json",
                           "application/jsonx", "multipart/form-data", "application/x/y+json"}) {
    EXPECT_FALSE(IsJsonContentType(type)) << type;
  }
}

std::vector<std::pair<std::string, std::string>> Errors(const std::vector<FieldError>& errors) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FieldError& e : errors) out.emplace_back(e.field, MessageCodeName(e.code));
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(RequestsTest, LoginBodyErrorsInFieldOrder) {
  EXPECT_EQ(Errors(ParseLoginBody("").errors), (Pairs{{"", "Invalid_Json"}}));
  EXPECT_EQ(Errors(ParseLoginBody("{").errors), (Pairs{{"", "Invalid_Json"}}));
  EXPECT_EQ(Errors(ParseLoginBody("[1]").errors), (Pairs{{"", "Invalid_Json"}}));
  EXPECT_EQ(Errors(ParseLoginBody("\"x\"").errors), (Pairs{{"", "Invalid_Json"}}));
  EXPECT_EQ(Errors(ParseLoginBody("{\"username\":\"\xff\"}").errors),
            (Pairs{{"", "Invalid_Json"}}));  // invalid UTF-8
  EXPECT_EQ(Errors(ParseLoginBody("{}").errors),
            (Pairs{{"username", "Required"}, {"password", "Required"}, {"otp", "Required"}}));
  EXPECT_EQ(Errors(ParseLoginBody(R"({"otp":123456,"password":null,"username":""})").errors),
            (Pairs{{"username", "Required"}, {"password", "Required"}, {"otp", "Invalid_Value"}}));
  EXPECT_EQ(Errors(ParseLoginBody(R"({"username":["a"],"password":"p","otp":"1"})").errors),
            (Pairs{{"username", "Invalid_Value"}}));
  ParsedLogin ok = ParseLoginBody(R"({"username":"alice","password":"pw","otp":"123456"})");
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.request.username, "alice");
  EXPECT_EQ(ok.request.password, "pw");
  EXPECT_EQ(ok.request.otp, "123456");
}

TEST(RequestsTest, RefreshBody) {
  EXPECT_EQ(Errors(ParseRefreshBody("nope").errors), (Pairs{{"", "Invalid_Json"}}));
  EXPECT_EQ(Errors(ParseRefreshBody("{}").errors), (Pairs{{"refreshToken", "Required"}}));
  EXPECT_EQ(Errors(ParseRefreshBody(R"({"refreshToken":true})").errors),
            (Pairs{{"refreshToken", "Invalid_Value"}}));
  EXPECT_EQ(ParseRefreshBody(R"({"refreshToken":"abc"})").request.refresh_token, "abc");
}

}  // namespace
}  // namespace authgate
