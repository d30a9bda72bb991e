// The Playground as a chat, used the way a person does: typing in the prompt box, Ctrl+Return and
// the buttons, on real chunks of the shared models (stories260K, qwen3-random, bert-random,
// t5-random) run by the real inference engine. The greedy ids are Hugging Face's goldens.
#include "chat/chattemplate.h"
#include "chatpanel.h"
#include "chatview.h"
#include "chunkpage.h"
#include "errorbanner.h"
#include "guitestsupport.h"
#include "inferencecontroller.h"
#include "mainwindow.h"
#include "modelgen/randommodel.h"
#include "playgroundpage.h"
#include "testsupport.h"
#include "tokenizer/tokenizer.h"

#include <QAction>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

using namespace surfing;
using namespace surfing::ui;

class TestChat : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void conversationKeepsEveryReply();
    void stopRegenerateAndClear();
    void chatTemplateShapesThePrompt();
    void qwenChatTemplate();
    void templateErrorsSayWhatToDo();
    void contextLimitIsExplained();
    void encoderHasNoSampling();
    void tokenIdsForAModelWithoutTokenizer();
    void keyboard();
    void escCancelsChunking();
    void helpListsTheShortcuts();

private:
    QString chunked(const QString &model);
    QString storiesWithTemplate(const QString &name, const QString &chatTemplate);
    struct Ui {
        MainWindow window;
        PlaygroundPage *page = nullptr;
        ChatPanel *chat = nullptr;
        ChatView *view = nullptr;
    };
    void open(Ui &ui, const QString &chunks);
    InferenceResult send(Ui &ui, const QString &prompt, bool withKeyboard);
    static void typeInto(QWidget *field, const QString &text);

    QTemporaryDir m_home;
    QTemporaryDir m_work;
    QJsonObject m_golden;
};

void TestChat::initTestCase()
{
    QVERIFY(m_home.isValid());
    test::isolateUserDirs(m_home);
    if (test::sharedModel(QStringLiteral("stories260K")).isEmpty())
        QSKIP("shared models not available");
    m_golden = test::readJsonObject(test::sharedModel(QStringLiteral("stories260K")) + QStringLiteral("/golden/prompts.json"))
                   .value(QStringLiteral("prompts")).toArray().first().toObject();
}

QString TestChat::chunked(const QString &model)
{
    const QString out = m_work.filePath(model);
    if (!QFileInfo::exists(out)) {
        const test::CliResult r = test::runCli({QStringLiteral("chunk"), test::sharedModel(model), QStringLiteral("-o"), out});
        if (r.exitCode != 0)
            qWarning() << r.err;
    }
    return out;
}

// Select-all and type, as a person replaces a field's value.
void TestChat::typeInto(QWidget *field, const QString &text)
{
    field->setFocus();
    QTest::keyClick(field, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(field, text);
}

void TestChat::open(Ui &ui, const QString &chunks)
{
    ui.window.show();
    ui.window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&ui.window));
    ui.window.showPage(MainWindow::PlaygroundTab);
    ui.page = ui.window.playgroundPage();
    ui.chat = ui.page->chatPanel();
    ui.view = ui.chat->chatView();
    ui.page->addChunkFolder(chunks);
    auto *source = ui.page->findChild<QComboBox *>(QStringLiteral("source"));
    auto *model = ui.page->findChild<QComboBox *>(QStringLiteral("model"));
    QVERIFY(source && model);
    source->setCurrentIndex(2); // "Chunk folder (no server)"
    model->setCurrentIndex(model->findData(chunks));
    QCOMPARE(model->currentData().toString(), chunks);
}

InferenceResult TestChat::send(Ui &ui, const QString &prompt, bool withKeyboard)
{
    QSignalSpy finished(ui.window.inferenceController(), &InferenceController::finished);
    QSignalSpy failed(ui.window.inferenceController(), &InferenceController::failed);
    const int turns = ui.view->turnCount();
    typeInto(ui.chat->promptEdit(), prompt);
    if (withKeyboard)
        QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    else
        QTest::mouseClick(ui.chat->runButton(), Qt::LeftButton);
    [&] {
        QCOMPARE(ui.view->turnCount(), turns + 1);
        QCOMPARE(ui.view->promptText(turns), prompt);           // echoed
        QVERIFY(ui.chat->promptEdit()->toPlainText().isEmpty()); // and the box is free for the next one
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 120000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
    }();
    return finished.isEmpty() ? InferenceResult() : finished.first().first().value<InferenceResult>();
}

