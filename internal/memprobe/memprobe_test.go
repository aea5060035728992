package memprobe

import (
	"fmt"
	"io"
	"testing"
)

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

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		n            int
		want         string
	}{
		{"header and rows", "h\n", 3, "h\nrow1\nrow2\nrow3\n"},
		{"no header", "", 2, "row1\nrow2\n"},
		{"nothing", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Lines(tc.header, tc.n, func(dst []byte, i int) []byte { return fmt.Appendf(dst, "row%d\n", i) })
			// Read in tiny pieces to cross line boundaries.
			var got []byte
			p := make([]byte, 3)
			for {
				n, err := r.Read(p)
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
