// Package images checks image bytes before they are sent to a Bedrock model:
// it detects the real format from magic bytes and reads the dimensions from
// the header, without decoding pixels, and enforces Claude's limits on
// Bedrock so bad images are reported once, by name, instead of failing a job.
package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/webp"
)

// MaxBytes is the largest image accepted, in bytes: 3.75 MiB = 3,932,160.
//
// Anthropic's API limits the base64 string of an image to 5 MiB
// (5*1024*1024 characters); base64 grows data by 4/3, so the raw limit is
// 5 MiB * 3/4 = 3.75 * 1024 * 1024 bytes. "3.75 MB" in the Bedrock and
// Anthropic documentation therefore means 3.75 MiB, not 3,750,000 bytes.
const MaxBytes = 3_932_160

// MaxSide is the largest width or height accepted, in pixels.
const MaxSide = 8000

// Sentinel errors; every error returned by this package wraps exactly one of
// them, so callers branch with errors.Is and show err.Error() to users.
var (
	// ErrTooLarge: the encoded image is over MaxBytes.
	ErrTooLarge = errors.New("image too large")
	// ErrTooManyPixels: the width or the height is over MaxSide.
	ErrTooManyPixels = errors.New("image dimensions too large")
	// ErrUnsupportedFormat: the bytes are not JPEG, PNG, GIF or WebP.
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrCorrupt: the bytes start like a supported format but the header
	// cannot be read (truncated, damaged or empty).
	ErrCorrupt = errors.New("corrupt image")
)

// Info describes an image that passed Inspect.
type Info struct {
	// MediaType is the IANA media type: "image/jpeg", "image/png",
	// "image/gif" or "image/webp".
	MediaType string
	// Format is the short name Bedrock models use: "jpeg", "png", "gif" or
	// "webp".
	Format string
	// Width and Height are in pixels, as stated by the image header.
	Width, Height int
	// Size is the encoded size in bytes.
	Size int
}

type format struct {
	name, mediaType string
	decodeConfig    func(*bytes.Reader) (image.Config, error)
}

var (
	fmtJPEG = format{"jpeg", "image/jpeg", func(r *bytes.Reader) (image.Config, error) { return jpeg.DecodeConfig(r) }}
	fmtPNG  = format{"png", "image/png", func(r *bytes.Reader) (image.Config, error) { return png.DecodeConfig(r) }}
	fmtGIF  = format{"gif", "image/gif", func(r *bytes.Reader) (image.Config, error) { return gif.DecodeConfig(r) }}
	fmtWebP = format{"webp", "image/webp", func(r *bytes.Reader) (image.Config, error) { return webp.DecodeConfig(r) }}
)

// sniff picks the format from magic bytes only; file names and declared
// content types are never trusted, because the original sent every image as
// image/jpeg and Claude rejects a mismatched media type.
func sniff(b []byte) (format, bool) {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return fmtJPEG, true
	case len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return fmtPNG, true
	case len(b) >= 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return fmtGIF, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return fmtWebP, true
	}
	return format{}, false
}

// CheckSize rejects an image by its encoded size alone, so callers can skip
// an object after a HEAD request instead of downloading it.
func CheckSize(n int64) error {
	if n <= 0 {
		return fmt.Errorf("%w: the image is empty (%d bytes); replace it with a JPEG, PNG, GIF or WebP file", ErrCorrupt, n)
	}
	if n > MaxBytes {
		return fmt.Errorf("%w: %d bytes (%.2f MiB) is over the limit of %d bytes (3.75 MiB); re-encode it (for example JPEG at quality 85) or resize it",
			ErrTooLarge, n, float64(n)/(1<<20), MaxBytes)
	}
	return nil
}

// Inspect detects the format of data from its magic bytes and reads its
// dimensions from the header. It rejects images over MaxBytes or with a side
// over MaxSide. It never decodes pixels, so it is cheap on large images.
func Inspect(data []byte) (Info, error) {
	if err := CheckSize(int64(len(data))); err != nil {
		return Info{}, err
	}
	f, ok := sniff(data)
	if !ok {
		n := min(len(data), 12)
		return Info{}, fmt.Errorf("%w: the first bytes (% x) are not JPEG, PNG, GIF or WebP; convert the image to one of those formats",
			ErrUnsupportedFormat, data[:n])
	}
	cfg, err := f.decodeConfig(bytes.NewReader(data))
	if err != nil {
		return Info{}, fmt.Errorf("%w: cannot read the %s header (%d bytes): %v; the file is truncated or damaged, re-export it",
			ErrCorrupt, f.name, len(data), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Info{}, fmt.Errorf("%w: the %s header says %dx%d px; re-export the image", ErrCorrupt, f.name, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide {
		return Info{}, fmt.Errorf("%w: %dx%d px is over the limit of %d px on either side; resize it so both sides are at most %d px",
			ErrTooManyPixels, cfg.Width, cfg.Height, MaxSide, MaxSide)
	}
	return Info{MediaType: f.mediaType, Format: f.name, Width: cfg.Width, Height: cfg.Height, Size: len(data)}, nil
}
