// A weight server for tests that answers the protocol from a chunk directory but says what the
// test makes it say: a manifest with claims of its own (a chunk of a tebibyte, ten million
// chunks), chunk headers that disagree with it, pieces that stop halfway. Built on
// ScriptedServer in the test's own thread: it answers while serveUntil() runs the event loop,
// so the client may be in this process (WeightClient) or another (surfing-cli).
#pragma once

#include "protocol/messages.h"
#include "scriptedwsserver.h"

#include <QJsonObject>
#include <QStringList>
#include <functional>

namespace surfing::test {

class HostileWeightServer
{
public:
    explicit HostileWeightServer(const QString &chunkDir);
    QUrl url() const { return m_wire.url(); }
    QString modelName() const { return m_model; }

    // The manifest the reply carries; starts as the directory's chunk_info.json.
    QJsonObject manifest;
    // When set, the reply carries this text as its manifest instead (any size, valid or not).
    QByteArray manifestText;
    // When > 0, the reply is a manifest of this many one-byte chunks: one text frame announcing
    // its true length, of which only the first MiB is sent (a client must refuse it from the
    // frame header; ten million chunks make some 1.3 GB).
    qint64 claimedChunks = 0;
    // Changes each chunk header (of a chunk or a file) before it goes out.
    std::function<void(protocol::ChunkHeader &)> adjustHeader;
    // Changes a chunk's or file's bytes (not its header) before they go out.
    std::function<void(const QString &name, QByteArray &bytes)> adjustBytes;
    // Stops sending a chunk's pieces after this many bytes (-1: sends them all).
    qint64 stallAfterBytes = -1;
    // What the client asked for with "get", in order.
    QStringList gets;

    // Answers the client until `done` returns true; false when `ms` pass first.
    bool serveUntil(const std::function<bool()> &done, int ms);

private:
    void answer(const QJsonObject &request);
    void sendManifest(quint32 id);
    void sendStored(quint32 id, const QString &name, QByteArray bytes, protocol::ChunkHeader header);

    ScriptedServer m_wire;
    QString m_dir;
    QString m_model;
    bool m_connected = false;
};

// A model's manifest (JSON) with `chunks` chunks named c00000000, c00000001, ... of one byte
// each; with `firstBytes` >= 0, only its beginning, and `*totalBytes` says how long it would be.
QByteArray manifestOfManyChunks(const QString &model, qint64 chunks, qint64 firstBytes = -1, qint64 *totalBytes = nullptr);

} // namespace surfing::test
