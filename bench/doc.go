// Package bench is the gateway's performance harness. The command in
// bench/cmd/bench runs the scenarios and writes bench/RESULTS.md; the
// packages under bench/internal hold the load generator, the histogram and
// the scenarios. This package itself only holds Go benchmarks of the trace
// pipeline through the real stores:
//
//	go test . -run '^$' -bench Writer -benchtime 200000x
package bench
