// MainWindow, the run side: a Playground request becomes a run (memory check, a fresh timeline),
// its progress, results and errors go to the pages, the memory estimate follows the setup.
#include "mainwindow.h"

#include "base/error.h"
#include "client/memoryestimate.h"
#include "erroradvice.h"
#include "errorbanner.h"
#include "formatting.h"
#include "inferencecontroller.h"
#include "memoryestimatelabel.h"
#include "metricssampler.h"
#include "playgroundpage.h"
#include "servercontroller.h"
#include "serverpage.h"
#include "timelinemodel.h"

#include <QDir>
#include <QMessageBox>
#include <QPushButton>

namespace surfing::ui {

void MainWindow::connectInference()
{
    PlaygroundPage *page = m_playgroundPage;
    connect(page, &PlaygroundPage::runRequested, this, &MainWindow::startRun);
    connect(page, &PlaygroundPage::stopRequested, m_inference, &InferenceController::cancel);
    connect(page, &PlaygroundPage::setupChanged, this, &MainWindow::updateMemoryEstimate);
    connect(m_inference, &InferenceController::runningChanged, page, &PlaygroundPage::setRunning);
    connect(m_inference, &InferenceController::runningChanged, this, [this](bool running) {
        if (!running && m_restartPending && m_server->state() == ServerController::State::Running)
            m_server->stop(); // the restart that waited for the run; stopped() starts it again
    });
    connect(m_inference, &InferenceController::progressMessage, page, &PlaygroundPage::showStats);
    connect(m_inference, &InferenceController::connectAttempted, page, [page](const QUrl &url, int attempt) {
        page->showStats(tr("Connecting to %1 · attempt %2 · Stop cancels").arg(url.toString()).arg(attempt));
    });
    connect(m_inference, &InferenceController::cancelled, this, [this, page](const QString &message) {
        page->showStats(message);
        showInfo(message);
    });
    connect(m_inference, &InferenceController::manifestKnown, this, [this](const QString &, const ChunkManifest &manifest) {
        if (m_lastRequest.source == PlaygroundRequest::Source::RemoteServer)
            m_manifests.insert(m_lastRequest.serverUrl.toString() + QLatin1Char('|') + m_lastRequest.model, manifest);
        updateMemoryEstimate();
    });
    connect(m_inference, &InferenceController::tokenGenerated, page, &PlaygroundPage::appendText);
    connect(m_inference, &InferenceController::tokenGenerated, m_sampler, [this] { m_sampler->addTokens(1); });
    connect(m_inference, &InferenceController::layerEventsRecorded, m_timeline, &TimelineModel::addEvents);
    connect(m_inference, &InferenceController::layerEventsRecorded, m_sampler, &MetricsSampler::addLayerEvents);
    connect(m_inference, &InferenceController::clientCacheBytesChanged, m_sampler, &MetricsSampler::setClientCacheBytes);
    connect(m_inference, &InferenceController::finished, this, [this, page](const InferenceResult &result) {
        if (m_bannerFromRun) // the run that failed before works now
            m_banner->dismiss();
        m_bannerFromRun = false;
        const InferenceStats &s = result.stats;
        const QString from = tr(" · weights from %1").arg(describeSource(m_lastRequest));
        if (result.newIds.isEmpty() && !result.text.isEmpty() && page->outputText().isEmpty()) {
            // One line to an encoder: its output summary, and how to get the comparison.
            page->showOutput(result.text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"))
                             + tr("<p><i>Type two or more sentences, one per line, to compare them with the first.</i></p>"));
        }
        if (s.newTokens == 0 && result.newIds.isEmpty()) { // an encoder: nothing generated, no tok/s
            page->showStats(tr("%1 tokens encoded in %2 · cache hits %3% · fetched %4 · waited %5")
                                .arg(s.promptTokens).arg(formatMilliseconds(s.totalNs / 1e6))
                                .arg(100.0 * s.cacheHitRate(), 0, 'f', 0)
                                .arg(formatBytes(s.bytesFetched), formatMilliseconds(s.fetchWaitNs / 1e6)) + from);
            return;
        }
        page->showStats(tr("%1 prompt + %2 new tokens · %3 tok/s · first token %4 · cache hits %5% · fetched %6 · waited %7")
                            .arg(s.promptTokens).arg(s.newTokens).arg(s.tokensPerSecond(), 0, 'f', 1)
                            .arg(formatMilliseconds(s.timeToFirstTokenNs / 1e6))
                            .arg(100.0 * s.cacheHitRate(), 0, 'f', 0)
                            .arg(formatBytes(s.bytesFetched), formatMilliseconds(s.fetchWaitNs / 1e6)) + from);
    });
    connect(m_inference, &InferenceController::similaritiesComputed, page,
            [page](const QStringList &sentences, const QVector<double> &toFirst) {
        QString html = tr("<p>Cosine similarity of mean-pooled <code>last_hidden_state</code> to the first line:</p><table cellpadding=4>");
        for (int i = 0; i < sentences.size(); ++i)
            html += QStringLiteral("<tr><td align=right><b>%1</b></td><td>%2</td></tr>")
                        .arg(toFirst.value(i), 0, 'f', 4).arg(sentences.at(i).toHtmlEscaped());
        page->showOutput(html + QStringLiteral("</table>"));
    });
    connect(m_inference, &InferenceController::failed, this, [this, page](const QString &message) {
        page->showStats(tr("Failed · %1").arg(describeSource(m_lastRequest)));
        showError(tr("Inference failed: %1").arg(message), adviceForRunError(message, m_lastRequest));
        m_bannerFromRun = true;
    });
}

QString MainWindow::describeSource(const PlaygroundRequest &r) const
{
    if (r.source == PlaygroundRequest::Source::ChunkFolder)
        return QDir::toNativeSeparators(r.chunkDir);
    QUrl url = r.serverUrl;
    if (!r.model.isEmpty())
        url.setPath(QLatin1Char('/') + r.model);
    return url.toString();
}

const ChunkManifest *MainWindow::manifestFor(const PlaygroundRequest &r)
{
    if (r.source == PlaygroundRequest::Source::RemoteServer) {
        const auto it = m_manifests.constFind(r.serverUrl.toString() + QLatin1Char('|') + r.model);
        return it == m_manifests.constEnd() ? nullptr : &it.value();
    }
    if (r.chunkDir.isEmpty())
        return nullptr;
    auto it = m_manifests.find(r.chunkDir);
    if (it == m_manifests.end()) {
        try {
            it = m_manifests.insert(r.chunkDir, ChunkManifest::load(r.chunkDir));
        } catch (const Error &) {
            return nullptr;
        }
    }
    return &it.value();
}

void MainWindow::setAvailableMemoryBytes(qint64 bytes)
{
    m_availableOverride = bytes;
    updateMemoryEstimate();
}

void MainWindow::updateMemoryEstimate()
{
    PlaygroundRequest r;
    try {
        r = m_playgroundPage->request(false);
    } catch (const Error &) {
        m_memoryEstimate->setUnknown(tr("choose a model"));
        return;
    }
    const ChunkManifest *manifest = manifestFor(r);
    if (!manifest) {
        m_memoryEstimate->setUnknown(r.source == PlaygroundRequest::Source::RemoteServer
                                         ? tr("known after the first run from this server")
                                         : tr("choose a model"));
        return;
    }
    const qint64 available = m_availableOverride >= 0 ? m_availableOverride : availableMemoryBytes();
    m_memoryEstimate->setEstimate(estimateRunMemory(*manifest, r.cacheBytes, r.cacheLayers, r.options.prefetchDepth, available));
}

void MainWindow::startRun(const PlaygroundRequest &request)
{
    PlaygroundRequest r = request;
    if (r.source == PlaygroundRequest::Source::LocalServer && r.token.isEmpty()) {
        try {
            r.token = m_serverPage->options().token; // our own server's token
        } catch (const Error &) {
        }
    }
    updateMemoryEstimate();
    if (m_memoryEstimate->hasEstimate() && m_memoryEstimate->estimate().isKnownNotToFit()) {
        const MemoryEstimate &e = m_memoryEstimate->estimate();
        QMessageBox box(QMessageBox::Warning, tr("This run may not fit in memory"),
                        tr("The run is expected to need %1 at its peak, and this machine has %2 available.")
                            .arg(formatBytes(e.peakBytes()), formatBytes(e.availableBytes)),
                        QMessageBox::NoButton, this);
        box.setObjectName(QStringLiteral("memoryWarning"));
        box.setInformativeText(tr("Lower \u201cCache budget\u201d or \u201cCache chunks\u201d and the prefetch depth "
                                  "in the Playground to make it fit.\n\n%1").arg(e.breakdown()));
        QPushButton *run = box.addButton(tr("Run anyway"), QMessageBox::AcceptRole);
        box.addButton(QMessageBox::Cancel);
        box.setDefaultButton(QMessageBox::Cancel);
        box.exec();
        if (box.clickedButton() != run) {
            showInfo(tr("Run not started: it would need more memory than is available"));
            return;
        }
    }
    m_lastRequest = r;
    m_timeline->startRun(r.source == PlaygroundRequest::Source::ChunkFolder
                             ? tr("%1 (chunk folder)").arg(QDir(r.chunkDir).dirName()) : describeSource(r));
    m_inference->start(r);
}

} // namespace surfing::ui
