// Internal to WeightClient: one request on its way, from queued to its last piece.
#pragma once

#include "client/receiptverifier.h"
#include "client/weightclient.h"
#include "protocol/messages.h"

namespace surfing {

struct WeightClient::Pending {
    quint32 id = 0;
    Kind kind = Kind::Chunk;
    QString name;
    bool stored = false;
    bool sent = false;
    bool cancelled = false;
    bool headerSeen = false;
    protocol::ChunkHeader header;
    QByteArray data;     // header.size long once the header arrived
    qint64 received = 0; // bytes of it filled
    quint32 nextPiece = 0;
    qint64 startNs = 0;        // first sent
    qint64 lastProgressMs = 0; // sent, header or piece
    qint64 notBeforeMs = 0;    // rate_limited / internal retry
    int internalRetries = 0;
    // A re-fetched chunk's keyed tag, made piece by piece as the bytes land (null: SHA-256 or the
    // tag of the whole chunk check it on the decode pool).
    std::unique_ptr<ReceiptVerifier::Tagger> tagger;

    // Back to "not sent": it will be asked for again from its first byte (the protocol has no
    // resume-from-offset).
    void unsend()
    {
        sent = false;
        headerSeen = false;
        data.clear();
        tagger.reset();
        received = 0;
        nextPiece = 0;
    }
};

} // namespace surfing
