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
// The JavaScript language is ECMAScript 5.1 with most of ES2015+ (let and
// const, arrow functions, classes, template literals, destructuring,
// spread, Map/Set, typed arrays, Promise, async/await, generators,
// Symbol, Proxy/Reflect, optional chaining) as goja implements it. Not
// supported: ES modules (`import`/`export`; write `exports.handler = ...`),
// `WeakRef` and `FinalizationRegistry`, and regular expression features
// goja's engines lack (lookbehind on some patterns, named groups in older
// forms, the `u` flag's full Unicode property escapes). See docs/javascript.md.
package udf
