// Chat templates: the real templates of the shipped models (Llama 3, Qwen2, Qwen3, Qwen3-MoE)
// render exactly what transformers' apply_chat_template renders (expected_renders.json, made by
// make_expected.py with jinja2), Jinja's semantics on small snippets, and an unsupported construct
// is an error naming it and its position, never a silently wrong prompt.
#include "chat/chattemplate.h"
#include "chat/templateerror.h"
#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace surfing;

class TestChatTemplate : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void llama3ByHand();
    void qwen3ByHand();
    void realTemplates_data();
    void realTemplates();
    void snippets_data();
    void snippets();
    void unsupportedIsAnError_data();
    void unsupportedIsAnError();
    void runtimeErrorsNameThePosition();
    void hostileTemplatesStayBounded();
    void modelsWithoutTemplate();
    void templateFileTravelsWithTheChunks();

private:
    QJsonObject m_expected;
};

void TestChatTemplate::initTestCase()
{
    m_expected = test::readJsonObject(QStringLiteral(SURFING_CHAT_EXPECTED));
    QVERIFY(!m_expected.value(QStringLiteral("templates")).toArray().isEmpty());
}

static QVector<ChatMessage> messagesFrom(const QJsonArray &array)
{
    QVector<ChatMessage> messages;
    for (const QJsonValue &m : array)
        messages.append({m[QStringLiteral("role")].toString(), m[QStringLiteral("content")].toString()});
    return messages;
}

static ChatTemplate templateOf(const QString &model)
{
    const std::optional<ChatTemplate> t = ChatTemplate::load(test::sharedModel(model));
    if (!t)
        throw Error(QStringLiteral("%1 has no chat template").arg(model));
    return *t;
}