// Three prompts, three replies kept one under the other, each with its figures; the first
// reply is Hugging Face's greedy continuation; a stop string typed in the field ends the third.
void TestChat::conversationKeepsEveryReply()
{
    Ui ui;
    open(ui, chunked(QStringLiteral("stories260K")));
    QVERIFY(ui.chat->rawCompletionBox()->isChecked()); // no chat template: raw, and it says so
    QVERIFY(!ui.chat->rawCompletionBox()->isEnabled());
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("20"));

    QStringList liveFigures; // what the reply's footer said while tokens arrived
    connect(ui.window.inferenceController(), &InferenceController::tokenGenerated, this,
            [&] { liveFigures << ui.view->figuresText(ui.view->turnCount() - 1); });
    const QString prompt = m_golden.value(QStringLiteral("prompt")).toString();
    const InferenceResult first = send(ui, prompt, true);
    QCOMPARE(first.newIds, test::idsFromJson(m_golden.value(QStringLiteral("greedy_ids"))).mid(0, 20));
    QCOMPARE(ui.view->replyText(0), first.text);
    QVERIFY(m_golden.value(QStringLiteral("greedy_text")).toString().startsWith(first.text.trimmed()));
    QVERIFY2(!liveFigures.isEmpty() && liveFigures.first().contains(QStringLiteral("1 token so far")), qPrintable(liveFigures.join('|')));
    QVERIFY(liveFigures.first().contains(QStringLiteral("tok/s")));
    const QString figures = ui.view->figuresText(0);
    for (const QString &part : {QStringLiteral("20 tokens"), QStringLiteral("tok/s"), QStringLiteral("first token"),
                                QStringLiteral("ended: max new tokens")})
        QVERIFY2(figures.contains(part), qPrintable(figures));
    QVERIFY(ui.chat->statsText().contains(QStringLiteral("16 prompt + 20 new tokens")));

    QTest::mouseClick(ui.view->copyButton(0), Qt::LeftButton);
    QCOMPARE(QGuiApplication::clipboard()->text(), first.text);

    const InferenceResult second = send(ui, QStringLiteral("Lily went to the park."), false);
    QCOMPARE(ui.view->replyText(1), second.text);
    typeInto(ui.chat->stopStringsEdit(), QStringLiteral("ball, park"));
    const InferenceResult third = send(ui, prompt, true);
    const QString greedy = m_golden.value(QStringLiteral("greedy_text")).toString();
    QCOMPARE(third.stopReason, QStringLiteral("stop_string"));
    QCOMPARE(ui.view->replyText(2), greedy.left(greedy.indexOf(QStringLiteral(" park")))); // " park" comes first
    QVERIFY(ui.view->figuresText(2).contains(QStringLiteral("ended: stop string")));
    QCOMPARE(ui.view->turnCount(), 3);
    QCOMPARE(ui.view->replyText(0), first.text); // the earlier replies stay
    QVERIFY(!ui.window.errorBanner()->isShowingError());
}

