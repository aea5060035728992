// Package asl interprets Amazon States Language (JSONPath) state machine
// definitions in-process: it parses and validates a definition, then runs
// executions whose Task states dispatch to registered handlers, so bbo's
// deployed state machines can run locally and be checked in tests.
package asl
