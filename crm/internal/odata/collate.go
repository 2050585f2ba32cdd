package odata

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String comparison as Dataverse's default collation (Latin1_General_CI_AI)
// does it, closely enough for a sandbox: case-insensitive, accent-insensitive
// for Latin letters, trailing spaces insignificant. Every function here works
// on the stored string in place: evaluation over many records must not
// allocate.

// latinFold maps U+00C0..U+017F to their lowercase unaccented base letter
// (letters without one, such as æ ß ð þ œ, map to their lowercase self).
var latinFold = buildLatinFold()

func buildLatinFold() [0x180 - 0xC0]rune {
	// One entry per code point from U+00C0, in order.
	const table = "" +
		"aaaaaaæceeeeiiii" + // C0-CF
		"ðnooooo×ouuuuyþß" + // D0-DF
		"aaaaaaæceeeeiiii" + // E0-EF
		"ðnooooo÷ouuuuyþy" + // F0-FF
		"aaaaaaccccccccdd" + // 100-10F
		"ddeeeeeeeeeegggg" + // 110-11F
		"gggghhhhiiiiiiii" + // 120-12F
		"iiĳĳjjkkĸlllllll" + // 130-13F
		"lllnnnnnnŉŋŋoooo" + // 140-14F
		"ooœœrrrrrrssssss" + // 150-15F
		"ssttttttuuuuuuuu" + // 160-16F
		"uuuuwwyyyzzzzzzs" //   170-17F
	var t [0x180 - 0xC0]rune
	i := 0
	for _, r := range table {
		t[i] = r
		i++
	}
	if i != len(t) {
		panic("odata: latin fold table has the wrong length")
	}
	return t
}

// foldRune maps r to the form the collation compares.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case 0xC0 <= r && r < 0x180:
		return latinFold[r-0xC0]
	}
	return unicode.ToLower(r)
}

// nextFold decodes the rune at s[i:] and returns it folded with its width.
func nextFold(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return foldRune(r), n
}

// fold returns s folded; used once per literal at parse time.
func fold(s string) string { return strings.Map(foldRune, s) }

// collate compares a and b under the collation. Both are folded on the fly,
// so an already-folded b (a parsed literal) works as well as a raw one.
func collate(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := nextFold(a, i)
		rb, nb := nextFold(b, j)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		i += na
		j += nb
	}
	// SQL Server pads the shorter string with spaces before comparing.
	if i < len(a) {
		return padCompare(a[i:])
	}
	if j < len(b) {
		return -padCompare(b[j:])
	}
	return 0
}

// padCompare compares the rest of the longer string with trailing spaces.
func padCompare(rest string) int {
	for k := 0; k < len(rest); {
		r, n := nextFold(rest, k)
		switch {
		case r < ' ':
			return -1
		case r > ' ':
			return 1
		}
		k += n
	}
	return 0
}

// likePattern is a compiled T-SQL LIKE pattern (the argument of contains,
// startswith and endswith in Dataverse), literal runes already folded.
type likePattern []likeElem

type likeKind uint8

const (
	likeRune likeKind = iota // one folded rune
	likeOne                  // _ : any single character
	likeMany                 // % : any run of characters
	likeSet                  // [set] or [^set]
)

type likeElem struct {
	kind   likeKind
	r      rune
	negate bool
	ranges []runeRange // folded bounds, inclusive
}

type runeRange struct{ lo, hi rune }

// compileLike turns a LIKE pattern into elements, wrapping it in % as the
// function requires (contains: both ends, startswith: the end, endswith: the
// start).
func compileLike(pat string, leading, trailing bool) likePattern {
	var p likePattern
	if leading {
		p = append(p, likeElem{kind: likeMany})
	}
	for i := 0; i < len(pat); {
		r, n := utf8.DecodeRuneInString(pat[i:])
		switch r {
		case '%':
			if len(p) == 0 || p[len(p)-1].kind != likeMany {
				p = append(p, likeElem{kind: likeMany})
			}
		case '_':
			p = append(p, likeElem{kind: likeOne})
		case '[':
			if e, end, ok := compileSet(pat, i+1); ok {
				p = append(p, e)
				i = end
				continue
			}
			p = append(p, likeElem{kind: likeRune, r: '['}) // unclosed: a literal bracket
		default:
			p = append(p, likeElem{kind: likeRune, r: foldRune(r)})
		}
		i += n
	}
	if trailing && (len(p) == 0 || p[len(p)-1].kind != likeMany) {
		p = append(p, likeElem{kind: likeMany})
	}
	return p
}

// compileSet parses the bracket expression starting after '[' at pat[i:];
// end is the offset after its ']'.
func compileSet(pat string, i int) (e likeElem, end int, ok bool) {
	closeAt := strings.IndexByte(pat[i:], ']')
	if closeAt < 0 {
		return e, 0, false
	}
	body := pat[i : i+closeAt]
	e.kind = likeSet
	if strings.HasPrefix(body, "^") && len(body) > 1 {
		e.negate, body = true, body[1:]
	}
	runes := []rune(body)
	for k := 0; k < len(runes); k++ {
		lo, hi := foldRune(runes[k]), foldRune(runes[k])
		if k+2 < len(runes) && runes[k+1] == '-' {
			hi = foldRune(runes[k+2])
			k += 2
		}
		e.ranges = append(e.ranges, runeRange{lo, hi})
	}
	return e, i + closeAt + 1, true
}

func (e *likeElem) matches(r rune) bool {
	switch e.kind {
	case likeRune:
		return r == e.r
	case likeOne:
		return true
	case likeSet:
		in := false
		for _, rg := range e.ranges {
			if rg.lo <= r && r <= rg.hi {
				in = true
				break
			}
		}
		return in != e.negate
	}
	return false
}

// match reports whether s matches the whole pattern: the classic wildcard
// algorithm, backtracking only to the last %, so it is O(len(s)·len(p)) at
// worst and allocation-free.
func (p likePattern) match(s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			e := &p[pi]
			if e.kind == likeMany {
				starP, starS = pi, si
				pi++
				continue
			}
			if r, n := nextFold(s, si); e.matches(r) {
				pi++
				si += n
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi].kind == likeMany {
		pi++
	}
	return pi == len(p)
}
