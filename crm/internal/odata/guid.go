package odata

import (
	"fmt"
	"strings"
)

// GUID is a Dataverse uniqueidentifier in its 8-4-4-4-12 text form. Passing a
// GUID (not a plain string) to [Literal] or the [Filter] builder is what makes
// it a bare GUID literal rather than a quoted string.
type GUID string

// ParseGUID validates s as a GUID (optionally in braces, any case) and returns
// it in the canonical lowercase form Dataverse returns in payloads.
func ParseGUID(s string) (GUID, error) {
	t := s
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	}
	if _, ok := parseGUIDBytes(t); !ok {
		return "", fmt.Errorf("odata: %q is not a GUID", s)
	}
	return GUID(strings.ToLower(t)), nil
}

// Guid returns s as a bare GUID literal, lowercased. Input that is not a GUID
// comes back as a quoted string literal instead, so untrusted text can never
// be spliced into the filter and the comparison fails closed (Dataverse
// rejects a string compared with a GUID column); use [ParseGUID] or [Literal]
// to see the error.
func Guid(s string) string {
	g, err := ParseGUID(s)
	if err != nil {
		return String(s)
	}
	return string(g)
}

// parseGUIDBytes decodes the 36-character hyphenated form into its 16 bytes in
// written order, without allocating (it runs per record during evaluation).
func parseGUIDBytes(s string) (b [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return b, false
		}
		b[j] = hi<<4 | lo
		j++
		i += 2
	}
	return b, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// sqlGUIDOrder lists byte indexes (in written order) from most to least
// significant as SQL Server orders uniqueidentifier values: the last group
// first, and the first three groups byte-reversed.
var sqlGUIDOrder = [16]int{10, 11, 12, 13, 14, 15, 8, 9, 7, 6, 5, 4, 3, 2, 1, 0}

// compareGUID orders two GUIDs as SQL Server does, so gt/lt on a GUID column
// pages the way Dataverse does.
func compareGUID(a, b *[16]byte) int {
	for _, i := range sqlGUIDOrder {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
