// Package memprobe measures the peak heap of a piece of work, for the
// benchmarks that hold bbo to its memory targets.
package memprobe

import (
	"io"
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

// Lines returns a reader of n+1 generated lines: header (skipped when
// empty), then line(dst, i) for i = 1..n, each appended to dst and ending
// in a newline. Nothing is held beyond the current line, so a benchmark can
// stream millions of records without its input weighing on the heap it
// measures.
func Lines(header string, n int, line func(dst []byte, i int) []byte) io.Reader {
	return &lines{header: header, n: n, line: line}
}

type lines struct {
	header string
	n, i   int
	line   func(dst []byte, i int) []byte
	buf    []byte
	pend   []byte
}

func (l *lines) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) {
		if len(l.pend) == 0 {
			if l.i > l.n {
				break
			}
			if l.i == 0 {
				l.buf = append(l.buf[:0], l.header...)
			} else {
				l.buf = l.line(l.buf[:0], l.i)
			}
			l.i++
			l.pend = l.buf
		}
		c := copy(p[w:], l.pend)
		w += c
		l.pend = l.pend[c:]
	}
	if w == 0 {
		return 0, io.EOF
	}
	return w, nil
}
