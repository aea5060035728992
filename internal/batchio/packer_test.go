package batchio

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// memSink records jobs in memory.
type memSink struct {
	jobs   [][]int // item values per job
	closed []bool
	events []string
}

type memJob struct {
	s     *memSink
	index int
}

func (s *memSink) Open(index int) (JobWriter[int], error) {
	s.jobs = append(s.jobs, nil)
	s.closed = append(s.closed, false)
	s.events = append(s.events, fmt.Sprintf("open %d", index))
	return &memJob{s, index}, nil
}

func (j *memJob) Add(it Item[int]) error {
	j.s.jobs[j.index] = append(j.s.jobs[j.index], it.Value)
	return nil
}

func (j *memJob) Close() error {
	j.s.closed[j.index] = true
	j.s.events = append(j.s.events, fmt.Sprintf("close %d", j.index))
	return nil
}

func lim(maxRec, minRec, maxJobs int, maxBytes int64) Limits {
	return Limits{MaxRecordsPerJob: maxRec, MinRecordsPerJob: minRec, MaxNumJobs: maxJobs, HardMaxRecordsPerJob: 50_000, MaxJobBytes: maxBytes}
}

func TestPacker(t *testing.T) {
	const line = "0123456789" // 10 bytes per item
	cases := []struct {
		name      string
		lim       Limits
		items     int
		wantSizes []int
		wantTrunc bool
		wantMerge int
		wantRead  int    // items accepted, if fewer than items
		wantErr   string // substring of the error
	}{
		{name: "0 items", lim: lim(100, 100, 0, 1<<30), items: 0, wantErr: "has no records"},
		{name: "1 item", lim: lim(100, 100, 0, 1<<30), items: 1, wantErr: "has 1 records, fewer than Bedrock's minimum of 100"},
		{name: "99 items", lim: lim(100, 100, 0, 1<<30), items: 99, wantErr: "has 99 records"},
		{name: "100 items", lim: lim(100, 100, 0, 1<<30), items: 100, wantSizes: []int{100}},
		{name: "101 items: remainder merged", lim: lim(100, 100, 0, 1<<30), items: 101, wantSizes: []int{101}, wantMerge: 1},
		{name: "250 items max 100", lim: lim(100, 100, 0, 1<<30), items: 250, wantSizes: []int{100, 150}, wantMerge: 50},
		{name: "250 items max 1000", lim: lim(1000, 100, 0, 1<<30), items: 250, wantSizes: []int{250}},
		{name: "250 items max 120", lim: lim(120, 100, 0, 1<<30), items: 250, wantSizes: []int{120, 130}, wantMerge: 10},
		{name: "2500 items default", lim: DefaultLimits(), items: 2500, wantSizes: []int{1000, 1000, 500}},
		{name: "min 1", lim: lim(3, 1, 0, 1<<30), items: 7, wantSizes: []int{3, 3, 1}},
		{name: "max jobs truncates", lim: lim(100, 100, 2, 1<<30), items: 250, wantSizes: []int{100, 100}, wantTrunc: true, wantRead: 200},
		{name: "max jobs not reached", lim: lim(100, 100, 3, 1<<30), items: 250, wantSizes: []int{100, 150}, wantMerge: 50},
		{name: "byte limit splits", lim: lim(100, 10, 0, 250), items: 60, wantSizes: []int{25, 25, 10}},
		{name: "byte limit blocks merge", lim: lim(100, 10, 0, 250), items: 55, wantErr: "would have 300 bytes"},
		{name: "hard max blocks merge", lim: Limits{MaxRecordsPerJob: 100, MinRecordsPerJob: 10, HardMaxRecordsPerJob: 100, MaxJobBytes: 1 << 30}, items: 105, wantErr: "would have 105 records, more than Bedrock's 100"},
		{name: "minimum cannot fit bytes", lim: lim(100, 100, 0, 500), items: 100, wantErr: "would pass the 500-byte input file limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			p, err := NewPacker[int](tc.lim, sink)
			if err != nil {
				t.Fatal(err)
			}
			read := 0
			var addErr error
			for i := range tc.items {
				ok, err := p.Add(Item[int]{ID: fmt.Sprint("r", i), Line: []byte(line), Value: i})
				if err != nil {
					addErr = err
					break
				}
				if !ok {
					break
				}
				read++
			}
			res, err := p.Close()
			if addErr != nil {
				err = addErr
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantRead := tc.items
			if tc.wantRead != 0 {
				wantRead = tc.wantRead
			}
			if read != wantRead {
				t.Errorf("accepted %d items, want %d", read, wantRead)
			}
			if res.Truncated != tc.wantTrunc || res.Merged != tc.wantMerge {
				t.Errorf("Truncated %v Merged %d, want %v %d", res.Truncated, res.Merged, tc.wantTrunc, tc.wantMerge)
			}
			if len(res.Jobs) != len(tc.wantSizes) || len(sink.jobs) != len(tc.wantSizes) {
				t.Fatalf("%d jobs (sink %d), want %v", len(res.Jobs), len(sink.jobs), tc.wantSizes)
			}
			next := 0
			for i, js := range res.Jobs {
				if js.Index != i || js.Records != tc.wantSizes[i] || js.Bytes != int64(tc.wantSizes[i]*len(line)) {
					t.Errorf("job %d: %+v, want %d records", i, js, tc.wantSizes[i])
				}
				if len(sink.jobs[i]) != tc.wantSizes[i] || !sink.closed[i] {
					t.Errorf("sink job %d has %d items, closed %v", i, len(sink.jobs[i]), sink.closed[i])
				}
				for _, v := range sink.jobs[i] {
					if v != next {
						t.Fatalf("job %d: item %d out of order (want %d)", i, v, next)
					}
					next++
				}
			}
		})
	}
}

