// Package restapi is kda's REST API, served by `kda serve` under /v1 beside
// the Kinesis-compatible API: JSON over HTTP for the console, scripts and
// the kda CLI.
//
// Requests flow through one handler:
//
//	recover (a panic answers 500, never a dropped connection)
//	  → refuse OPTIONS (CORS stays closed: no Access-Control-* headers, ever)
//	  → authorize (bearer token and/or SigV4, per Options)
//	  → route table (method + pattern; JSON 404 and 405 otherwise)
//	  → handler: streams and records (engine/store), schema discovery
//	    (operators/input), ad-hoc queries streamed as Server-Sent Events
//	    (an ephemeral engine/app runtime), applications (engine/app Manager),
//	    consumer checkpoints, and the OpenAPI document of all of them.
//
// Every answer is JSON except the query stream (text/event-stream). Errors
// are {"error":{"code","message","line","column"}}, line and column only
// for SQL errors; bad input is always a 4xx that names what is wrong.
//
// The route table (routes) is the single source of what is served; the
// embedded openapi.json documents it, and a test keeps the two equal.
package restapi
