package odata

import "time"

// Hand-written parsers for the two temporal literal forms. They accept exactly
// what OData allows (time.Parse is laxer about some fields and allocates for
// numeric offsets), and they run per record when a datetime column is stored
// as an RFC 3339 string, so they must not allocate.

// parseDate parses YYYY-MM-DD as midnight UTC.
func parseDate(s string) (time.Time, bool) {
	if len(s) != 10 {
		return time.Time{}, false
	}
	y, m, d, ok := parseYMD(s)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// parseDateTime parses YYYY-MM-DDThh:mm[:ss[.fffffffff]](Z|±hh:mm), returning
// the instant in UTC.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < 17 || s[10] != 'T' && s[10] != 't' {
		return time.Time{}, false
	}
	y, mo, d, ok := parseYMD(s)
	if !ok {
		return time.Time{}, false
	}
	hh, ok1 := digits2(s, 11)
	mm, ok2 := digits2(s, 14)
	if !ok1 || !ok2 || s[13] != ':' || hh > 23 || mm > 59 {
		return time.Time{}, false
	}
	i := 16
	ss, ns := 0, 0
	if i < len(s) && s[i] == ':' {
		v, ok := digits2(s, i+1)
		if !ok || v > 59 {
			return time.Time{}, false
		}
		ss, i = v, i+3
		if i < len(s) && s[i] == '.' {
			i++
			start, scale := i, 100000000
			for i < len(s) && isDigit(s[i]) {
				if i-start >= 9 {
					return time.Time{}, false
				}
				ns += int(s[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == start {
				return time.Time{}, false
			}
		}
	}
	if i >= len(s) {
		return time.Time{}, false
	}
	offset := 0
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, ok1 := digits2(s, i+1)
		om, ok2 := digits2(s, i+4)
		if !ok1 || !ok2 || s[i+3] != ':' || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if s[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, false
	}
	if i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, ns, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func parseYMD(s string) (y, m, d int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y1, ok1 := digits2(s, 0)
	y2, ok2 := digits2(s, 2)
	m, ok3 := digits2(s, 5)
	d, ok4 := digits2(s, 8)
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 {
		return 0, 0, 0, false
	}
	y = y1*100 + y2
	if d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits2 reads two decimal digits at s[i:i+2].
func digits2(s string, i int) (int, bool) {
	if i+2 > len(s) || !isDigit(s[i]) || !isDigit(s[i+1]) {
		return 0, false
	}
	return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// looksTemporal is a cheap pre-check (YYYY-MM-DD prefix) so ordering plain
// strings never pays for a failed datetime parse.
func looksTemporal(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && isDigit(s[0]) && isDigit(s[3]) && isDigit(s[5]) && isDigit(s[9])
}

// parseTemporal accepts either temporal form, as stored values may be either.
func parseTemporal(s string) (time.Time, bool) {
	if len(s) == 10 {
		return parseDate(s)
	}
	return parseDateTime(s)
}
