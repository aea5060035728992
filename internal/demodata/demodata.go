// Package demodata generates the sample inputs of `make demo`: simple
// synthetic product pictures (flat silhouettes of clothing in several
// colours, drawn here, so no third-party images are shipped) and small CSVs
// of topics and texts.
package demodata

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
)

// Item is one generated picture.
type Item struct {
	File     string
	Category string
	Color    string
}

// Categories drawn, matching the clothing pipeline's categories.
var Categories = []string{"t-shirt", "shorts", "pants", "dress", "shoes"}

var palette = []struct {
	name string
	c    color.RGBA
}{
	{"red", color.RGBA{200, 40, 40, 255}},
	{"navy", color.RGBA{30, 40, 110, 255}},
	{"green", color.RGBA{40, 140, 60, 255}},
	{"black", color.RGBA{25, 25, 25, 255}},
	{"yellow", color.RGBA{230, 200, 40, 255}},
	{"white", color.RGBA{235, 235, 235, 255}},
}

// Images writes n pictures into dir (PNG and JPEG alternately, so both
// media types are exercised) and returns what it drew.
func Images(dir string, n int) ([]Item, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	items := make([]Item, 0, n)
	for i := range n {
		cat := Categories[i%len(Categories)]
		col := palette[(i/len(Categories)+i)%len(palette)]
		img := draw(cat, col.c)
		var buf bytes.Buffer
		name := fmt.Sprintf("%03d-%s-%s", i+1, col.name, cat)
		var err error
		if i%2 == 0 {
			name += ".png"
			err = png.Encode(&buf, img)
		} else {
			name += ".jpg"
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		items = append(items, Item{File: name, Category: cat, Color: col.name})
	}
	return items, nil
}

// draw paints a flat silhouette of the category on a light background.
func draw(cat string, c color.RGBA) *image.RGBA {
	const size = 160
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	bg := color.RGBA{246, 244, 240, 255}
	for y := range size {
		for x := range size {
			img.SetRGBA(x, y, bg)
		}
	}
	fill := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	switch cat {
	case "t-shirt":
		fill(50, 40, 110, 130) // body
		fill(25, 40, 50, 75)   // sleeves
		fill(110, 40, 135, 75)
	case "shorts":
		fill(45, 50, 115, 75)
		fill(45, 75, 77, 115)
		fill(83, 75, 115, 115)
	case "pants":
		fill(50, 20, 110, 45)
		fill(50, 45, 77, 145)
		fill(83, 45, 110, 145)
	case "dress":
		for y := 30; y < 145; y++ { // flared skirt: wider towards the hem
			half := 15 + (y-30)/3
			fill(80-half, y, 80+half, y+1)
		}
	case "shoes":
		fill(20, 95, 70, 120)
		fill(20, 80, 40, 95)
		fill(90, 95, 140, 120)
		fill(90, 80, 110, 95)
	}
	return img
}

// Topics writes a CSV with a topic column for the jokes example.
func Topics(path string, n int) error {
	subjects := []string{"cats", "databases", "the ocean", "coffee", "batch jobs", "trains", "gardening",
		"penguins", "spreadsheets", "the moon", "bicycles", "pizza", "compilers", "rain", "libraries"}
	rows := [][]string{{"topic"}}
	for i := range n {
		t := subjects[i%len(subjects)]
		if i >= len(subjects) {
			t = fmt.Sprintf("%s (take %d)", t, i/len(subjects)+1)
		}
		rows = append(rows, []string{t})
	}
	return writeCSV(path, rows)
}

// Texts writes a CSV with an input_text column for the embeddings example.
func Texts(path string, n int) error {
	rows := [][]string{{"input_text"}}
	for i := range n {
		rows = append(rows, []string{fmt.Sprintf("Sample sentence number %d about batch inference at half the price.", i+1)})
	}
	return writeCSV(path, rows)
}

func writeCSV(path string, rows [][]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
