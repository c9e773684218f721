package web

import (
	"math"
	"strconv"
)

// Point is one value of a chart, with its label.
type Point struct {
	Label string
	Value float64
	Text  string // the value as the table shows it
}

// Chart is a bar chart drawn on the server as inline SVG, with its numbers
// as a table beside it for screen readers and for reading exact values.
type Chart struct {
	ID, Title string
	Unit      string // column heading of the values
	Points    []Point
}

// Chart geometry, in SVG user units (the SVG scales to its container).
const (
	chartW, chartH   = 640, 200
	chartPadL        = 8
	chartPadB        = 18
	chartPadT        = 14
	chartMaxBarWidth = 48
)

// bar is one rectangle of a chart, positioned.
type bar struct {
	X, Y, W, H string
	Title      string
	LabelX     string
	Label      string
}

// bars lays out c's points as bars scaled to the largest value; labels are
// thinned so that they do not overlap.
func (c Chart) bars() []bar {
	n := len(c.Points)
	if n == 0 {
		return nil
	}
	maxV := 0.0
	for _, p := range c.Points {
		maxV = math.Max(maxV, p.Value)
	}
	slot := float64(chartW-chartPadL) / float64(n)
	w := math.Min(slot*0.8, chartMaxBarWidth)
	every := int(math.Ceil(float64(n) / 12))
	plotH := float64(chartH - chartPadB - chartPadT)
	out := make([]bar, n)
	for i, p := range c.Points {
		h := 0.0
		if maxV > 0 {
			h = p.Value / maxV * plotH
		}
		x := float64(chartPadL) + slot*float64(i) + (slot-w)/2
		b := bar{
			X: f1(x), Y: f1(float64(chartH-chartPadB) - h), W: f1(w), H: f1(h),
			Title: p.Label + ": " + p.Text, LabelX: f1(x + w/2),
		}
		if i%every == 0 {
			b.Label = p.Label
		}
		out[i] = b
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func chartViewBox() string { return "0 0 " + strconv.Itoa(chartW) + " " + strconv.Itoa(chartH) }
