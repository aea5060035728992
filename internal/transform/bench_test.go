package transform

import (
	"context"
	"strconv"
	"testing"
)

func BenchmarkHandle(b *testing.B) {
	c := newS3(b)
	const n = 20_000
	rows := make([][]string, n)
	size := 0
	cats := []string{"T-Shirt", "shoes", "pants", "dress", "hat"}
	for i := range rows {
		rows[i] = stage1Row("r"+strconv.Itoa(i), `{"category": "`+cats[i%5]+`", "confidence": 0.9}`, "", "")
		for _, v := range rows[i] {
			size += len(v)
		}
	}
	p := writeTable(b, c, "batch_output_parquet/stage1-classify/0000.snappy.parquet", stage1Cols, rows)
	h := &Handler{S3: c, Bucket: bucket, Log: quiet}
	in := Input{Stage: stage2(clothingMapping), StageIndex: 1,
		Previous: Previous{StageName: "classify_category", JobNamePrefix: "stage1-classify", OutputPaths: []string{p}}}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		out, err := h.Handle(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if out.Summary.Rows != n || out.Summary.Unmapped != n/5 {
			b.Fatalf("summary %+v", out.Summary)
		}
	}
}

func BenchmarkCategory(b *testing.B) {
	s := "```json\n{\n    \"category\": \"t-shirt\",\n    \"confidence\": 0.9\n}\n```"
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		if Category(s) != "t-shirt" {
			b.Fatal("wrong category")
		}
	}
}
