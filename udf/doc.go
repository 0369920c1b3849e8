// Package udf runs the JavaScript that stands in for AWS Lambda in kda:
// record pre-processors, SQL functions and aggregates, and output
// post-processors, on the goja interpreter (github.com/dop251/goja).
//
// A script is compiled once (Compile) and run in a Pool of runtimes. A
// runtime is a goja.Runtime with the script loaded; it is never shared
// between goroutines: Pool.Do lends one runtime to one caller at a time.
// Every call runs under Limits: a timeout that interrupts runaway code and
// a memory guard that interrupts a call while the heap grows past its
// allowance. A runtime whose call was interrupted is discarded, never
// reused, because an interrupted script may have left its globals half
// updated.
//
// Each runtime offers what Lambda code for Node.js commonly uses and that
// can run without an event loop: CommonJS `module`/`exports` and
// `require` for the built-in modules `buffer`, `util`, `zlib` (gzip,
// deflate and their inverses, synchronous forms only) and `console`, the
// global `Buffer` (base64, hex, UTF-8) and `console`, whose output goes to
// the application's log with the function's name. Files and network
// modules (`fs`, `http`, `https`) and timers (`setTimeout`) are not
// available: a script that needs them fails at load time or when it calls
// them, with an error that says so.
//
// The language is what goja implements: ECMAScript 5.1 and most of
// ES2015 and later, without ES modules (write `exports.handler = ...`),
// Intl, WeakRef or Atomics. docs/javascript.md lists what works and what
// does not; features_test.go keeps that list true.
package udf
