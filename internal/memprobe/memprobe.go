// Package memprobe measures the peak heap of a piece of work, for the
// benchmarks that hold bbo to its memory targets.
package memprobe

import (
	"runtime"
	"time"
)

// PeakHeap runs fn and returns the highest in-use heap seen while it ran,
// sampled every few milliseconds (ReadMemStats stops the world, so the
// sampler must not spin).
func PeakHeap(fn func()) uint64 {
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-sampled
	return peak
}

// MB converts bytes to mebibytes for b.ReportMetric.
func MB(n uint64) float64 { return float64(n) / (1 << 20) }
