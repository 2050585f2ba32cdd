package odata

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestBuilderRoundTrip: what the client builds, the sandbox parses and
// evaluates as intended.
func TestBuilderRoundTrip(t *testing.T) {
	rec := MapRecord{
		"name": "O'Brien & Sons 50%", "statecode": int64(0), "revenue": 99.5,
		"_ownerid_value": ownerID, "telephone1": nil, "createdon": "2026-11-24T15:04:05Z",
		"estimatedclosedate": "2026-11-30", "donotemail": false,
	}
	created := mustDate(t, "2026-11-24").Add(15*3600e9 + 4*60e9 + 5e9)
	for _, tc := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"QuotedName", Eq("name", "o'brien & sons 50%"), true},
		{"ContainsPercentLiterally", Contains("name", "50%"), true},
		{"ContainsUnderscoreLiterally", Contains("name", "50_"), false},
		{"StartsWithQuote", StartsWith("name", "O'B"), true},
		{"EndsWith", EndsWith("name", "SONS 50%"), true},
		{"Owner", Eq("_ownerid_value", GUID(strings.ToUpper(ownerID))), true},
		{"NullPhone", Eq("telephone1", nil), true},
		{"PhoneNotValue", Ne("telephone1", "555"), true},
		{"NumberMixedTypes", And(Eq("statecode", 0), Gt("revenue", 99), Lt("revenue", Decimal("99.75"))), true},
		{"TimeInstant", Eq("createdon", created), true},
		{"TimeInOtherZone", Ge("createdon", created.In(fixedZone(5))), true},
		{"DateOnly", Le("estimatedclosedate", DateOnly(mustDate(t, "2026-11-30"))), true},
		{"Bool", Eq("donotemail", false), true},
		{"OrOfAnd", Or(And(Eq("statecode", 1), Eq("name", "x")), Contains("name", "sons")), true},
		{"AndOfOr", And(Or(Eq("statecode", 1), Eq("statecode", 2)), Contains("name", "sons")), false},
		{"NotCall", Not(Contains("name", "zzz")), true},
		{"NotAnd", Not(And(Eq("statecode", 0), Eq("donotemail", false))), false},
		{"DoubleNot", Not(Not(Eq("statecode", 0))), true},
		{"Raw", And(Raw("statecode eq 0 or statecode eq 1"), Eq("donotemail", false)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Err(); err != nil {
				t.Fatal(err)
			}
			e := mustParse(t, tc.f.String())
			got, err := e.Eval(rec)
			if err != nil || got != tc.want {
				t.Errorf("%s: Eval = %v, %v; want %v", tc.f, got, err, tc.want)
			}
			if again := mustParse(t, e.String()); !reflect.DeepEqual(again, e) {
				t.Errorf("canonical text %q re-parses differently", e.String())
			}
		})
	}
}

// TestRandomFiltersMatchModel builds random filters with the builder and
// checks the parsed filter against a model written independently of the
// evaluator (plain Go over the same values), on random records.
func TestRandomFiltersMatchModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		f, model := randomFilter(rng, 3)
		e, err := ParseFilter(f.String())
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", f, err)
		}
		for range 5 {
			rec := randomRecord(rng)
			got, err := e.Eval(rec)
			if err != nil {
				t.Fatalf("#%d %s on %v: %v", i, f, rec, err)
			}
			if want := model(rec); got != want {
				t.Fatalf("#%d %s on %v = %v, model says %v", i, f, rec, got, want)
			}
		}
	}
}

type model func(MapRecord) bool

const alphabet = "aAbB '%_[]^-é"

func randomString(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(4) {
		r := []rune(alphabet)
		b.WriteRune(r[rng.IntN(len(r))])
	}
	return b.String()
}