void TestChat::stopRegenerateAndClear()
{
    Ui ui;
    open(ui, chunked(QStringLiteral("stories260K")));
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("12"));
    const QString prompt = m_golden.value(QStringLiteral("prompt")).toString();
    const InferenceResult first = send(ui, prompt, true);
    QVERIFY(!ui.view->isStopped(0));

    // Stop as soon as the first token shows: the reply keeps what came and says "stopped".
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("400"));
    bool clicked = false;
    connect(ui.window.inferenceController(), &InferenceController::tokenGenerated, this, [&] {
        if (!std::exchange(clicked, true))
            QTest::mouseClick(ui.chat->stopButton(), Qt::LeftButton);
    });
    const InferenceResult stopped = send(ui, QStringLiteral("Tom had a dog."), false);
    QVERIFY(clicked);
    QCOMPARE(stopped.stopReason, QStringLiteral("cancelled"));
    QVERIFY(stopped.newIds.size() < 400);
    QVERIFY(ui.view->isStopped(1));
    QVERIFY2(ui.view->figuresText(1).startsWith(QStringLiteral("stopped")), qPrintable(ui.view->figuresText(1)));
    disconnect(ui.window.inferenceController(), &InferenceController::tokenGenerated, this, nullptr);

    // Regenerate the first reply: the later turn makes way, the greedy reply comes again.
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("12"));
    QSignalSpy finished(ui.window.inferenceController(), &InferenceController::finished);
    QVERIFY(ui.view->regenerateButton(0)->isEnabled());
    QTest::mouseClick(ui.view->regenerateButton(0), Qt::LeftButton);
    QCOMPARE(ui.view->turnCount(), 1);
    QVERIFY(!ui.view->isFinished(0));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
    QCOMPARE(finished.first().first().value<InferenceResult>().newIds, first.newIds);
    QCOMPARE(ui.view->replyText(0), first.text);
    QCOMPARE(ui.view->promptText(0), prompt);

    QTest::mouseClick(ui.chat->clearButton(), Qt::LeftButton);
    QCOMPARE(ui.view->turnCount(), 0);
}

// Llama 3's template with a system prompt: the ids the model read are the template's rendering
// of the conversation so far, tokenized as transformers' apply_chat_template does. (A copy of
// llama3-random without rope_scaling, which the engine does not run yet: the template and the
// tokenizer are what this is about.)
void TestChat::chatTemplateShapesThePrompt()
{
    const QDir shared(test::sharedModel(QStringLiteral("llama3-random")));
    if (!shared.exists())
        QSKIP("llama3-random not available");
    const QString model = m_work.filePath(QStringLiteral("llama3-plain"));
    QVERIFY(QDir().mkpath(model));
    for (const QString &name : shared.entryList(QDir::Files))
        QVERIFY(QFile::copy(shared.filePath(name), QDir(model).filePath(name)));
    QJsonObject config = test::readJsonObject(shared.filePath(QStringLiteral("config.json")));
    config.remove(QStringLiteral("rope_scaling"));
    QFile configFile(QDir(model).filePath(QStringLiteral("config.json")));
    QVERIFY(configFile.open(QIODevice::WriteOnly | QIODevice::Truncate));
    configFile.write(QJsonDocument(config).toJson());
    configFile.close();
    const QString chunks = m_work.filePath(QStringLiteral("llama3-plain-chunks"));
    const test::CliResult chunking = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), chunks});
    QVERIFY2(chunking.exitCode == 0, chunking.err.constData());
    Ui ui;
    open(ui, chunks);
    QVERIFY(!ui.chat->rawCompletionBox()->isChecked());
    QVERIFY(ui.chat->rawCompletionBox()->isEnabled());
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("4"));
    typeInto(ui.chat->systemPromptEdit(), QStringLiteral("Be brief."));
    const ChatTemplate chatTemplate = *ChatTemplate::load(chunks);
    const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(chunks);

    QVector<ChatMessage> messages{{QStringLiteral("system"), QStringLiteral("Be brief.")}, {QStringLiteral("user"), QStringLiteral("Hi!")}};
    const InferenceResult first = send(ui, QStringLiteral("Hi!"), true);
    QCOMPARE(first.promptIds, tokenizer->encode(chatTemplate.render(messages), false).ids);
    QVERIFY(chatTemplate.render(messages).startsWith(QStringLiteral("<|begin_of_text|><|start_header_id|>system")));
    QVERIFY(chatTemplate.render(messages).endsWith(QStringLiteral("<|start_header_id|>assistant<|end_header_id|>\n\n")));

    if (!first.text.isEmpty())
        messages.append({QStringLiteral("assistant"), first.text});
    messages.append({QStringLiteral("user"), QStringLiteral("And then?")});
    const InferenceResult second = send(ui, QStringLiteral("And then?"), false);
    QCOMPARE(second.promptIds, tokenizer->encode(chatTemplate.render(messages), false).ids);

    QTest::mouseClick(ui.chat->rawCompletionBox(), Qt::LeftButton); // raw: the text as typed, with BOS rules
    const InferenceResult raw = send(ui, QStringLiteral("Plain text"), true);
    QCOMPARE(raw.promptIds, tokenizer->encode(QStringLiteral("Plain text"), true).ids);
}

