// surfing-cli comes as two programs so that only commands that compute load libtorch (0.7 s):
// `surfing-cli` itself (chunk, verify, inspect, serve, fetch, make-model) and
// `surfing-cli-torch` (all of those plus `run`, and able to read pytorch_model.bin), which
// `surfing-cli` hands the command line to when it needs libtorch, as git hands `git foo` to
// git-foo. Users only ever type `surfing-cli`.
#pragma once

namespace surfing::cli {

inline constexpr const char *kRunSummary = "Run a model streamed from a weight server (or --local chunks).";

// Remembers main()'s argv so the command line can be handed on unchanged.
void rememberArguments(int argc, char *argv[]);
char **originalArguments();

// Replaces this process by surfing-cli-torch with the same command line (looked for beside
// this executable, then in ../lib/surfing/). Returns only on failure, with the exit code.
int execTorchCli();

} // namespace surfing::cli
