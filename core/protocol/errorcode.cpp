#include "protocol/errorcode.h"

#include <iterator>

namespace surfing::protocol {

namespace {
constexpr ErrorCode kCodes[] = {ErrorCode::BadRequest, ErrorCode::Unauthorized, ErrorCode::NotFound,
                                ErrorCode::RateLimited, ErrorCode::Internal};
}

QString errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::BadRequest: return QStringLiteral("bad_request");
    case ErrorCode::Unauthorized: return QStringLiteral("unauthorized");
    case ErrorCode::NotFound: return QStringLiteral("not_found");
    case ErrorCode::RateLimited: return QStringLiteral("rate_limited");
    case ErrorCode::Internal: return QStringLiteral("internal");
    }
    return QStringLiteral("internal");
}

std::optional<ErrorCode> errorCodeFromName(const QString &name)
{
    for (ErrorCode code : kCodes) {
        if (errorCodeName(code) == name)
            return code;
    }
    return std::nullopt;
}

const ErrorCode *allErrorCodes(int *count)
{
    *count = int(std::size(kCodes));
    return kCodes;
}

} // namespace surfing::protocol