// Qwen3 (ChatML) through the Playground: the prompt the model reads is the template's rendering.
// (That <|im_end|> ends a reply is tst_generationstops::eosIdsFromEveryFile.)
void TestChat::qwenChatTemplate()
{
    const QString chunks = chunked(QStringLiteral("qwen3-random"));
    if (!QFileInfo::exists(chunks + QStringLiteral("/config.json")))
        QSKIP("qwen3-random cannot be chunked in this build");
    Ui ui;
    open(ui, chunks);
    QVERIFY(!ui.chat->rawCompletionBox()->isChecked());
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("3"));
    const ChatTemplate chatTemplate = *ChatTemplate::load(chunks);
    const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(chunks);
    const InferenceResult first = send(ui, QStringLiteral("Hi!"), true);
    const QString rendered = chatTemplate.render({{QStringLiteral("user"), QStringLiteral("Hi!")}});
    QCOMPARE(rendered, QStringLiteral("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"));
    QCOMPARE(first.promptIds, tokenizer->encode(rendered, false).ids);
    QCOMPARE(ui.view->replyText(0), first.text);
}

// stories260K with a chat_template added to its tokenizer_config.json, chunked.
QString TestChat::storiesWithTemplate(const QString &name, const QString &chatTemplate)
{
    const QDir shared(test::sharedModel(QStringLiteral("stories260K")));
    const QString model = m_work.filePath(name);
    QDir().mkpath(model);
    for (const QString &file : shared.entryList(QDir::Files))
        QFile::copy(shared.filePath(file), QDir(model).filePath(file));
    QJsonObject config = test::readJsonObject(shared.filePath(QStringLiteral("tokenizer_config.json")));
    config.insert(QStringLiteral("chat_template"), chatTemplate);
    QFile out(QDir(model).filePath(QStringLiteral("tokenizer_config.json")));
    if (out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        out.write(QJsonDocument(config).toJson());
    out.close();
    const QString chunks = model + QStringLiteral("-chunks");
    const test::CliResult r = test::runCli({QStringLiteral("chunk"), model, QStringLiteral("-o"), chunks});
    if (r.exitCode != 0)
        qWarning() << r.err;
    return chunks;
}

// A template the engine cannot read runs raw only, and says why; one that refuses the
// conversation (raise_exception) is reported with what to do, and raw completion still works.
void TestChat::templateErrorsSayWhatToDo()
{
    {
        Ui ui;
        open(ui, storiesWithTemplate(QStringLiteral("stories-macro"), QStringLiteral("{% macro m() %}x{% endmacro %}{{ m() }}")));
        QVERIFY(ui.chat->rawCompletionBox()->isChecked());
        QVERIFY(!ui.chat->rawCompletionBox()->isEnabled());
        QVERIFY2(ui.chat->rawCompletionBox()->toolTip().contains(QStringLiteral("unsupported tag 'macro'")),
                 qPrintable(ui.chat->rawCompletionBox()->toolTip()));
    }
    Ui ui;
    open(ui, storiesWithTemplate(QStringLiteral("stories-strict"),
        QStringLiteral("{% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}"
                       "{{ bos_token }}{{ messages[0]['content'] }}")));
    QVERIFY(!ui.chat->rawCompletionBox()->isChecked());
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QStringLiteral("8"));
    typeInto(ui.chat->systemPromptEdit(), QStringLiteral("You tell stories."));
    QSignalSpy refused(ui.window.inferenceController(), &InferenceController::runRefused);
    typeInto(ui.chat->promptEdit(), QStringLiteral("Once upon a time"));
    QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(refused.count() > 0, 120000);
    QVERIFY2(ui.window.errorBanner()->message().contains(QStringLiteral("the template refused the conversation: one message only")),
             qPrintable(ui.window.errorBanner()->message()));
    QVERIFY(ui.window.errorBanner()->action().contains(QStringLiteral("Raw completion")));
    QVERIFY(!ui.page->isRunning());

    // Without the system prompt the template takes the one message: BOS + the text, as rendered.
    typeInto(ui.chat->systemPromptEdit(), QString());
    QTest::keyClick(ui.chat->systemPromptEdit(), Qt::Key_Backspace);
    const InferenceResult templated = send(ui, QStringLiteral("Once upon a time"), true);
    const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(test::sharedModel(QStringLiteral("stories260K")));
    QCOMPARE(templated.promptIds, tokenizer->encode(QStringLiteral("<s>Once upon a time"), false).ids);
    QTest::mouseClick(ui.chat->rawCompletionBox(), Qt::LeftButton);
    const InferenceResult raw = send(ui, QStringLiteral("Once upon a time"), false);
    QCOMPARE(raw.promptIds, tokenizer->encode(QStringLiteral("Once upon a time"), true).ids);
}

