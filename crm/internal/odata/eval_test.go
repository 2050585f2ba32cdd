package odata

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// sample is one account-like row with every value shape the sandbox and a
// JSON decoder produce.
var sample = MapRecord{
	"name":               "Contoso Ltd",
	"nullname":           nil,
	"city":               "Zürich",
	"padded":             "abc  ",
	"pct":                "50% off",
	"under":              "a_b",
	"statecode":          int64(0),
	"count32":            int32(7),
	"revenue":            1500.5,
	"employees":          json.Number("250"),
	"ratio":              json.Number("0.25"),
	"donotemail":         true,
	"_ownerid_value":     ownerID,
	"upperowner":         strings.ToUpper(ownerID),
	"createdon":          "2026-11-24T15:04:05Z",
	"modifiedon":         time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC),
	"estimatedclosedate": "2026-11-30",
}

func TestEval(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		// Strings: the collation is case- and accent-insensitive and ignores trailing spaces.
		{"name eq 'contoso ltd'", true},
		{"name eq 'CONTOSO LTD'", true},
		{"name ne 'contoso ltd'", false},
		{"name eq 'Contoso'", false},
		{"name gt 'contoso'", true},
		{"name lt 'D'", true},
		{"name ge 'CONTOSO LTD'", true},
		{"city eq 'ZURICH'", true},
		{"padded eq 'ABC'", true},
		{"padded eq 'abc '", true},
		// Functions: case-insensitive LIKE patterns.
		{"contains(name,'TOSO')", true},
		{"contains(name,'')", true},
		{"contains(name,'xyz')", false},
		{"startswith(name,'cont')", true},
		{"startswith(name,'ltd')", false},
		{"endswith(name,'LTD')", true},
		{"endswith(name,'Contoso')", false},
		{"contains(city,'zur')", true},
		{"contains(pct,'50[%]')", true},
		{"contains(pct,'0%o')", true},
		{"contains(pct,'x%')", false},
		{"contains(under,'a[_]b')", true},
		{"contains(name,'c_n')", true},
		{"startswith(name,'[a-c]on')", true},
		{"startswith(name,'[^c]on')", false},
		{"endswith(name,'l_d')", true},
		// Null: missing and nil are the same; ne matches null as in Dataverse.
		{"missing eq null", true},
		{"missing ne null", false},
		{"nullname eq null", true},
		{"nullname ne null", false},
		{"name eq null", false},
		{"name ne null", true},
		{"missing eq 'x'", false},
		{"missing ne 'x'", true},
		{"nullname ne 'x'", true},
		{"missing gt 1", false},
		{"missing le 1", false},
		{"missing gt null", false},
		{"contains(missing,'')", false},
		{"not (missing eq 'x')", true},
		{"not contains(missing,'x')", true},
		// Numbers compare numerically whatever their Go types.
		{"statecode eq 0", true},
		{"statecode eq 0.0", true},
		{"statecode lt -1", false},
		{"revenue gt 1500", true},
		{"revenue eq 1500.5", true},
		{"revenue eq 1500.50m", true},
		{"employees eq 250", true},
		{"employees ge 250.0", true},
		{"ratio lt 1", true},
		{"count32 lt 8", true},
		{"count32 eq 7L", true},
		// Booleans.
		{"donotemail eq true", true},
		{"donotemail ne false", true},
		// GUIDs compare case-insensitively either way round.
		{"_ownerid_value eq " + strings.ToUpper(ownerID), true},
		{"upperowner eq " + ownerID, true},
		{"_ownerid_value ne " + ownerID, false},
		{"_ownerid_value eq '" + strings.ToUpper(ownerID) + "'", true},
		// Datetimes chronologically, as strings or time.Time, against either literal form.
		{"createdon gt 2026-11-24T15:00:00Z", true},
		{"createdon eq 2026-11-24T17:04:05+02:00", true},
		{"createdon eq 2026-11-24T15:04:05.000Z", true},
		{"createdon lt 2026-11-25", true},
		{"createdon ge 2026-11-24", true},
		{"modifiedon gt 2026-11-24T15:04:05Z", true},
		{"modifiedon le 2026-11-24", false},
		{"estimatedclosedate eq 2026-11-30", true},
		{"estimatedclosedate gt 2026-11-29T23:59:59Z", true},
		// Logic.
		{"name eq 'x' or statecode eq 0", true},
		{"name eq 'x' and statecode eq 0", false},
		{"not (name eq 'x') and not (statecode eq 1)", true},
		{"statecode eq 1 or statecode eq 0 and name eq 'x'", false},
		{"(statecode eq 1 or statecode eq 0) and contains(name,'ltd')", true},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got, err := mustParse(t, tc.filter).Eval(sample)
			if err != nil || got != tc.want {
				t.Errorf("Eval = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestEvalTypeErrors(t *testing.T) {
	for _, tc := range []struct{ name, filter, want string }{
		{"StringVsInt", "name eq 1", "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'."},
		{"IntVsString", "statecode gt 'a'", "A binary operator with incompatible types was detected. Found operand types 'Edm.Int64' and 'Edm.String' for operator kind 'GreaterThan'."},
		{"BoolVsInt", "donotemail eq 1", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.Int32' for operator kind 'Equal'."},
		{"StringVsDate", "name lt 2026-01-01", "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Date' for operator kind 'LessThan'."},
		{"StringVsGUID", "name eq " + ownerID, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Guid' for operator kind 'Equal'."},
		{"ContainsOnNumber", "contains(statecode,'1')", "No function signature for the function with name 'contains' matches the specified arguments. The function signatures considered are: contains(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{"ErrorOnLeftOfOr", "name eq 1 or statecode eq 0", "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'."},
		{"ErrorUnderNot", "not (name eq 1)", "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustParse(t, tc.filter).Eval(sample)
			if got {
				t.Error("Eval = true with an error")
			}
			assertQueryError(t, err, tc.want)
		})
	}
	// Short-circuit: an or already satisfied does not evaluate (or fail on) its right side.
	if ok, err := mustParse(t, "statecode eq 0 or name eq 1").Eval(sample); !ok || err != nil {
		t.Errorf("short-circuit or = %v, %v", ok, err)
	}
}

func TestEvalGUIDOrder(t *testing.T) {
	// SQL Server orders uniqueidentifier by the last group first, and the
	// first three groups byte-reversed.
	for _, tc := range []struct{ name, lo, hi string }{
		{"LastGroupFirst", "ff000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"},
		{"FourthGroupBeforeThird", "00000000-0000-ffff-0001-000000000000", "00000000-0000-0000-0002-000000000000"},
		{"ThirdGroupByteReversed", "00000000-0000-0100-0000-000000000000", "00000000-0000-0001-0000-000000000000"},
		{"FirstGroupByteReversed", "ff000000-0000-0000-0000-000000000000", "00000001-0000-0000-0000-000000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := MapRecord{"id": tc.lo}
			if ok, err := mustParse(t, "id lt "+tc.hi).Eval(rec); !ok || err != nil {
				t.Errorf("%s lt %s = %v, %v; want true", tc.lo, tc.hi, ok, err)
			}
			if ok, _ := mustParse(t, "id ge "+tc.hi).Eval(rec); ok {
				t.Errorf("%s ge %s = true", tc.lo, tc.hi)
			}
			// $orderby must agree, or keyset paging over a GUID column skips rows.
			assertOrder(t, Compare, any(GUID(tc.lo)), any(GUID(tc.hi)), -1)
		})
	}
}

// TestEvalAllocations guards the per-record cost: filters are compiled once
// and evaluating a record must not allocate.
func TestEvalAllocations(t *testing.T) {
	for _, f := range []string{
		"name eq 'CONTOSO LTD' and statecode eq 0",
		"contains(name,'toso') or startswith(city,'zu') or endswith(name,'[l]td')",
		"_ownerid_value eq " + strings.ToUpper(ownerID),
		"createdon ge 2026-11-24T00:00:00+01:00 and modifiedon lt 2026-12-01 and estimatedclosedate le 2026-11-30",
		"revenue gt 1000 and employees ge 100 and ratio lt 0.5 and count32 ne 1",
		"missing ne 'x' and not (nullname eq 'y')",
	} {
		t.Run(f, func(t *testing.T) {
			e := mustParse(t, f)
			if n := testing.AllocsPerRun(100, func() { _, _ = e.Eval(sample) }); n != 0 {
				t.Errorf("%v allocations per Eval, want 0", n)
			}
		})
	}
}

func TestEvalValueTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		value  any
		filter string
		want   bool
	}{
		{"Int", 5, "v eq 5", true},
		{"Int16", int16(-5), "v lt 0", true},
		{"Int8", int8(5), "v eq 5.0", true},
		{"Uint", uint(5), "v ge 5", true},
		{"Uint8", uint8(5), "v eq 5", true},
		{"Uint16", uint16(5), "v eq 5", true},
		{"Uint32", uint32(5), "v eq 5", true},
		{"HugeUint64", uint64(1 << 63), "v gt 9223372036854775807", true},
		{"Float32", float32(0.5), "v eq 0.5", true},
		{"JSONNumberExponent", json.Number("1e3"), "v eq 1000", true},
		{"LargeIntsExact", int64(9007199254740993), "v gt 9007199254740992", true},
		{"FloatVsLargeInt", float64(1 << 53), "v lt 9007199254740993", true},
		{"NegativeFraction", -0.5, "v lt 0", true},
		{"FractionAboveInt", 1.5, "v gt 1", true},
		{"GUIDTypeValue", GUID(ownerID), "v eq " + strings.ToUpper(ownerID), true},
		{"GUIDTypeContains", GUID(ownerID), "startswith(v,'0B8D')", true},
		{"TimeVsDateTime", time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)), "v eq 2025-12-31T23:00:00Z", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustParse(t, tc.filter).Eval(MapRecord{"v": tc.value})
			if err != nil || got != tc.want {
				t.Errorf("Eval = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestEvalMismatchNamesTypes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{"Int32", int32(1), "'Edm.Int32'"},
		{"Int", 1, "'Edm.Int64'"},
		{"Float", 1.5, "'Edm.Double'"},
		{"JSONNumber", json.Number("1"), "'Edm.Decimal'"},
		{"Time", time.Time{}, "'Edm.DateTimeOffset'"},
		{"GUID", GUID(ownerID), "'Edm.Guid'"},
		{"Other", []int{1}, "'[]int'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustParse(t, "v eq true").Eval(MapRecord{"v": tc.value})
			if err == nil || !strings.Contains(err.Error(), "Found operand types "+tc.want+" and 'Edm.Boolean'") {
				t.Errorf("err = %v, want operand type %s", err, tc.want)
			}
		})
	}
}
