// Package s3 serves an S3-compatible endpoint for the local runtime,
// persisted on disk, so bbo's handlers talk S3 exactly as they do in AWS.
// It wraps gofakes3 with its file-system backend: objects are plain files
// under <dir>/buckets/<bucket>/, which users can also browse directly.
package s3

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// New returns an S3 handler storing buckets under dir (created if needed).
// Buckets are created on first use (auto-bucket), so configs naming any
// bucket work without a setup step.
func New(dir string, log *slog.Logger) (http.Handler, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("local S3: create %s: %w", abs, err)
	}
	osfs := afero.NewOsFs()
	data, err := s3afero.NewBasePathFs(osfs, abs, s3afero.FsPathCreateAll) // the backend adds buckets/
	if err != nil {
		return nil, fmt.Errorf("local S3: %w", err)
	}
	meta, err := s3afero.NewBasePathFs(osfs, filepath.Join(abs, "metadata"), s3afero.FsPathCreateAll)
	if err != nil {
		return nil, fmt.Errorf("local S3: %w", err)
	}
	backend, err := s3afero.MultiBucket(data, s3afero.MultiWithMetaFs(meta))
	if err != nil {
		return nil, fmt.Errorf("local S3: %w", err)
	}
	opts := []gofakes3.Option{gofakes3.WithAutoBucket(true), gofakes3.WithoutVersioning()}
	if log != nil {
		opts = append(opts, gofakes3.WithLogger(slogLogger{log}))
	}
	return gofakes3.New(backend, opts...).Server(), nil
}

// slogLogger adapts gofakes3's logger to slog, at debug level: the local
// store is chatty and its messages are rarely what a user wants to see.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		s.l.Warn("local S3", slog.String("detail", fmt.Sprint(v...)))
		return
	}
	s.l.Debug("local S3", slog.String("detail", fmt.Sprint(v...)))
}