void TestChat::contextLimitIsExplained()
{
    Ui ui;
    open(ui, chunked(QStringLiteral("stories260K")));
    QLabel *note = ui.page->contextNote();
    QVERIFY(note->isVisibleTo(ui.page));
    QVERIFY(note->text().contains(QStringLiteral("512 tokens")));
    auto *maxTokens = ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens"));
    typeInto(maxTokens, QStringLiteral("600"));
    QCOMPARE(maxTokens->value(), 600); // not clamped
    QVERIFY2(note->text().contains(QStringLiteral("600 new tokens do not fit")), qPrintable(note->text()));

    QSignalSpy failed(ui.window.inferenceController(), &InferenceController::failed);
    typeInto(ui.chat->promptEdit(), m_golden.value(QStringLiteral("prompt")).toString());
    QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() > 0, 120000);
    QVERIFY2(ui.window.errorBanner()->message().contains(QStringLiteral("the 512 positions")), qPrintable(ui.window.errorBanner()->message()));
    QVERIFY(ui.window.errorBanner()->message().contains(QStringLiteral("at most 496 new tokens")));
    QVERIFY(ui.view->figuresText(0).startsWith(QStringLiteral("failed")));
    // The long reason wraps under the reply: the conversation does not grow sideways.
    QTest::qWait(100);
    QVERIFY(!ui.view->horizontalScrollBar()->isVisible());
    QVERIFY(ui.view->regenerateButton(0)->isVisible());
    QVERIFY(ui.view->viewport()->rect().contains(ui.view->regenerateButton(0)->mapTo(ui.view->viewport(), QPoint(0, 0))));

    // What to do is specific: the field and the limit, not the server's access token.
    ErrorBanner *banner = ui.window.errorBanner();
    const QString action = banner->action();
    QVERIFY2(action.contains(QStringLiteral("Max new tokens")) && action.contains(QStringLiteral("at most 496")), qPrintable(action));
    QVERIFY2(!action.contains(QStringLiteral("Server page")), qPrintable(action));
    // The cursor is in Max new tokens with the value selected: typing replaces it.
    QTRY_VERIFY(maxTokens->hasFocus());
    QCOMPARE(maxTokens->findChild<QLineEdit *>()->selectedText(), QStringLiteral("600"));
    // One click on the banner runs the turn again with what fits; the banner goes when it worked.
    QPushButton *fix = banner->fixButton();
    QVERIFY(fix->isVisibleTo(banner));
    QCOMPARE(fix->text(), QStringLiteral("Run with 496 new tokens"));
    QSignalSpy finished(ui.window.inferenceController(), &InferenceController::finished);
    QTest::mouseClick(fix, Qt::LeftButton);
    QCOMPARE(maxTokens->value(), 496);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 1, 120000);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(ui.view->turnCount(), 1);
    QVERIFY(!ui.view->figuresText(0).startsWith(QStringLiteral("failed")));
    QVERIFY(!banner->isShowingError());
    QVERIFY(!fix->isVisibleTo(banner));

    // A prompt that alone fills the model: no number of new tokens helps; the advice says to
    // shorten it or start anew, and the cursor goes back to the prompt box.
    typeInto(ui.chat->promptEdit(), QStringLiteral("Once upon a time there was a dog. ").repeated(60));
    QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() > 1, 120000);
    QVERIFY2(banner->message().contains(QStringLiteral("this model holds 512 positions")), qPrintable(banner->message()));
    QVERIFY2(banner->action().contains(QStringLiteral("shorten it")) && banner->action().contains(QStringLiteral("Clear")),
             qPrintable(banner->action()));
    QVERIFY(!fix->isVisibleTo(banner));
    QTRY_VERIFY(ui.chat->promptEdit()->hasFocus());
}

