// The SigV4 signer against the examples published in the AWS documentation (S3 "Signature
// Version 4 examples" and "deriving the signing key"), step by step.
#include "storage/awssigv4.h"

#include <QtTest>

using namespace surfing::sigv4;

namespace {

const QByteArray kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Credentials exampleCredentials()
{
    return {QStringLiteral("AKIAIOSFODNN7EXAMPLE"),
            QStringLiteral("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), {}};
}

QDateTime exampleTime()
{
    return QDateTime(QDate(2013, 5, 24), QTime(0, 0), Qt::UTC);
}

Request exampleRequest(const QByteArray &method, const QByteArray &path, HeaderList headers,
                       const QByteArray &payloadHash = kEmptyHash)
{
    Request request;
    request.method = method;
    request.encodedPath = path;
    headers.prepend({"Host", "examplebucket.s3.amazonaws.com"});
    request.headers = headers;
    request.payloadHash = payloadHash;
    return request;
}

} // namespace

class TestAwsSigV4 : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void getObjectCanonicalRequest()
    {
        Request request = exampleRequest("GET", "/test.txt", {{"Range", "bytes=0-9"}});
        sign(request, exampleCredentials(), Scope{}, exampleTime());
        const QByteArray canonical = canonicalRequest(request);
        QCOMPARE(canonical,
                 QByteArray("GET\n/test.txt\n\n"
                            "host:examplebucket.s3.amazonaws.com\n"
                            "range:bytes=0-9\n"
                            "x-amz-content-sha256:" + kEmptyHash + "\n"
                            "x-amz-date:20130524T000000Z\n\n"
                            "host;range;x-amz-content-sha256;x-amz-date\n" + kEmptyHash));
        QCOMPARE(stringToSign(exampleTime(), Scope{}, canonical),
                 QByteArray("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"));
    }

    void getObjectAuthorization()
    {
        Request request = exampleRequest("GET", "/test.txt", {{"Range", "bytes=0-9"}});
        QCOMPARE(sign(request, exampleCredentials(), Scope{}, exampleTime()),
                 QByteArray("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
                            "s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
                            "x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba4"
                            "8dd91039c6036bdb41"));
    }

    void putObject()
    {
        const QByteArray body = "Welcome to Amazon S3.";
        QCOMPARE(sha256Hex(body),
                 QByteArray("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"));
        Request request = exampleRequest("PUT", encodePath(QStringLiteral("/test$file.text")),
                                         {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
                                         sha256Hex(body));
        QCOMPARE(request.encodedPath, QByteArray("/test%24file.text"));
        sign(request, exampleCredentials(), Scope{}, exampleTime());
        QCOMPARE(sha256Hex(canonicalRequest(request)),
                 QByteArray("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d"));
        QCOMPARE(signature(request, exampleCredentials(), Scope{}, exampleTime()),
                 QByteArray("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"));
    }

    void getBucketLifecycle()
    {
        Request request = exampleRequest("GET", "/", {});
        request.query = {{"lifecycle", ""}};
        sign(request, exampleCredentials(), Scope{}, exampleTime());
        QCOMPARE(signature(request, exampleCredentials(), Scope{}, exampleTime()),
                 QByteArray("fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
    }

    void listObjects()
    {
        Request request = exampleRequest("GET", "/", {});
        request.query = {{"prefix", "J"}, {"max-keys", "2"}}; // sorted by the signer
        sign(request, exampleCredentials(), Scope{}, exampleTime());
        QVERIFY(canonicalRequest(request).startsWith("GET\n/\nmax-keys=2&prefix=J\n"));
        QCOMPARE(signature(request, exampleCredentials(), Scope{}, exampleTime()),
                 QByteArray("34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    }

    void signingKeyExample()
    {
        // "Examples of how to derive a signing key for Signature Version 4" (IAM, 2012-02-15).
        const QDateTime time(QDate(2012, 2, 15), QTime(0, 0), Qt::UTC);
        const Scope scope{QStringLiteral("us-east-1"), QStringLiteral("iam")};
        QCOMPARE(signingKey(QStringLiteral("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), time, scope)
                     .toHex(),
                 QByteArray("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"));
    }

    void sessionTokenIsSigned()
    {
        Credentials credentials = exampleCredentials();
        credentials.sessionToken = QStringLiteral("token/with+chars");
        Request request = exampleRequest("GET", "/test.txt", {});
        const QByteArray authorization = sign(request, credentials, Scope{}, exampleTime());
        QVERIFY(authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                       "x-amz-security-token,"));
        QVERIFY(canonicalRequest(request).contains("x-amz-security-token:token/with+chars\n"));
    }

    void uriEncoding()
    {
        QCOMPARE(uriEncode("a b/c~d_e-f.g*h+i", true), QByteArray("a%20b/c~d_e-f.g%2Ah%2Bi"));
        QCOMPARE(uriEncode("a/b=c", false), QByteArray("a%2Fb%3Dc"));
        QCOMPARE(encodePath(QString::fromUtf8("/mod\xc3\xa8le/x")), QByteArray("/mod%C3%A8le/x"));
    }

    void headerValuesAreTrimmedAndFolded()
    {
        Request request = exampleRequest("GET", "/x", {{"X-Amz-Meta-A", "  one   two  "}});
        QVERIFY(canonicalRequest(request).contains("\nx-amz-meta-a:one two\n"));
    }
};

QTEST_GUILESS_MAIN(TestAwsSigV4)
#include "tst_awssigv4.moc"
