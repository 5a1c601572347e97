package chart_test

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/qunbot/qunbot/bot/chart"
)

func TestBars(t *testing.T) {
	labels := []string{"01-05", "01-06", "01-07", "01-08", "01-09", "01-10", "01-11"}
	b, err := chart.Bars("DAU", labels, []int64{3, 2, 3, 0, 3, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 640 || r.Dy() != 320 {
		t.Fatalf("size %v", r)
	}
	// the first bar is the full height (3 of 3): blue at its middle
	if c, _, _, _ := img.At(48+640/7/2-8, 200).RGBA(); c>>8 != 0x2f {
		t.Errorf("no bar where the first value is: red %x", c>>8)
	}
	if _, err := chart.Bars("x", []string{"a"}, nil); err == nil {
		t.Error("values without labels drawn")
	}
}
