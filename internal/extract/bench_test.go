package extract

import "testing"

const benchResp = "{\n    \"category\": \"t-shirt\",\n    \"confidence\": 0.9,\n    \"color\": \"navy blue\",\n    \"material\": \"cotton\",\n    \"fit\": \"regular\"\n}"

func benchExtract(b *testing.B, e *Extractor, resp string) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(resp)))
	var dst []Value
	var err error
	for b.Loop() {
		dst, err = e.Extract(resp, dst)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func benchPaths(b *testing.B) *Extractor {
	b.Helper()
	e, err := Compile("json",
		[]string{"category", "confidence", "color", "material", "fit"},
		[]string{"$.category", "$.confidence", "$.color", "$.material", "$.fit"})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func BenchmarkExtractFast(b *testing.B) { benchExtract(b, benchPaths(b), benchResp) }

func BenchmarkExtractLibrary(b *testing.B) { benchExtract(b, slowExtractor(benchPaths(b)), benchResp) }

func BenchmarkExtractFenced(b *testing.B) {
	benchExtract(b, benchPaths(b), "Here you go:\n```json\n"+benchResp+"\n```\nAnything else?")
}

func BenchmarkExtractRegex(b *testing.B) {
	e, err := Compile("regex", []string{"color"}, []string{`color"?:\s*"?([\w ]+)`})
	if err != nil {
		b.Fatal(err)
	}
	benchExtract(b, e, benchResp)
}
