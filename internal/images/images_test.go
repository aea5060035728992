package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/webp"
)

func testImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x * 40), uint8(y * 40), 128, 255})
		}
	}
	return m
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader builds a PNG signature and a valid IHDR chunk (with CRC) for
// an 8-bit RGB image of the given size and nothing else: DecodeConfig
// reports the size without any pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // bit depth 8, colour type RGB
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(ihdr)))
	b.Write(n[:])
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(chunk))
	b.Write(n[:])
	return b.Bytes()
}

// webpLossless builds a lossless (VP8L) WebP of w x h transparent black
// pixels: no transforms, no colour cache, and five one-symbol prefix codes,
// so every pixel costs zero bits. The result is a complete, decodable file.
func webpLossless(w, h int) []byte {
	var vp8l bytes.Buffer
	vp8l.WriteByte(0x2f)
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(w-1)|uint32(h-1)<<14)
	vp8l.Write(hdr[:])
	// Bits, LSB first: transform=0, colour cache=0, meta codes=0, then
	// five simple codes of one 1-bit symbol 0: (1,0,0,0) each.
	vp8l.Write([]byte{0x88, 0x88, 0x08})
	if vp8l.Len()%2 == 1 {
		vp8l.WriteByte(0)
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.LittleEndian.PutUint32(hdr[:], uint32(4+8+vp8l.Len()))
	out.Write(hdr[:])
	out.WriteString("WEBPVP8L")
	binary.LittleEndian.PutUint32(hdr[:], uint32(vp8l.Len()))
	out.Write(hdr[:])
	out.Write(vp8l.Bytes())
	return out.Bytes()
}

func TestWebPFixtureIsValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func() ([]byte, error)
	}{
		{"built", func() ([]byte, error) { return webpLossless(3, 2), nil }},
		{"testdata", func() ([]byte, error) { return os.ReadFile("testdata/1x1.webp") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.data()
			if err != nil {
				t.Fatal(err)
			}
			m, err := webp.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("full decode of fixture: %v", err)
			}
			if m.Bounds().Dx() < 1 || m.Bounds().Dy() < 1 {
				t.Fatalf("bounds %v", m.Bounds())
			}
		})
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    Info
		wantErr error
		msg     []string // substrings the error message must contain
	}{
		{name: "png", data: encodePNG(t, 3, 2), want: Info{MediaType: "image/png", Format: "png", Width: 3, Height: 2}},
		{name: "jpeg", data: encodeJPEG(t, 5, 4), want: Info{MediaType: "image/jpeg", Format: "jpeg", Width: 5, Height: 4}},
		{name: "gif", data: encodeGIF(t, 2, 7), want: Info{MediaType: "image/gif", Format: "gif", Width: 2, Height: 7}},
		{name: "webp", data: webpLossless(3, 2), want: Info{MediaType: "image/webp", Format: "webp", Width: 3, Height: 2}},
		{name: "png header only at the limit", data: pngHeader(8000, 8000), want: Info{MediaType: "image/png", Format: "png", Width: 8000, Height: 8000}},
		{name: "png 9000x10", data: pngHeader(9000, 10), wantErr: ErrTooManyPixels, msg: []string{"9000x10", "8000", "resize"}},
		{name: "png 10x8001", data: pngHeader(10, 8001), wantErr: ErrTooManyPixels, msg: []string{"10x8001"}},
		{name: "webp 8001x1", data: webpLossless(8001, 1), wantErr: ErrTooManyPixels, msg: []string{"8001x1"}},
		{name: "empty", data: nil, wantErr: ErrCorrupt, msg: []string{"empty"}},
		{name: "text", data: []byte("hello, world, not an image"), wantErr: ErrUnsupportedFormat, msg: []string{"68 65 6c", "convert"}},
		{name: "bmp", data: []byte("BM\x00\x00\x00\x00\x00\x00\x00\x00"), wantErr: ErrUnsupportedFormat},
		{name: "truncated png", data: encodePNG(t, 3, 2)[:20], wantErr: ErrCorrupt, msg: []string{"png", "truncated"}},
		{name: "truncated jpeg", data: encodeJPEG(t, 5, 4)[:10], wantErr: ErrCorrupt, msg: []string{"jpeg"}},
		{name: "truncated gif", data: encodeGIF(t, 2, 7)[:8], wantErr: ErrCorrupt, msg: []string{"gif"}},
		{name: "truncated webp", data: webpLossless(3, 2)[:14], wantErr: ErrCorrupt, msg: []string{"webp"}},
		{name: "png bad crc", data: func() []byte { b := pngHeader(10, 10); b[len(b)-1] ^= 0xff; return b }(), wantErr: ErrCorrupt},
		{name: "png zero width", data: pngHeader(0, 10), wantErr: ErrCorrupt},
		{name: "too large", data: append(encodePNG(t, 1, 1), make([]byte, MaxBytes)...), wantErr: ErrTooLarge, msg: []string{"3932160", "re-encode"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inspect(tc.data)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Inspect error = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.msg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			tc.want.Size = len(tc.data)
			if got != tc.want {
				t.Fatalf("Inspect = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCheckSize(t *testing.T) {
	tests := []struct {
		n       int64
		wantErr error
	}{
		{1, nil},
		{MaxBytes, nil},
		{MaxBytes + 1, ErrTooLarge},
		{1 << 40, ErrTooLarge},
		{0, ErrCorrupt},
		{-1, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatInt(tc.n, 10), func(t *testing.T) {
			err := CheckSize(tc.n)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("CheckSize(%d) = %v, want %v", tc.n, err, tc.wantErr)
			}
		})
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(encodePNG(f, 2, 2))
	f.Add(encodeJPEG(f, 2, 2))
	f.Add(encodeGIF(f, 2, 2))
	f.Add(webpLossless(2, 2))
	f.Add(pngHeader(9000, 10))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8X"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) && !errors.Is(err, ErrTooManyPixels) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if info.Width < 1 || info.Height < 1 || info.Width > MaxSide || info.Height > MaxSide || info.Size != len(data) {
			t.Fatalf("accepted out-of-range info %+v for %d bytes", info, len(data))
		}
	})
}

func BenchmarkInspect(b *testing.B) {
	data := encodeJPEG(b, 64, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Inspect(data); err != nil {
			b.Fatal(err)
		}
	}
}
