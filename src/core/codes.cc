#include "core/codes.h"

namespace authgate {

std::string_view MessageCodeName(MessageCode code) {
  switch (code) {
    case MessageCode::kRequired: return "Required";
    case MessageCode::kInvalidValue: return "Invalid_Value";
    case MessageCode::kInvalidJson: return "Invalid_Json";
    case MessageCode::kAccountLocked: return "Account_Locked";
    case MessageCode::kUsernameOrPasswordIncorrect: return "Username_Or_Password_Incorrect";
    case MessageCode::kAccountNotVerified: return "Account_Not_Verified";
    case MessageCode::kAccountSuppressed: return "Account_Suppressed";
    case MessageCode::kTokenInvalid: return "Token_Invalid";
    case MessageCode::kTokenExpired: return "Token_Expired";
    case MessageCode::kOtpIncorrect: return "Otp_Incorrect";
    case MessageCode::kNotFound: return "Not_Found";
    case MessageCode::kMethodNotAllowed: return "Method_Not_Allowed";
    case MessageCode::kPayloadTooLarge: return "Payload_Too_Large";
    case MessageCode::kUnsupportedMediaType: return "Unsupported_Media_Type";
    case MessageCode::kTooManyRequests: return "Too_Many_Requests";
    case MessageCode::kServiceUnavailable: return "Service_Unavailable";
    case MessageCode::kInternalError: return "Internal_Error";
  }
  return "Internal_Error";
}

std::string_view AccountStatusName(AccountStatus status) {
  switch (status) {
    case AccountStatus::kActive: return "active";
    case AccountStatus::kUnverified: return "unverified";
    case AccountStatus::kSuppressed: return "suppressed";
  }
  return "suppressed";
}

bool ParseAccountStatus(std::string_view name, AccountStatus* status) {
  if (name == "active") *status = AccountStatus::kActive;
  else if (name == "unverified") *status = AccountStatus::kUnverified;
  else if (name == "suppressed") *status = AccountStatus::kSuppressed;
  else return false;
  return true;
}

}  // namespace authgate
