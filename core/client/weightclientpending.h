// Internal to WeightClient: one request on its way, from queued to its last piece.
#pragma once

#include "client/chunkarrival.h"
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
    // A re-fetched chunk's check against the keyed tags of its blocks, made as the bytes land
    // (null: SHA-256 checks it on the decode pool once it is whole).
    std::unique_ptr<ReceiptVerifier::BlockCheck> check;
    // Where compute reads the checked blocks while the rest arrives (null: nobody does). `data`
    // is shared with it: written through constData(), so that writing never detaches.
    std::shared_ptr<ChunkArrival> arrival;
    int receipt = -1;

    // Back to "not sent": it will be asked for again from its first byte (the protocol has no
    // resume-from-offset).
    void unsend()
    {
        sent = false;
        headerSeen = false;
        data.clear();
        check.reset();
        arrival.reset();
        receipt = -1;
        received = 0;
        nextPiece = 0;
    }
};

} // namespace surfing
