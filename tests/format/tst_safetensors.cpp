// The strict safetensors parser: valid files parse, every kind of broken or hostile file is
// rejected with a message naming the file and what is wrong.
#include "base/error.h"
#include "format/safetensors.h"

#include <QtEndian>
#include <QtTest>

using namespace surfing;

namespace {

QByteArray fileWithHeader(const QByteArray &json, qint64 dataBytes)
{
    QByteArray out(8, '\0');
    qToLittleEndian<quint64>(quint64(json.size()), out.data());
    return out + json + QByteArray(dataBytes, '\x01');
}

QByteArray floats(std::initializer_list<float> values)
{
    QByteArray out;
    for (float v : values)
        out.append(reinterpret_cast<const char *>(&v), sizeof v);
    return out;
}

} // namespace

class TestSafetensors : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void roundTrip()
    {
        const QByteArray a = floats({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f});
        const QByteArray b = floats({-1.5f});
        const QByteArray file = serializeSafetensors({{"w", Dtype::F32, {2, 3}, a}, {"b", Dtype::F32, {1}, b}},
                                                     {{"format", "pt"}});
        QCOMPARE((file.size() - 24 - 4) % 8, 0);
        const SafetensorsHeader header = parseSafetensors(file, "mem");
        QCOMPARE(header.dataOffset % 8, 0);
        QCOMPARE(header.tensors.size(), 2);
        QCOMPARE(header.metadata.value("format"), QString("pt"));
        const TensorInfo *w = header.find("w");
        QVERIFY(w);
        QCOMPARE(w->shape, (QVector<qint64>{2, 3}));
        QCOMPARE(file.mid(header.dataOffset + w->begin, w->byteSize()), a);
        QCOMPARE(file.mid(header.dataOffset + header.find("b")->begin, 4), b);
    }

    void scalarAndEmptyTensors()
    {
        const QByteArray file = serializeSafetensors({{"s", Dtype::I64, {}, QByteArray(8, 'x')}, {"e", Dtype::F16, {0, 4}, QByteArray()}});
        const SafetensorsHeader header = parseSafetensors(file, "mem");
        QCOMPARE(header.find("s")->byteSize(), 8);
        QCOMPARE(header.find("e")->byteSize(), 0);
    }

    void rejectsBrokenFiles_data()
    {
        QTest::addColumn<QByteArray>("file");
        QTest::addColumn<QString>("expected");
        const QByteArray valid = serializeSafetensors({{"w", Dtype::F32, {2}, floats({1, 2})}});
        QTest::newRow("empty") << QByteArray() << "shorter than the 8-byte header length";
        QTest::newRow("truncated data") << valid.left(valid.size() - 1) << "tensor 'w' ends at 8, past the data buffer of 7 bytes";
        QTest::newRow("truncated header") << valid.left(20) << "runs past the end";
        QByteArray huge(8, '\0');
        qToLittleEndian<quint64>(quint64(200) * 1000 * 1000, huge.data());
        QTest::newRow("header over 100 MB") << huge << "exceeds the limit";
        QByteArray wrapped(8, '\xff');
        QTest::newRow("header length 2^64-1") << wrapped << "exceeds the limit";
        QTest::newRow("invalid json") << fileWithHeader("{\"w\":", 0) << "not valid JSON";
        QTest::newRow("invalid utf-8") << fileWithHeader("{\"\xff\xfe\":{}}", 0) << "not valid JSON";
        QTest::newRow("not an object") << fileWithHeader("[1,2]", 0) << "not a JSON object";
        QTest::newRow("unknown dtype") << fileWithHeader(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4) << "unknown dtype 'F33'";
        QTest::newRow("shape/size mismatch") << fileWithHeader(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8) << "shape x dtype size is 12 bytes but data_offsets span 8";
        QTest::newRow("overlap") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8) << "overlaps";
        QTest::newRow("gap") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8) << "gap of 4 bytes before tensor 'a'";
        QTest::newRow("out of range") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 4) << "past the data buffer";
        QTest::newRow("trailing bytes") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12) << "8 trailing bytes";
        QTest::newRow("end before begin") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", 4) << "before begin";
        QTest::newRow("negative offset") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4) << "non-negative integer";
        QTest::newRow("fractional offset") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}})", 4) << "non-negative integer";
        QTest::newRow("huge offset") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e300]}})", 4) << "non-negative integer";
        QTest::newRow("shape overflow") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", 4) << "too large";
        QTest::newRow("shape not array") << fileWithHeader(R"({"a":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", 4) << "'shape' must be an array";
        QTest::newRow("offsets wrong arity") << fileWithHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4) << "'data_offsets' must be [begin, end]";
        QTest::newRow("metadata not strings") << fileWithHeader(R"({"__metadata__":{"a":1}})", 0) << "is not a string";
        QTest::newRow("entry not object") << fileWithHeader(R"({"a":5})", 0) << "is not a JSON object";
    }

    void rejectsBrokenFiles()
    {
        QFETCH(QByteArray, file);
        QFETCH(QString, expected);
        try {
            parseSafetensors(file, "broken.safetensors");
            QFAIL("accepted a broken file");
        } catch (const Error &e) {
            QVERIFY2(e.message().startsWith("broken.safetensors: invalid safetensors file: "), qPrintable(e.message()));
            QVERIFY2(e.message().contains(expected), qPrintable(e.message()));
        }
    }

    void mapsSharedModelFile()
    {
        const QString dir = qEnvironmentVariable("SURFING_SHARED_MODELS") + "/bert-random";
        if (!QFile::exists(dir + "/model.safetensors"))
            QSKIP("../shared/models is not beside the checkout");
        SafetensorsFile file(dir + "/model.safetensors");
        QCOMPARE(file.header().tensors.size(), 39);
        QCOMPARE(file.header().metadata.value("format"), QString("pt"));
        const TensorInfo *emb = file.header().find("embeddings.word_embeddings.weight");
        QVERIFY(emb);
        QCOMPARE(emb->shape, (QVector<qint64>{30522, 128}));
        QCOMPARE(file.tensorData(*emb).size(), 30522 * 128 * 4);
    }

    void missingFileIsNamed()
    {
        try {
            SafetensorsFile file("/nonexistent/x.safetensors");
            QFAIL("opened a missing file");
        } catch (const Error &e) {
            QVERIFY(e.message().startsWith("/nonexistent/x.safetensors: cannot open"));
        }
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
