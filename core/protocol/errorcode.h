// The typed errors of the wire protocol (docs/protocol.md, "Errors") and the exception that
// carries one through the parsing code.
#pragma once

#include "base/error.h"

#include <QString>
#include <optional>

namespace surfing::protocol {

enum class ErrorCode {
    BadRequest,   // "bad_request": malformed or invalid message; never retried
    Unauthorized, // "unauthorized": missing or wrong token
    NotFound,     // "not_found": unknown model or chunk
    RateLimited,  // "rate_limited": retry after retry_after_ms
    Internal,     // "internal": storage failed; retry with backoff
};

QString errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(const QString &name);
// All codes, in declaration order (for metrics that list every code).
const ErrorCode *allErrorCodes(int *count);

// Thrown by the parsers for a message that breaks the protocol. `requestId` is the id of the
// request at fault when it could be read (0 otherwise), so the error reply can name it.
class ProtocolError : public Error
{
public:
    ProtocolError(ErrorCode code, const QString &message, quint32 requestId = 0)
        : Error(message), m_code(code), m_requestId(requestId) {}
    ErrorCode code() const { return m_code; }
    quint32 requestId() const { return m_requestId; }

private:
    ErrorCode m_code;
    quint32 m_requestId;
};

} // namespace surfing::protocol
