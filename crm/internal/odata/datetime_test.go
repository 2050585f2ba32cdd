package odata

import (
	"testing"
	"time"
)

func TestParseTemporal(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-24", utc(2026, 11, 24, 0, 0, 0, 0), true},
		{"2000-02-29", utc(2000, 2, 29, 0, 0, 0, 0), true},
		{"1900-02-29", time.Time{}, false},
		{"2023-02-29", time.Time{}, false},
		{"2026-04-31", time.Time{}, false},
		{"2026-00-10", time.Time{}, false},
		{"2026-1-10", time.Time{}, false},
		{"2026-11-24T15:04:05Z", utc(2026, 11, 24, 15, 4, 5, 0), true},
		{"2026-11-24t15:04:05z", utc(2026, 11, 24, 15, 4, 5, 0), true},
		{"2026-11-24T15:04Z", utc(2026, 11, 24, 15, 4, 0, 0), true},
		{"2026-11-24T15:04:05.123456789Z", utc(2026, 11, 24, 15, 4, 5, 123456789), true},
		{"2026-11-24T15:04:05.1234567890Z", time.Time{}, false},
		{"2026-11-24T15:04:05.Z", time.Time{}, false},
		{"2026-11-24T00:30:00+01:00", utc(2026, 11, 23, 23, 30, 0, 0), true},
		{"2026-11-24T23:30:00-01:30", utc(2026, 11, 25, 1, 0, 0, 0), true},
		{"2026-11-24T15:04:05+2:00", time.Time{}, false},
		{"2026-11-24T15:04:05+24:00", time.Time{}, false},
		{"2026-11-24T15:04:05", time.Time{}, false},
		{"2026-11-24T24:00:00Z", time.Time{}, false},
		{"2026-11-24T15:60:00Z", time.Time{}, false},
		{"2026-11-24T15:04:60Z", time.Time{}, false},
		{"2026-11-24T15:04:05Zjunk", time.Time{}, false},
		{"2026-11-24 15:04:05Z", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseTemporal(tc.in)
			if ok != tc.ok || ok && !got.Equal(tc.want) {
				t.Errorf("parseTemporal(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