func randomRecord(rng *rand.Rand) MapRecord {
	rec := MapRecord{}
	switch rng.IntN(4) {
	case 0: // missing
	case 1:
		rec["s"] = nil
	default:
		rec["s"] = randomString(rng)
	}
	n := int64(rng.IntN(5) - 2)
	switch rng.IntN(5) {
	case 0:
	case 1:
		rec["n"] = nil
	case 2:
		rec["n"] = n
	case 3:
		rec["n"] = float64(n) + 0.5*float64(rng.IntN(2))
	case 4:
		rec["n"] = json.Number(fmt.Sprint(n))
	}
	return rec
}

// modelKey folds as the model understands the collation over this alphabet:
// case and the accent on é ignored, trailing spaces dropped.
func modelKey(s string) string {
	return strings.TrimRight(strings.ReplaceAll(strings.ToLower(s), "é", "e"), " ")
}

func modelNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func sign(c int) int { return max(-1, min(1, c)) }

func randomFilter(rng *rand.Rand, depth int) (Filter, model) {
	if depth == 0 || rng.IntN(3) == 0 {
		return randomLeaf(rng)
	}
	switch rng.IntN(3) {
	case 0:
		f, m := randomFilter(rng, depth-1)
		return Not(f), func(r MapRecord) bool { return !m(r) }
	case 1, 2:
		n := 2 + rng.IntN(2)
		fs, ms := make([]Filter, n), make([]model, n)
		for i := range fs {
			fs[i], ms[i] = randomFilter(rng, depth-1)
		}
		if rng.IntN(2) == 0 {
			return And(fs...), func(r MapRecord) bool {
				for _, m := range ms {
					if !m(r) {
						return false
					}
				}
				return true
			}
		}
		return Or(fs...), func(r MapRecord) bool {
			for _, m := range ms {
				if m(r) {
					return true
				}
			}
			return false
		}
	}
	panic("unreachable")
}

func randomLeaf(rng *rand.Rand) (Filter, model) {
	ops := []struct {
		build func(string, any) Filter
		holds func(c int) bool
		isNe  bool
	}{
		{Eq, func(c int) bool { return c == 0 }, false},
		{Ne, func(c int) bool { return c != 0 }, true},
		{Gt, func(c int) bool { return c > 0 }, false},
		{Ge, func(c int) bool { return c >= 0 }, false},
		{Lt, func(c int) bool { return c < 0 }, false},
		{Le, func(c int) bool { return c <= 0 }, false},
	}
	op := ops[rng.IntN(len(ops))]
	nullResult := func(litNull bool) bool { return op.isNe != litNull } // missing value
	switch rng.IntN(4) {
	case 0: // string comparison
		lit := randomString(rng)
		return op.build("s", lit), func(r MapRecord) bool {
			v, ok := r["s"].(string)
			if !ok {
				return nullResult(false)
			}
			return op.holds(sign(strings.Compare(modelKey(v), modelKey(lit))))
		}
	case 1: // number comparison
		lit := float64(rng.IntN(5)-2) / float64(1+rng.IntN(2))
		return op.build("n", lit), func(r MapRecord) bool {
			v, ok := modelNumber(r["n"])
			if !ok {
				return nullResult(false)
			}
			switch {
			case v < lit:
				return op.holds(-1)
			case v > lit:
				return op.holds(1)
			}
			return op.holds(0)
		}
	case 2: // null comparison (eq or ne only)
		field := []string{"s", "n"}[rng.IntN(2)]
		if rng.IntN(2) == 0 {
			return Eq(field, nil), func(r MapRecord) bool { return r[field] == nil }
		}
		return Ne(field, nil), func(r MapRecord) bool { return r[field] != nil }
	}
	text := randomString(rng)
	fn := []struct {
		build func(string, string) Filter
		holds func(s, sub string) bool
	}{
		{Contains, strings.Contains},
		{StartsWith, strings.HasPrefix},
		{EndsWith, strings.HasSuffix},
	}[rng.IntN(3)]
	return fn.build("s", text), func(r MapRecord) bool {
		v, ok := r["s"].(string)
		fold := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "é", "e") }
		return ok && fn.holds(fold(v), fold(text))
	}
}
