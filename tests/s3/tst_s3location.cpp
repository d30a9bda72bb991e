// Parsing s3:// locations, their options and the AWS environment variables.
#include "base/error.h"
#include "storage/s3location.h"
#include "storage/s3storage.h"

#include <QtTest>

using namespace surfing;

namespace {

QString parseError(const QString &text)
{
    try {
        S3Location::parse(text).applyEnvironment(QProcessEnvironment());
    } catch (const Error &error) {
        return error.message();
    }
    return {};
}

QProcessEnvironment environment(const QList<QPair<QString, QString>> &values)
{
    QProcessEnvironment env;
    for (const auto &[name, value] : values)
        env.insert(name, value);
    return env;
}

} // namespace

class TestS3Location : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void bucketAndPrefix()
    {
        const S3Location l = S3Location::parse(QStringLiteral("s3://my-bucket/models/bert/"));
        QCOMPARE(l.bucket, QStringLiteral("my-bucket"));
        QCOMPARE(l.prefix, QStringLiteral("models/bert"));
        QCOMPARE(l.toString(), QStringLiteral("s3://my-bucket/models/bert"));
        QCOMPARE(l.objectKey(QStringLiteral("layer_0.safetensors")), QStringLiteral("models/bert/layer_0.safetensors"));
        const S3Location bare = S3Location::parse(QStringLiteral("s3://b1"));
        QCOMPARE(bare.prefix, QString());
        QCOMPARE(bare.objectKey(QStringLiteral("x")), QStringLiteral("x"));
        QVERIFY(S3Location::isS3Url(QStringLiteral("S3://x")));
        QVERIFY(!S3Location::isS3Url(QStringLiteral("/srv/chunks")));
    }

    void defaultsAreAws()
    {
        S3Location l = S3Location::parse(QStringLiteral("s3://my-bucket/p"));
        l.applyEnvironment(QProcessEnvironment());
        QCOMPARE(l.region, QStringLiteral("us-east-1"));
        QCOMPARE(l.endpoint.host(), QStringLiteral("s3.us-east-1.amazonaws.com"));
        QVERIFY(!l.usesPathStyle());
        QCOMPARE(l.objectUrl(QStringLiteral("a b.json")).toString(QUrl::FullyEncoded),
                 QStringLiteral("https://my-bucket.s3.us-east-1.amazonaws.com/p/a%20b.json"));
        QVERIFY(l.credentials.accessKeyId.isEmpty()); // unsigned requests
    }

    void optionsInTheUrl()
    {
        S3Location l = S3Location::parse(QStringLiteral(
            "s3://bkt/pre?region=eu-west-1&endpoint=http://127.0.0.1:9000&addressing=virtual&timeout=5&retries=0"));
        l.applyEnvironment(environment({{QStringLiteral("AWS_REGION"), QStringLiteral("us-west-2")}}));
        QCOMPARE(l.region, QStringLiteral("eu-west-1"));
        QCOMPARE(l.endpoint, QUrl(QStringLiteral("http://127.0.0.1:9000")));
        QCOMPARE(l.addressing, S3Location::Addressing::VirtualHosted);
        QCOMPARE(l.timeoutMs, 5000);
        QCOMPARE(l.retries, 0);
    }

    void environmentFillsTheRest()
    {
        S3Location l = S3Location::parse(QStringLiteral("s3://bkt/pre"));
        l.applyEnvironment(environment({{QStringLiteral("AWS_DEFAULT_REGION"), QStringLiteral("ap-south-1")},
                                        {QStringLiteral("AWS_ENDPOINT_URL"), QStringLiteral("http://localhost:4568")},
                                        {QStringLiteral("AWS_ACCESS_KEY_ID"), QStringLiteral("AK")},
                                        {QStringLiteral("AWS_SECRET_ACCESS_KEY"), QStringLiteral("SK")},
                                        {QStringLiteral("AWS_SESSION_TOKEN"), QStringLiteral("TOK")}}));
        QCOMPARE(l.region, QStringLiteral("ap-south-1"));
        QVERIFY(l.usesPathStyle()); // localhost endpoint
        QCOMPARE(l.objectUrl(QStringLiteral("c.json")).toString(), QStringLiteral("http://localhost:4568/bkt/pre/c.json"));
        QCOMPARE(l.credentials.accessKeyId, QStringLiteral("AK"));
        QCOMPARE(l.credentials.secretAccessKey, QStringLiteral("SK"));
        QCOMPARE(l.credentials.sessionToken, QStringLiteral("TOK"));

        S3Location regionFirst = S3Location::parse(QStringLiteral("s3://bkt"));
        regionFirst.applyEnvironment(environment({{QStringLiteral("AWS_REGION"), QStringLiteral("r1")},
                                                  {QStringLiteral("AWS_DEFAULT_REGION"), QStringLiteral("r2")}}));
        QCOMPARE(regionFirst.region, QStringLiteral("r1"));
    }

    void explicitCredentialsWin()
    {
        S3Location l = S3Location::parse(QStringLiteral("s3://bkt"));
        l.credentials = {QStringLiteral("mine"), QStringLiteral("secret"), {}};
        l.applyEnvironment(environment({{QStringLiteral("AWS_ACCESS_KEY_ID"), QStringLiteral("env")},
                                        {QStringLiteral("AWS_SECRET_ACCESS_KEY"), QStringLiteral("envsecret")}}));
        QCOMPARE(l.credentials.accessKeyId, QStringLiteral("mine"));
    }

    void errorsNameTheCulprit_data()
    {
        QTest::addColumn<QString>("location");
        QTest::addColumn<QString>("expected");
        QTest::newRow("scheme") << "http://x/y" << "not an s3://";
        QTest::newRow("empty bucket") << "s3:///prefix" << "bucket name ''";
        QTest::newRow("bad bucket") << "s3://a b/c" << "bucket name 'a b'";
        QTest::newRow("empty segment") << "s3://b//c" << "empty path segment";
        QTest::newRow("unknown option") << "s3://b/c?colour=red" << "unknown s3 option 'colour'";
        QTest::newRow("bad endpoint") << "s3://b/c?endpoint=ftp://x" << "endpoint 'ftp://x'";
        QTest::newRow("endpoint path") << "s3://b/c?endpoint=http://x/y" << "endpoint 'http://x/y'";
        QTest::newRow("bad addressing") << "s3://b/c?addressing=dns" << "addressing=dns";
        QTest::newRow("bad timeout") << "s3://b/c?timeout=-1" << "timeout=-1";
        QTest::newRow("vhost bucket") << "s3://Upper_Case/c?addressing=virtual" << "addressing=path";
    }

    void errorsNameTheCulprit()
    {
        QFETCH(QString, location);
        QFETCH(QString, expected);
        const QString error = parseError(location);
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void halfCredentialsAreRefused()
    {
        S3Location l = S3Location::parse(QStringLiteral("s3://bkt"));
        QVERIFY_THROWS_EXCEPTION(Error, l.applyEnvironment(environment(
            {{QStringLiteral("AWS_ACCESS_KEY_ID"), QStringLiteral("AK")}})));
    }

    void objectNames()
    {
        checkObjectName(QStringLiteral("layer_0.safetensors"));
        checkObjectName(QStringLiteral("tokenizer/vocab.txt"));
        for (const QString &bad : {QStringLiteral(".."), QStringLiteral("a/../b"), QStringLiteral("/a"),
                                   QStringLiteral("a/"), QString(1100, QLatin1Char('a'))})
            QVERIFY_THROWS_EXCEPTION(Error, checkObjectName(bad));
    }
};

QTEST_GUILESS_MAIN(TestS3Location)
#include "tst_s3location.moc"
