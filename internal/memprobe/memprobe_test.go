package memprobe

import "testing"

var sink []byte

func TestPeakHeapSeesAllocation(t *testing.T) {
	const size = 64 << 20
	peak := PeakHeap(func() {
		sink = make([]byte, size)
		for i := range sink {
			sink[i] = byte(i)
		}
	})
	if peak < size {
		t.Fatalf("peak = %d, want at least the %d bytes allocated", peak, size)
	}
	sink = nil
}
