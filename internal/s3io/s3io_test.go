package s3io

import (
	"github.com/bbo-dev/bbo/internal/s3test"

	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bbo-dev/bbo/internal/taskerr"
)

func newS3(t *testing.T) *s3.Client {
	t.Helper()
	return s3test.New(t, "bkt")
}

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key string
		bad             bool
	}{
		{"s3://b/k/x.csv", "b", "k/x.csv", false},
		{"s3://b", "b", "", false},
		{"s3://b/dir/", "b", "dir/", false},
		{"https://b/k", "", "", true},
		{"s3:///k", "", "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, err := ParseURI(tc.in)
			if tc.bad {
				if err == nil || taskerr.Name(err) != taskerr.InvalidConfig {
					t.Fatalf("err = %v, want InvalidConfig", err)
				}
				return
			}
			if err != nil || u.Bucket != tc.bucket || u.Key != tc.key {
				t.Fatalf("ParseURI = %+v, %v", u, err)
			}
		})
	}
	if got := (URI{"bkt", "a/"}).Join("c", "d.txt").String(); got != "s3://bkt/a/c/d.txt" {
		t.Errorf("Join = %s", got)
	}
}

func TestStreamRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newS3(t)
	// 20 MiB: more than two multipart parts and several ReaderAt blocks.
	data := bytes.Repeat([]byte("0123456789abcdef"), 20<<16)
	u := URI{"bkt", "dir/big.bin"}
	w := Create(ctx, c, u, "application/octet-stream")
	for off := 0; off < len(data); off += 1 << 20 {
		if _, err := w.Write(data[off : off+1<<20]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	body, size, err := Open(ctx, c, u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (size %d), want %d", len(got), size, len(data))
	}
	ra, err := NewReaderAt(ctx, c, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 5, blockSize - 3, int64(len(data)) - 10, 7 << 20} {
		p := make([]byte, 100)
		n, err := ra.ReadAt(p, off)
		want := data[off:min(off+100, int64(len(data)))]
		if !bytes.Equal(p[:n], want) || (n == 100 && err != nil) {
			t.Fatalf("ReadAt(%d) = %d, %v", off, n, err)
		}
	}
	big := make([]byte, blockSize+10)
	if n, err := ra.ReadAt(big, 3); err != nil || !bytes.Equal(big[:n], data[3:3+len(big)]) {
		t.Fatalf("large ReadAt = %d, %v", n, err)
	}
	var keys []string
	for o, err := range List(ctx, c, URI{"bkt", "dir/"}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.URI.Key)
	}
	if len(keys) != 1 || keys[0] != "dir/big.bin" {
		t.Fatalf("List = %v", keys)
	}
}

func TestNotFoundIsNamed(t *testing.T) {
	c := newS3(t)
	_, _, err := Open(context.Background(), c, URI{"bkt", "nope.csv"})
	if !IsNotFound(err) || taskerr.Name(err) != taskerr.InputNotFound {
		t.Fatalf("err = %v (name %s), want InputNotFound", err, taskerr.Name(err))
	}
	var te *taskerr.Error
	if !errors.As(err, &te) {
		t.Fatal("not a taskerr")
	}
}
