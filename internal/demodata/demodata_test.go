package demodata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/internal/images"
	"github.com/bbo-dev/bbo/internal/records"
)

func TestImagesAreValidAndVaried(t *testing.T) {
	dir := t.TempDir()
	items, err := Images(dir, 12)
	if err != nil {
		t.Fatal(err)
	}
	cats, types := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, it.File))
		if err != nil {
			t.Fatal(err)
		}
		info, err := images.Inspect(b)
		if err != nil {
			t.Fatalf("%s: %v", it.File, err)
		}
		cats[it.Category] = true
		types[info.MediaType] = true
	}
	if len(cats) != len(Categories) || len(types) != 2 {
		t.Errorf("categories %v, media types %v: want every category and both PNG and JPEG", cats, types)
	}
}

func TestCSVsRead(t *testing.T) {
	dir := t.TempDir()
	if err := Topics(filepath.Join(dir, "topics.csv"), 20); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "topics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for rec, err := range records.ReadCSV(f, "topics.csv", records.ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := rec.Get("topic"); strings.TrimSpace(v) == "" {
			t.Fatal("empty topic")
		}
		n++
	}
	if n != 20 {
		t.Fatalf("%d topics, want 20", n)
	}
}