func TestPackerOpensAtMinimum(t *testing.T) {
	sink := &memSink{}
	p, err := NewPacker[int](lim(100, 100, 0, 1<<30), sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 199 {
		if _, err := p.Add(Item[int]{Line: []byte("x"), Value: i}); err != nil {
			t.Fatal(err)
		}
	}
	// The second job has 99 items buffered: not opened, first job open.
	if got := strings.Join(sink.events, ","); got != "open 0" {
		t.Errorf("events after 199 items: %s", got)
	}
	if _, err := p.Add(Item[int]{Line: []byte("x"), Value: 199}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.events, ","); got != "open 0,close 0,open 1" {
		t.Errorf("events after 200 items: %s", got)
	}
}

func TestPackerErrors(t *testing.T) {
	t.Run("line too large", func(t *testing.T) {
		p, err := NewPacker[int](lim(100, 1, 0, 5), &memSink{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Add(Item[int]{ID: "big-one", Line: []byte("123456")})
		if !errors.Is(err, ErrLineTooLarge) || !strings.Contains(err.Error(), `"big-one"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("too few is typed", func(t *testing.T) {
		p, err := NewPacker[int](DefaultLimits(), &memSink{})
		if err != nil {
			t.Fatal(err)
		}
		p.Add(Item[int]{Line: []byte("x")})
		_, err = p.Close()
		var tf *TooFewRecordsError
		if !errors.As(err, &tf) || tf.Count != 1 || tf.Min != 100 || !strings.Contains(err.Error(), "on demand or locally") {
			t.Errorf("err = %v", err)
		}
	})
	bad := []struct {
		name string
		lim  Limits
		want string
	}{
		{"max below min", lim(50, 100, 0, 1<<30), "at least 100"},
		{"max above hard", lim(60_000, 100, 0, 1<<30), "at most 50000"},
		{"negative jobs", lim(100, 100, -1, 1<<30), "max_num_jobs"},
		{"zero bytes", lim(100, 100, 0, 0), "bytes"},
		{"zero min", lim(100, 0, 0, 1<<30), "at least 1"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPacker[int](tc.lim, &memSink{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
