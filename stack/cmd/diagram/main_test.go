package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bbo-dev/bbo/stack/statemachines"
)

func TestFlowchartNamesEveryState(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  []byte
	}{{"single", statemachines.SingleStage}, {"pipeline", statemachines.Pipeline}} {
		t.Run(tc.name, func(t *testing.T) {
			chart, err := flowchart(tc.def)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct{ States map[string]json.RawMessage }
			if err := json.Unmarshal(tc.def, &doc); err != nil {
				t.Fatal(err)
			}
			for name := range doc.States {
				if !strings.Contains(chart, id("", name)) {
					t.Errorf("state %s missing from the chart", name)
				}
			}
			again, _ := flowchart(tc.def)
			if again != chart {
				t.Error("flowchart output is not deterministic")
			}
		})
	}
}

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "```mermaid"); got != 2 {
		t.Errorf("%d mermaid blocks, want 2", got)
	}
	if _, err := flowchart([]byte("{")); err == nil {
		t.Error("flowchart accepted invalid JSON")
	}
}
