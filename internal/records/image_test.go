package records

import (
	"reflect"
	"testing"
)

func TestImageRecord(t *testing.T) {
	tests := []struct {
		name, uri, file string
	}{
		{"s3", "s3://bucket/inputs/imgs/0003.PNG", "0003.PNG"},
		{"local", "images/a b.jpg", "a b.jpg"},
		{"bare", "x.webp", "x.webp"},
		{"windows", `C:\imgs\y.gif`, "y.gif"},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ImageRecord(tc.uri)
			if r.Header != ImageHeader || !reflect.DeepEqual(r.Header.Names(), []string{"record_id", "image_path", "file_name"}) {
				t.Fatalf("header = %q", r.Header.Names())
			}
			id := r.ID()
			if len(id) != 20 || id[:4] != "img-" || id != ImageRecord(tc.uri).ID() || seen[id] {
				t.Errorf("id %q is not a deterministic unique img- + 16 hex id", id)
			}
			seen[id] = true
			if p, _ := r.Get(ImagePathColumn); p != tc.uri {
				t.Errorf("image_path = %q", p)
			}
			if f, _ := r.Get(FileNameColumn); f != tc.file {
				t.Errorf("file_name = %q, want %q", f, tc.file)
			}
		})
	}
	// Known value: pins the id scheme so reruns across versions agree.
	if got, want := ImageID("s3://b/a.jpg"), "img-c7b7f46d906fca2d"; got != want {
		t.Errorf("ImageID = %q, want %q", got, want)
	}
}

func TestIsImageKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"a.jpg", true}, {"a.JPEG", true}, {"dir/b.Png", true}, {"c.gif", true}, {"d.webp", true},
		{"e.bmp", false}, {"f.csv", false}, {"jpg", false}, {"dir.jpg/file", false}, {"", false}, {"a.jpg.txt", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if got := IsImageKey(tc.key); got != tc.want {
				t.Errorf("IsImageKey(%q) = %v, want %v", tc.key, got, tc.want)
			}
		})
	}
}
