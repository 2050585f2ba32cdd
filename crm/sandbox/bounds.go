package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Column bounds Dataverse enforces on create and update. The $metadata slice
// (schema/metadata.xml) carries no MaxLength or range facets, so they live here.
//
// Where the numbers come from: they are Dynamics 365's out-of-the-box
// attribute metadata (StringAttributeMetadata.MaxLength,
// IntegerAttributeMetadata.MinValue/MaxValue, MoneyAttributeMetadata.MinValue)
// for the columns crmbot uses. Every string length is the `maxLength` that
// crm/catalog.yaml records for the column (TestBoundsMatchCatalog keeps the two
// equal); the ranges are the platform's: employees 0..1,000,000,000,
// percentages 0..100, minutes 0..2,147,483,647, and money columns are never
// negative. Columns not listed here are not checked, beyond their Edm type.

// Validation error codes (Dataverse's StringLengthTooLong and out-of-range value).
const (
	codeStringTooLong = "0x80044331"
	codeOutOfRange    = "0x80044330"
)

// maxLengths are the MaxLength of the string columns of the types the bot
// edits, in characters.
var maxLengths = map[string]map[string]int{
	"account": {
		"name": 160, "accountnumber": 20, "telephone1": 50, "emailaddress1": 100, "websiteurl": 200,
		"address1_line1": 250, "address1_city": 80, "address1_postalcode": 20, "address1_country": 80,
		"description": 2000,
	},
	"contact": {
		"firstname": 50, "lastname": 50, "jobtitle": 100, "department": 100, "emailaddress1": 100,
		"telephone1": 50, "mobilephone": 50, "address1_city": 80, "address1_country": 80, "description": 2000,
	},
	"lead": {
		"subject": 300, "firstname": 50, "lastname": 50, "jobtitle": 100, "companyname": 100,
		"emailaddress1": 100, "telephone1": 50, "mobilephone": 50, "websiteurl": 200, "description": 2000,
	},
	"opportunity":        {"name": 300, "description": 2000},
	"incident":           {"title": 200, "description": 2000},
	"appointment":        {"subject": 200, "location": 200, "description": 2000},
	"phonecall":          {"subject": 200, "phonenumber": 200, "description": 2000},
	"task":               {"subject": 200, "description": 2000},
	"incidentresolution": {"subject": 200, "description": 2000},
	"opportunityclose":   {"subject": 200, "description": 2000},
	"competitor":         {"name": 100},
}

// valueRange is a numeric column's accepted [Min, Max].
type valueRange struct{ Min, Max float64 }

const (
	maxMinutes = math.MaxInt32
	// maxMoney is the largest value a Dataverse Money column holds.
	maxMoney = 922337203685477
)

// ranges are the MinValue/MaxValue of the whole-number and money columns the
// bot edits.
var ranges = map[string]map[string]valueRange{
	"account":            {"numberofemployees": {0, 1000000000}, "revenue": {0, maxMoney}},
	"lead":               {"numberofemployees": {0, 1000000000}, "estimatedamount": {0, maxMoney}},
	"opportunity":        {"closeprobability": {0, 100}, "estimatedvalue": {0, maxMoney}},
	"opportunityclose":   {"actualrevenue": {0, maxMoney}},
	"incidentresolution": {"timespent": {0, maxMinutes}},
	"task":               {"percentcomplete": {0, 100}, "actualdurationminutes": {0, maxMinutes}, "scheduleddurationminutes": {0, maxMinutes}},
	"phonecall":          {"actualdurationminutes": {0, maxMinutes}, "scheduleddurationminutes": {0, maxMinutes}},
	"appointment":        {"actualdurationminutes": {0, maxMinutes}, "scheduleddurationminutes": {0, maxMinutes}},
}

// checkBounds rejects the values of in that a real org would refuse: strings
// longer than the column's MaxLength (counted in characters) and numbers
// outside its range. Cleared (null) columns are never out of bounds. Columns
// are checked in name order, so the error deterministically names one.
func checkBounds(e *entityInfo, in *input) error {
	lengths, rs := maxLengths[e.Name], ranges[e.Name]
	if lengths == nil && rs == nil {
		return nil
	}
	for _, k := range sortedKeys(in.attrs) {
		switch v := in.attrs[k].(type) {
		case string:
			if limit, ok := lengths[k]; ok && utf8.RuneCountInString(v) > limit {
				return errf(http.StatusBadRequest, codeStringTooLong,
					"A validation error occurred. The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.",
					k, e.Name, limit)
			}
		case int64:
			if r, ok := rs[k]; ok && (float64(v) < r.Min || float64(v) > r.Max) {
				return outOfRange(e, k, strconv.FormatInt(v, 10))
			}
		case float64:
			if r, ok := rs[k]; ok && (v < r.Min || v > r.Max) {
				return outOfRange(e, k, strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	}
	return nil
}

func outOfRange(e *entityInfo, attr, value string) *apiError {
	return errf(http.StatusBadRequest, codeOutOfRange,
		"A validation error occurred. The value %s of '%s' on record of type '%s' is outside the valid range.", value, attr, e.Name)
}