// Read off the template by hand: header per message, content trimmed, BOS once, then the
// assistant header.
void TestChatTemplate::llama3ByHand()
{
    if (test::sharedModel(QStringLiteral("llama3-random")).isEmpty())
        QSKIP("shared models not available");
    const ChatTemplate t = templateOf(QStringLiteral("llama3-random"));
    const QString prompt = t.render({{QStringLiteral("system"), QStringLiteral("Be brief.")},
                                     {QStringLiteral("user"), QStringLiteral("  Hi \n")}});
    QCOMPARE(prompt, QStringLiteral("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                                    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                                    "<|start_header_id|>assistant<|end_header_id|>\n\n"));
}

// ChatML; an earlier assistant turn loses its <think> block, the last one keeps it.
void TestChatTemplate::qwen3ByHand()
{
    if (test::sharedModel(QStringLiteral("qwen3-random")).isEmpty())
        QSKIP("shared models not available");
    const ChatTemplate t = templateOf(QStringLiteral("qwen3-random"));
    QCOMPARE(t.render({{QStringLiteral("system"), QStringLiteral("S")}, {QStringLiteral("user"), QStringLiteral("U")}}),
             QStringLiteral("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"));
    QCOMPARE(t.render({{QStringLiteral("user"), QStringLiteral("a")},
                       {QStringLiteral("assistant"), QStringLiteral("<think>\nr\n</think>\n\nb")},
                       {QStringLiteral("user"), QStringLiteral("c")}}, false),
             QStringLiteral("<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n"));
    QCOMPARE(t.render({{QStringLiteral("user"), QStringLiteral("a")}}, true, {{"enable_thinking", false}}),
             QStringLiteral("<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));
}

void TestChatTemplate::realTemplates_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QJsonObject>("testCase");
    for (const QJsonValue &c : m_expected.value(QStringLiteral("templates")).toArray()) {
        const QJsonObject o = c.toObject();
        const QString name = QStringLiteral("%1/%2/%3%4").arg(o[QStringLiteral("model")].toString(),
            o[QStringLiteral("conversation")].toString(),
            o[QStringLiteral("add_generation_prompt")].toBool() ? QStringLiteral("gen") : QStringLiteral("nogen"),
            o[QStringLiteral("extra")].toObject().isEmpty() ? QString() : QStringLiteral("/nothink"));
        QTest::newRow(qPrintable(name)) << o[QStringLiteral("model")].toString() << o;
    }
}

void TestChatTemplate::realTemplates()
{
    QFETCH(QString, model);
    QFETCH(QJsonObject, testCase);
    if (test::sharedModel(model).isEmpty())
        QSKIP("shared model not available");
    const ChatTemplate t = templateOf(model);
    const QString rendered = t.render(messagesFrom(testCase[QStringLiteral("messages")].toArray()),
                                      testCase[QStringLiteral("add_generation_prompt")].toBool(),
                                      testCase[QStringLiteral("extra")].toObject());
    QCOMPARE(rendered, testCase[QStringLiteral("expected")].toString());
}

void TestChatTemplate::snippets_data()
{
    QTest::addColumn<QJsonObject>("testCase");
    int i = 0;
    for (const QJsonValue &c : m_expected.value(QStringLiteral("snippets")).toArray())
        QTest::newRow(qPrintable(QStringLiteral("%1: %2").arg(i++).arg(c[QStringLiteral("template")].toString().left(40))))
            << c.toObject();
}

void TestChatTemplate::snippets()
{
    QFETCH(QJsonObject, testCase);
    const ChatTemplate t(testCase[QStringLiteral("template")].toString());
    QJsonObject variables = testCase[QStringLiteral("variables")].toObject();
    const QVector<ChatMessage> messages = messagesFrom(variables.take(QStringLiteral("messages")).toArray());
    QCOMPARE(t.render(messages, false, variables), testCase[QStringLiteral("expected")].toString());
}

void TestChatTemplate::unsupportedIsAnError_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<QString>("message");
    QTest::newRow("macro") << "ok\n{% macro m() %}x{% endmacro %}" << "line 2, column 4: unsupported tag 'macro'";
    QTest::newRow("include") << "{% include 'x' %}" << "line 1, column 4: unsupported tag 'include'";
    QTest::newRow("filter") << "{{ messages|wordcount }}" << "line 1, column 13: unsupported filter 'wordcount'";
    QTest::newRow("test") << "{% if x is callable %}{% endif %}" << "line 1, column 12: unsupported test 'callable'";
    QTest::newRow("method") << "{{ 'a {}'.format(1) }}" << "line 1, column 10: unsupported method 'format'";
    QTest::newRow("loop.cycle") << "{% for m in messages %}{{ loop.cycle('a', 'b') }}{% endfor %}" << "unsupported method 'cycle'";
    QTest::newRow("recursive") << "{% for m in messages recursive %}{% endfor %}" << "unsupported recursive loop";
    QTest::newRow("unclosed") << "{% if true %}x" << "missing {% endif %}";
    QTest::newRow("unclosed tag") << "{{ x " << "{{ is never closed";
    QTest::newRow("stray end") << "{% endfor %}" << "unexpected tag 'endfor'";
    QTest::newRow("raw") << "{% raw %}{{ x }}{% endraw %}" << "unsupported tag 'raw'";
    QTest::newRow("chained") << "{{ 1 < 2 < 3 }}" << "unsupported chained comparison";
    QTest::newRow("break outside") << "{% break %}" << "'break' outside a for loop";
    QTest::newRow("deep") << QString(QStringLiteral("{{ ") + QString(500, QLatin1Char('-')) + QStringLiteral("1 }}")) << "nested more than";
}

void TestChatTemplate::unsupportedIsAnError()
{
    QFETCH(QString, source);
    QFETCH(QString, message);
    try {
        ChatTemplate t(source);
        t.render({{QStringLiteral("user"), QStringLiteral("hi")}});
        QFAIL("no error");
    } catch (const jinja::TemplateError &e) {
        QVERIFY2(e.message().contains(message), qPrintable(e.message()));
    }
}

void TestChatTemplate::runtimeErrorsNameThePosition()
{
    const auto errorOf = [](const QString &source) {
        try {
            ChatTemplate(source).render({{QStringLiteral("user"), QStringLiteral("hi")}});
        } catch (const jinja::TemplateError &e) {
            return e.message();
        }
        return QString();
    };
    QCOMPARE(errorOf(QStringLiteral("{{ raise_exception('Conversation roles must alternate') }}")),
             QStringLiteral("chat template line 1, column 4: the template refused the conversation: Conversation roles must alternate"));
    QCOMPARE(errorOf(QStringLiteral("\n  {{ 'a' + nothing }}")), QStringLiteral("chat template line 2, column 10: 'nothing' is undefined"));
    QVERIFY(errorOf(QStringLiteral("{{ 1 + 'a' }}")).contains(QStringLiteral("unsupported operand types for +: 'int' and 'str'")));
    QVERIFY(errorOf(QStringLiteral("{{ 1 // 0 }}")).contains(QStringLiteral("division by zero")));
    QVERIFY(errorOf(QStringLiteral("{% for x in 3 %}{% endfor %}")).contains(QStringLiteral("'int' object is not iterable")));
    QVERIFY(errorOf(QStringLiteral("{{ nothing.role }}")).contains(QStringLiteral("'nothing' is undefined")));
    QVERIFY(errorOf(QStringLiteral("{% set x.y = 1 %}")).contains(QStringLiteral("only of a namespace()")));
}

void TestChatTemplate::hostileTemplatesStayBounded()
{
    const QStringList hostile = {
        QStringLiteral("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"),
        QStringLiteral("{{ 'x' * 1000000000 }}"),
        QStringLiteral("{% set ns = namespace(s='xxxxxxxxxx') %}{% for i in range(30) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
        QStringLiteral("{{ 2 ** 100000000000 }}"),
        QStringLiteral("{{ range(1000000000)|list }}"),
        QStringLiteral("{% for i in range(99999) %}{{ 'y' * 99999 }}{% endfor %}"),
    };
    for (const QString &source : hostile) {
        try {
            ChatTemplate(source).render({});
            QFAIL(qPrintable(QStringLiteral("no error for %1").arg(source)));
        } catch (const jinja::TemplateError &e) {
            QVERIFY2(e.message().startsWith(QStringLiteral("chat template line 1")), qPrintable(e.message()));
        }
    }
}

void TestChatTemplate::modelsWithoutTemplate()
{
    for (const char *model : {"stories260K", "gpt2-random", "bert-random", "t5-random"}) {
        const QString dir = test::sharedModel(QString::fromLatin1(model));
        if (!dir.isEmpty())
            QVERIFY2(!ChatTemplate::load(dir).has_value(), model);
    }
    QVERIFY(!ChatTemplate::load(QStringLiteral("/nonexistent")).has_value());
}

// Newer transformers write the template to chat_template.jinja: it wins over tokenizer_config.json,
// and `chunk` carries it beside the chunks (so a remote client fetches it too).
void TestChatTemplate::templateFileTravelsWithTheChunks()
{
    const QDir shared(test::sharedModel(QStringLiteral("stories260K")));
    if (!shared.exists())
        QSKIP("shared models not available");
    QTemporaryDir work;
    const QString model = work.filePath(QStringLiteral("model"));
    QVERIFY(QDir().mkpath(model));
    for (const QString &name : shared.entryList(QDir::Files))
        QVERIFY(QFile::copy(shared.filePath(name), QDir(model).filePath(name)));
    QFile jinja(QDir(model).filePath(QStringLiteral("chat_template.jinja")));
    QVERIFY(jinja.open(QIODevice::WriteOnly));
    jinja.write("{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
    jinja.close();
    const QString chunks = work.filePath(QStringLiteral("chunks"));
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), chunks});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(QFile::exists(chunks + QStringLiteral("/chat_template.jinja")));
    const std::optional<ChatTemplate> t = ChatTemplate::load(chunks);
    QVERIFY(t.has_value());
    QCOMPARE(t->render({{QStringLiteral("user"), QStringLiteral("Hi")}}), QStringLiteral("<s>[user] Hi\n"));

    QVERIFY(jinja.open(QIODevice::WriteOnly | QIODevice::Truncate));
    jinja.write("{% include 'other' %}");
    jinja.close();
    try {
        ChatTemplate::load(model);
        QFAIL("an unsupported template file loaded");
    } catch (const Error &e) {
        QVERIFY2(e.message().contains(QStringLiteral("chat_template.jinja: chat template line 1, column 4: unsupported tag 'include'")),
                 qPrintable(e.message()));
    }
}

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "tst_chattemplate.moc"
