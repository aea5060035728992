package preprocess

import (
	"context"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bbo-dev/bbo/internal/config"
	"github.com/bbo-dev/bbo/internal/records"
)

// DefaultImageConcurrency is how many images are fetched ahead of the
// request builder when Handler.ImageConcurrency is 0.
//
// Each image fetch is a HEAD and a GET, 20–50 ms apiece against S3, so a
// folder of 20,000 images read one by one takes longer than a Lambda may
// run. Fetching a few ahead hides that latency; the memory it costs is
// bounded (see Handler.ImageConcurrency).
const DefaultImageConcurrency = 8

// imageConcurrency is the prefetch window: ImageConcurrency, or the default.
func (h *Handler) imageConcurrency() int {
	if h.ImageConcurrency > 0 {
		return h.ImageConcurrency
	}
	return DefaultImageConcurrency
}

// fetchFunc fetches one image's bytes by the path a record names.
type fetchFunc func(ctx context.Context, path string) ([]byte, error)

// prefetcher reads records ahead of the request builder and fetches their
// images concurrently, handing each record to the builder in input order
// with its image already on the way. It is both the record stream's wrapper
// (wrap) and the builder's requests.ImageSource (FetchImage).
//
// Bound: a window of at most n records is read ahead, and an image is held
// from the start of its fetch until the builder has finished with its
// record, so at most n fetches run and at most n images (each at most
// images.MaxBytes, 3.75 MiB, and read into a slice of exactly its size) are
// held at once, the one being built included. With n = 1 it is the plain
// sequential fetch.
//
// Each record gets its own fetch, so an image path named by several records
// is fetched once per record: simple, and correct whatever the order.
//
// One prefetcher serves one stream: build one per Handle call.
type prefetcher struct {
	fetch  fetchFunc
	column string // the column naming each record's image
	n      int

	// cur is the fetch of the record the builder is building, nil between
	// records or when the record has no image path.
	cur atomic.Pointer[imageFetch]

	// held counts images fetched or being fetched and not yet released;
	// maxHeld is its high-water mark, for tests.
	held, maxHeld atomic.Int64
}

// imageFetch is one record's image: data and err are set before done is
// closed.
type imageFetch struct {
	path   string
	cancel context.CancelFunc
	done   chan struct{}
	data   []byte
	err    error
}

// pending is a record read ahead, with its image fetch if it names one.
type pending struct {
	rec   records.Record
	err   error
	fetch *imageFetch
}

func newPrefetcher(fetch fetchFunc, column string, n int) *prefetcher {
	if column == "" {
		column = config.DefaultImageColumn
	}
	return &prefetcher{fetch: fetch, column: column, n: max(n, 1)}
}

// FetchImage returns the image of the record being built: the prefetched
// bytes or the error its fetch ended with, waiting while the fetch is in
// flight. A path the current record does not name is fetched directly.
func (p *prefetcher) FetchImage(ctx context.Context, path string) ([]byte, error) {
	f := p.cur.Load()
	if f == nil || f.path != path {
		return p.fetch(ctx, path)
	}
	select {
	case <-f.done:
		return f.data, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wrap returns recs with images fetched up to n records ahead. Records and
// errors come out exactly as recs yields them, in the same order. When the
// consumer stops early, or ctx is cancelled, fetches still running are
// cancelled and waited for before the iterator returns, so nothing is left
// running.
func (p *prefetcher) wrap(ctx context.Context, recs iter.Seq2[records.Record, error]) iter.Seq2[records.Record, error] {
	return func(yield func(records.Record, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		queue := make([]pending, 0, p.n)
		defer func() {
			cancel()
			wg.Wait()
			for _, it := range queue {
				p.release(it.fetch)
			}
		}()
		next, stop := iter.Pull2(recs)
		defer stop()
		more := true
		for {
			for more && len(queue) < p.n {
				rec, err, ok := next()
				if !ok {
					more = false
					break
				}
				it := pending{rec: rec, err: err}
				if err == nil {
					if path, ok := rec.Get(p.column); ok && strings.TrimSpace(path) != "" {
						it.fetch = p.start(ctx, &wg, path)
					}
				}
				queue = append(queue, it)
			}
			if len(queue) == 0 {
				return
			}
			it := queue[0]
			queue = append(queue[:0], queue[1:]...)
			p.cur.Store(it.fetch)
			ok := yield(it.rec, it.err)
			p.cur.Store(nil)
			p.release(it.fetch)
			if !ok {
				return
			}
		}
	}
}

// start fetches one image in its own goroutine.
func (p *prefetcher) start(ctx context.Context, wg *sync.WaitGroup, path string) *imageFetch {
	ctx, cancel := context.WithCancel(ctx)
	f := &imageFetch{path: path, cancel: cancel, done: make(chan struct{})}
	held := p.held.Add(1)
	for {
		m := p.maxHeld.Load()
		if held <= m || p.maxHeld.CompareAndSwap(m, held) {
			break
		}
	}
	wg.Go(func() {
		defer close(f.done)
		f.data, f.err = p.fetch(ctx, path)
	})
	return f
}

// release ends a fetch once its record is done or abandoned: a fetch whose
// bytes nobody waited for (the record failed before its image was needed)
// is cancelled and waited for, so the next fetch never runs beside it and
// the bound holds. The bytes become garbage with the record's queue entry.
func (p *prefetcher) release(f *imageFetch) {
	if f == nil {
		return
	}
	f.cancel()
	<-f.done
	p.held.Add(-1)
}
