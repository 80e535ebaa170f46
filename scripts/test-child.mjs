// Loaded (--import) into every test file's process. Node's test runner streams each
// file's results to the parent over a pipe, and --test-force-exit ends the file with
// process.exit(): on Linux that can cut the pipe's pending writes, and the parent then
// counts fewer tests than ran, with no failure (nodejs/node#64833). Writes made
// blocking are all delivered before the exit.
if (process.env.NODE_TEST_CONTEXT) process.stdout._handle?.setBlocking?.(true);