void TestChat::encoderHasNoSampling()
{
    const QString chunks = chunked(QStringLiteral("bert-random"));
    Ui ui;
    open(ui, chunks);
    QVERIFY(!ui.page->samplingBox()->isEnabled());
    QVERIFY(!ui.chat->systemPromptEdit()->isEnabled());
    QVERIFY(!ui.chat->stopStringsEdit()->isEnabled());
    QVERIFY(ui.chat->promptEdit()->placeholderText().contains(QStringLiteral("One sentence per line")));
    QSignalSpy computed(ui.window.inferenceController(), &InferenceController::similaritiesComputed);
    QSignalSpy finished(ui.window.inferenceController(), &InferenceController::finished);
    typeInto(ui.chat->promptEdit(), QStringLiteral("Hello, world!"));
    QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return); // a new line, not a send
    QTest::keyClicks(ui.chat->promptEdit(), QStringLiteral("It was supercalifragilisticexpialidocious."));
    QTest::mouseClick(ui.chat->runButton(), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);
    QCOMPARE(computed.count(), 1);
    QCOMPARE(computed.first().at(2).value<QVector<int>>().size(), 2);
    QVERIFY(ui.view->figuresText(0).contains(QStringLiteral("2 sentences")));
    QVERIFY(ui.view->replyText(0).contains(QStringLiteral("tokens")));
    QVERIFY(ui.page->samplingBox()->isEnabled() == false);
}

// t5-random has no tokenizer: the Playground says to type ids, then takes them; the reply is
// the ids Hugging Face's greedy generation made.
void TestChat::tokenIdsForAModelWithoutTokenizer()
{
    Ui ui;
    open(ui, chunked(QStringLiteral("t5-random")));
    QVERIFY(ui.chat->promptEdit()->placeholderText().contains(QStringLiteral("token ids")));
    QSignalSpy refused(ui.window.inferenceController(), &InferenceController::runRefused);
    typeInto(ui.chat->promptEdit(), QStringLiteral("hello"));
    QTest::keyClick(ui.chat->promptEdit(), Qt::Key_Return, Qt::ControlModifier);
    QTRY_VERIFY_WITH_TIMEOUT(refused.count() > 0, 120000);
    QVERIFY2(ui.window.errorBanner()->message().contains(QStringLiteral("has no tokenizer")), qPrintable(ui.window.errorBanner()->message()));
    QVERIFY2(ui.window.errorBanner()->action().contains(QStringLiteral("Type token ids in the prompt box")),
             qPrintable(ui.window.errorBanner()->action()));
    QVERIFY(ui.view->figuresText(0).startsWith(QStringLiteral("failed")));
    QVERIFY(!ui.page->isRunning());

    const QJsonObject golden = test::readJsonObject(test::sharedModel(QStringLiteral("t5-random")) + QStringLiteral("/golden/01_short.json"));
    QStringList input;
    for (const QJsonValue &v : golden.value(QStringLiteral("input_ids")).toArray().first().toArray())
        input << QString::number(v.toInteger());
    QVector<qint64> expected = test::idsFromJson(golden[QStringLiteral("greedy")][QStringLiteral("sequences")].toArray().first());
    expected.removeFirst(); // the decoder start token
    typeInto(ui.page->findChild<QSpinBox *>(QStringLiteral("maxTokens")), QString::number(expected.size()));
    const InferenceResult r = send(ui, input.join(QLatin1Char(' ')), true);
    QCOMPARE(r.newIds, expected);
    QStringList shown;
    for (qint64 id : expected)
        shown << QString::number(id);
    QCOMPARE(ui.view->replyText(1), shown.join(QLatin1Char(' ')));
}

