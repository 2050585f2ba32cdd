//go:build ignore

// icons_gen draws crmbot's Teams icons: color.png (192×192, full colour) and
// outline.png (32×32, white on a transparent background). The mark is a chat
// bubble holding a short list of records. Run it with go generate.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

// The mark in a 32×32 design space: a rounded bubble, its tail, and three
// rows (a dot and a bar each).
var (
	bubble = roundRect{x0: 3, y0: 5, x1: 29, y1: 22.5, r: 4.5}
	tail   = triangle{{7.5, 21}, {7.5, 28.5}, {15.5, 21}}
	rowsY  = []float64{9.5, 13.75, 18}
)

const (
	dotX, dotR            = 8.75, 1.6
	barX0, barX1, barHalf = 12.5, 24.5, 1.05
)

// Colours of color.png; the background is also the manifest's accentColor.
var (
	bgTop    = color.NRGBA{0x2A, 0x6F, 0xDB, 0xFF}
	bgBottom = color.NRGBA{0x1F, 0x5F, 0xBF, 0xFF} // accentColor #1F5FBF
	dotCol   = color.NRGBA{0x1F, 0x5F, 0xBF, 0xFF}
	barCol   = color.NRGBA{0x9F, 0xBB, 0xEA, 0xFF}
	white    = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
)

// samples is the supersampling grid per pixel side (anti-aliasing).
const samples = 8

func main() {
	write("color.png", colorIcon())
	write("outline.png", outlineIcon())
}

func write(name string, img image.Image) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// colorIcon: a blue gradient square with the white bubble scaled 4× and
// centred, so the mark stays inside Teams' safe area.
func colorIcon() *image.NRGBA {
	const size, scale, offset = 192, 4.0, 32.0
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	toMark := func(px, py float64) (float64, float64) { return (px - offset) / scale, (py - offset) / scale }
	for y := 0; y < size; y++ {
		bg := mix(bgTop, bgBottom, float64(y)/(size-1))
		for x := 0; x < size; x++ {
			c := mix(bg, white, coverage(x, y, func(px, py float64) bool { return inBubble(toMark(px, py)) }))
			c = mix(c, barCol, coverage(x, y, func(px, py float64) bool { return inBar(toMark(px, py)) }))
			c = mix(c, dotCol, coverage(x, y, func(px, py float64) bool { return inDot(toMark(px, py)) }))
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// outlineIcon: the bubble in white with the rows cut out, on transparency.
// Every visible pixel is pure white; only alpha varies (anti-aliasing).
func outlineIcon() *image.NRGBA {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			a := coverage(x, y, func(px, py float64) bool {
				return inBubble(px, py) && !inBar(px, py) && !inDot(px, py)
			})
			if a8 := uint8(math.Round(a * 255)); a8 > 0 {
				img.SetNRGBA(x, y, color.NRGBA{0xFF, 0xFF, 0xFF, a8})
			}
		}
	}
	return img
}

func inBubble(x, y float64) bool { return bubble.contains(x, y) || tail.contains(x, y) }

func inDot(x, y float64) bool {
	for _, ry := range rowsY {
		if math.Hypot(x-dotX, y-ry) <= dotR {
			return true
		}
	}
	return false
}

func inBar(x, y float64) bool {
	for _, ry := range rowsY {
		// A capsule: the segment (barX0, ry)–(barX1, ry) widened by barHalf.
		cx := math.Max(barX0, math.Min(barX1, x))
		if math.Hypot(x-cx, y-ry) <= barHalf {
			return true
		}
	}
	return false
}

// coverage is the share of a pixel's sample points inside a shape.
func coverage(x, y int, inside func(px, py float64) bool) float64 {
	n := 0
	for sy := 0; sy < samples; sy++ {
		for sx := 0; sx < samples; sx++ {
			if inside(float64(x)+(float64(sx)+0.5)/samples, float64(y)+(float64(sy)+0.5)/samples) {
				n++
			}
		}
	}
	return float64(n) / (samples * samples)
}

type roundRect struct{ x0, y0, x1, y1, r float64 }

func (r roundRect) contains(x, y float64) bool {
	if x < r.x0 || x > r.x1 || y < r.y0 || y > r.y1 {
		return false
	}
	cx := math.Max(r.x0+r.r, math.Min(r.x1-r.r, x))
	cy := math.Max(r.y0+r.r, math.Min(r.y1-r.r, y))
	return math.Hypot(x-cx, y-cy) <= r.r
}

type triangle [3][2]float64

func (t triangle) contains(x, y float64) bool {
	side := func(a, b [2]float64) float64 { return (b[0]-a[0])*(y-a[1]) - (b[1]-a[1])*(x-a[0]) }
	d0, d1, d2 := side(t[0], t[1]), side(t[1], t[2]), side(t[2], t[0])
	return (d0 >= 0 && d1 >= 0 && d2 >= 0) || (d0 <= 0 && d1 <= 0 && d2 <= 0)
}

// mix blends two opaque colours: t = 0 gives a, 1 gives b (t is also a
// shape's coverage when painting b over a).
func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(p, q uint8) uint8 { return uint8(math.Round(float64(p)*(1-t) + float64(q)*t)) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 0xFF}
}
