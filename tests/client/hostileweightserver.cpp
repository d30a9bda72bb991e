#include "hostileweightserver.h"

#include "base/sha256.h"
#include "protocol/piece.h"
#include "testsupport.h"

#include <QDeadlineTimer>
#include <QJsonDocument>

namespace surfing::test {

using protocol::FrameType;

HostileWeightServer::HostileWeightServer(const QString &chunkDir)
    : m_dir(chunkDir)
{
    manifest = readJsonObject(chunkDir + QStringLiteral("/chunk_info.json"));
    m_model = manifest.value(QLatin1String("model_name")).toString();
}

bool HostileWeightServer::serveUntil(const std::function<bool()> &done, int ms)
{
    QDeadlineTimer deadline(ms);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        if (!m_connected) {
            m_connected = m_wire.handshake({}, 50);
            continue;
        }
        int opcode = 0;
        QByteArray payload;
        bool masked = false;
        if (m_wire.readFrame(&opcode, &payload, &masked, 50) && opcode == int(FrameType::Text))
            answer(QJsonDocument::fromJson(payload).object());
    }
    return true;
}

void HostileWeightServer::answer(const QJsonObject &request)
{
    const QString type = request.value(QLatin1String("type")).toString();
    const quint32 id = quint32(request.value(QLatin1String("id")).toInteger());
    if (type == QLatin1String("hello")) {
        protocol::Welcome welcome;
        welcome.models = {m_model};
        welcome.defaultModel = m_model;
        m_wire.write(frame(FrameType::Text, protocol::encodeWelcome(welcome)));
    } else if (type == QLatin1String("manifest")) {
        sendManifest(id);
    } else if (type == QLatin1String("cancel")) {
        m_wire.write(frame(FrameType::Text, protocol::encodeCancelled(id)));
    } else if (type == QLatin1String("get") && request.contains(QLatin1String("file"))) {
        const QString file = request.value(QLatin1String("file")).toString();
        gets << file;
        const QByteArray bytes = readFile(m_dir + QLatin1Char('/') + file);
        protocol::ChunkHeader header;
        header.size = header.rawSize = bytes.size();
        header.codec = QStringLiteral("none");
        header.sha256 = Sha256::hashHex(bytes);
        sendStored(id, file, bytes, header);
    } else if (type == QLatin1String("get")) {
        const QString name = request.value(QLatin1String("chunk")).toString();
        gets << name;
        // What this server's manifest claims, with the directory's bytes.
        const QJsonObject chunk = manifest.value(QLatin1String("chunks")).toObject().value(name).toObject();
        protocol::ChunkHeader header;
        header.size = chunk.value(QLatin1String("stored_bytes")).toInteger();
        header.rawSize = chunk.value(QLatin1String("raw_bytes")).toInteger();
        header.codec = chunk.value(QLatin1String("codec")).toString();
        header.sha256 = chunk.value(QLatin1String("sha256")).toString().toLatin1();
        sendStored(id, name, readFile(m_dir + QLatin1Char('/') + chunk.value(QLatin1String("file")).toString()), header);
    }
}

void HostileWeightServer::sendManifest(quint32 id)
{
    const QByteArray head = QStringLiteral("{\"type\":\"manifest\",\"id\":%1,\"model\":\"%2\",\"manifest\":").arg(id).arg(m_model).toUtf8();
    if (claimedChunks > 0) {
        qint64 total = 0;
        const QByteArray first = manifestOfManyChunks(m_model, claimedChunks, 1 << 20, &total);
        m_wire.write(protocol::encodeFrameHeader(FrameType::Text, quint64(head.size() + total + 1)) + head + first);
        return;
    }
    if (manifestText.isEmpty()) {
        m_wire.write(frame(FrameType::Text, protocol::encodeManifestReply(id, m_model, manifest)));
        return;
    }
    m_wire.write(frame(FrameType::Text, head + manifestText + '}'));
}

void HostileWeightServer::sendStored(quint32 id, const QString &name, QByteArray bytes, protocol::ChunkHeader header)
{
    if (adjustBytes)
        adjustBytes(name, bytes);
    header.id = id;
    header.model = m_model;
    header.chunk = name;
    if (adjustHeader)
        adjustHeader(header);
    header.pieces = protocol::pieceCount(header.size);
    m_wire.write(frame(FrameType::Text, protocol::encodeChunkHeader(header)));
    if (header.size != bytes.size())
        return; // a claim the bytes cannot back
    const qint64 send = stallAfterBytes < 0 ? bytes.size() : qMin<qint64>(stallAfterBytes, bytes.size());
    for (quint32 i = 0; qint64(i) * protocol::kMaxPieceBytes < send; ++i) {
        const QByteArray payload = bytes.mid(qsizetype(i) * protocol::kMaxPieceBytes, protocol::kMaxPieceBytes);
        m_wire.write(protocol::encodePieceFrameHeader(id, i, payload.size()) + payload);
    }
}

QByteArray manifestOfManyChunks(const QString &model, qint64 chunks, qint64 firstBytes, qint64 *totalBytes)
{
    // Fixed-width names: every entry has the same length, so the total is known without writing it.
    const auto name = [](qint64 i) { return 'c' + QByteArray::number(i).rightJustified(8, '0'); };
    const auto orderEntry = [&](qint64 i) { return (i ? ",\"" : "\"") + name(i) + '"'; };
    const auto chunkEntry = [&](qint64 i) {
        return (i ? ",\"" : "\"") + name(i) + "\":{\"file\":\"" + name(i) + "\",\"kind\":\"c\",\"index\":null,\"codec\":\"none\","
               "\"stored_bytes\":1,\"raw_bytes\":1,\"sha256\":\"" + QByteArray(64, '0') + "\"}";
    };
    const QByteArray head = "{\"format\":\"surfing-chunks\",\"format_version\":1,\"model_name\":\"" + model.toUtf8()
                            + "\",\"model_type\":\"bert\",\"num_layers\":1,\"files\":[],\"order\":[";
    const QByteArray middle = "],\"chunks\":{", tail = "}}";
    if (totalBytes)
        *totalBytes = head.size() + middle.size() + tail.size()
                      + (chunks ? chunks * orderEntry(1).size() - 1 + chunks * chunkEntry(1).size() - 1 : 0);
    const qint64 limit = firstBytes < 0 ? std::numeric_limits<qint64>::max() : firstBytes;
    QByteArray out = head;
    for (qint64 i = 0; i < chunks && out.size() < limit; ++i)
        out += orderEntry(i);
    if (out.size() < limit)
        out += middle;
    for (qint64 i = 0; i < chunks && out.size() < limit; ++i)
        out += chunkEntry(i);
    if (out.size() < limit)
        out += tail;
    return out.left(limit);
}

} // namespace surfing::test