void TestChat::keyboard()
{
    Ui ui;
    open(ui, chunked(QStringLiteral("stories260K")));
    // Tab leaves the prompt box (and types no tab into it).
    QPlainTextEdit *prompt = ui.chat->promptEdit();
    typeInto(prompt, QStringLiteral("Hi"));
    QTest::keyClick(prompt, Qt::Key_Tab);
    QVERIFY(QApplication::focusWidget() != prompt);
    QCOMPARE(prompt->toPlainText(), QStringLiteral("Hi"));

    // Ctrl+Return in the prompt sends it (the Chunk action no longer competes for the keys) ...
    QSignalSpy runs(ui.page, &PlaygroundPage::runRequested);
    QSignalSpy finished(ui.window.inferenceController(), &InferenceController::finished);
    prompt->setFocus();
    QTest::keyClick(prompt, Qt::Key_Return, Qt::ControlModifier);
    QCOMPARE(runs.count(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() > 0, 120000);

    // ... and on the Chunk page it chunks.
    QVERIFY(ui.window.openPath(test::sharedModel(QStringLiteral("stories260K")), false));
    ChunkPage *chunkPage = ui.window.chunkPage();
    chunkPage->setOutputDir(m_work.filePath(QStringLiteral("keyboard-chunks")));
    QSignalSpy started(chunkPage, &ChunkPage::chunkingStarted);
    QSignalSpy done(chunkPage, &ChunkPage::chunkingFinished);
    auto *chunkButton = chunkPage->findChild<QPushButton *>(QStringLiteral("chunk"));
    chunkButton->setFocus();
    QTest::keyClick(chunkButton, Qt::Key_Return, Qt::ControlModifier);
    QCOMPARE(started.count(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(done.count() > 0, 120000);
}

void TestChat::escCancelsChunking()
{
    RandomModelSpec spec; // as tst_mainwindow: slow enough at zstd level 19 to press a key
    spec.layers = 16;
    spec.hidden = 384;
    spec.intermediate = 1024;
    spec.heads = 6;
    spec.kvHeads = 6;
    const QString model = m_work.filePath(QStringLiteral("big-llama"));
    writeRandomModel(spec, model);
    MainWindow window;
    window.show();
    window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    QVERIFY(window.openPath(model, false));
    ChunkPage *page = window.chunkPage();
    page->setOutputDir(m_work.filePath(QStringLiteral("esc-out")));
    QTest::mouseClick(page->findChild<QCheckBox *>(QStringLiteral("compress")), Qt::LeftButton);
    auto *level = page->findChild<QSpinBox *>(QStringLiteral("level"));
    level->setValue(level->maximum());
    auto *chunk = page->findChild<QPushButton *>(QStringLiteral("chunk"));
    QTest::mouseClick(chunk, Qt::LeftButton);
    QVERIFY(page->isBusy());
    QTest::keyClick(QApplication::focusWidget() ? QApplication::focusWidget() : page, Qt::Key_Escape);
    QTRY_VERIFY_WITH_TIMEOUT(!page->isBusy(), 120000);
    QVERIFY(page->findChild<QLabel *>(QStringLiteral("progressText"))->text().startsWith(QStringLiteral("Cancelled")));
    QVERIFY(!QFileInfo::exists(m_work.filePath(QStringLiteral("esc-out"))));
}

void TestChat::helpListsTheShortcuts()
{
    MainWindow window;
    window.show();
    auto *action = window.findChild<QAction *>(QStringLiteral("shortcutsAction"));
    QVERIFY(action);
    QCOMPARE(action->shortcut(), QKeySequence(Qt::Key_F1));
    QVERIFY(window.findChild<QAction *>(QStringLiteral("documentationAction")));
    QString shown;
    QTimer::singleShot(0, this, [&] {
        auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
        if (box) {
            shown = box->text();
            box->close();
        }
    });
    action->trigger();
    for (const QString &key : {QStringLiteral("Ctrl+Return"), QStringLiteral("Esc"), QStringLiteral("Tab"), QStringLiteral("Ctrl+.")})
        QVERIFY2(shown.contains(key), qPrintable(shown));
    QVERIFY(shown.contains(QStringLiteral("Documentation")));
    QVERIFY(shown.contains(QStringLiteral("file://")));
}

QTEST_MAIN(TestChat)
#include "tst_chat.moc"
