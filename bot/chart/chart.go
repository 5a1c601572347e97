// Package chart draws the small PNG charts qunbot sends with its reports
// (a week's daily figures), in Go, without a browser. Labels are ASCII
// (dates and numbers, drawn with x/image's built-in bitmap font), so no
// system font is needed and Chinese groups read them as well.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var (
	background = color.RGBA{0xff, 0xff, 0xff, 0xff}
	axis       = color.RGBA{0x88, 0x88, 0x88, 0xff}
	bar        = color.RGBA{0x2f, 0x80, 0xed, 0xff}
	ink        = color.RGBA{0x22, 0x22, 0x22, 0xff}
)

// Bars draws values as bars, one per label, with the title and the
// largest value at the top and every label under its bar (or every
// other one when they do not fit).
func Bars(title string, labels []string, values []int64) ([]byte, error) {
	if len(values) == 0 || len(labels) != len(values) {
		return nil, errors.New("chart: one label per value, at least one")
	}
	const w, h, left, bottom, top = 640, 320, 48, 40, 36
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{background}, image.Point{}, draw.Src)
	var maxV int64 = 1
	for _, v := range values {
		maxV = max(maxV, v)
	}
	plotW, plotH := w-left-16, h-top-bottom
	slot := plotW / len(values)
	for i, v := range values {
		bh := int(int64(plotH) * max(v, 0) / maxV)
		x0 := left + i*slot + slot/6
		x1 := left + (i+1)*slot - slot/6
		draw.Draw(img, image.Rect(x0, h-bottom-bh, max(x1, x0+1), h-bottom), &image.Uniform{bar}, image.Point{}, draw.Src)
	}
	draw.Draw(img, image.Rect(left, top, left+1, h-bottom), &image.Uniform{axis}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(left, h-bottom, w-16, h-bottom+1), &image.Uniform{axis}, image.Point{}, draw.Src)
	text(img, 8, 20, title)
	text(img, 4, top+10, fmt.Sprint(maxV))
	text(img, 4, h-bottom, "0")
	step := 1
	for slot*step < 7*6 { // a label is five 7-pixel characters wide
		step++
	}
	for i := 0; i < len(labels); i += step {
		text(img, left+i*slot, h-bottom+16, labels[i])
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return b.Bytes(), nil
}

func text(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: &image.Uniform{ink}, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
