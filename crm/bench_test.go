package crm

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// page5000 is a realistic 5000-row opportunities page as Dataverse sends it
// with odata.include-annotations: etags, money, dates, option sets with
// formatted values, lookups with formatted names, target types and navigation
// properties, nulls.
func page5000() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://org.crm.dynamics.com/api/data/v9.2/$metadata#opportunities(opportunityid,name,_customerid_value,estimatedvalue,estimatedclosedate,closeprobability,opportunityratingcode,_ownerid_value,statecode,statuscode,description,modifiedon)","value":[`)
	guid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	}
	ratings := []string{"Hot", "Warm", "Cold"}
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(',')
		}
		value := float64(rng.IntN(10_000_000)) / 100
		close := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		mod := close.Add(-time.Duration(rng.IntN(1000)) * time.Hour)
		rating := rng.IntN(3)
		prob := rng.IntN(101)
		desc := "null"
		if rng.IntN(3) > 0 {
			desc = fmt.Sprintf(`"Renewal for the \"%d\" fleet — Café Crème O'Brien, line %d.\nSecond line."`, i, rng.IntN(100))
		}
		fmt.Fprintf(&b, `{"@odata.etag":"W/\"%d\"","opportunityid":"%s","name":"Opportunity %d for Contoso Ltd",`+
			`"_customerid_value":"%s","_customerid_value@OData.Community.Display.V1.FormattedValue":"Contoso %d",`+
			`"_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":"customerid_account",`+
			`"_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account",`+
			`"estimatedvalue":%.2f,"estimatedvalue@OData.Community.Display.V1.FormattedValue":"$%.2f",`+
			`"estimatedclosedate":"%s","estimatedclosedate@OData.Community.Display.V1.FormattedValue":"%s",`+
			`"closeprobability":%d,"closeprobability@OData.Community.Display.V1.FormattedValue":"%d",`+
			`"opportunityratingcode":%d,"opportunityratingcode@OData.Community.Display.V1.FormattedValue":"%s",`+
			`"_ownerid_value":"%s","_ownerid_value@OData.Community.Display.V1.FormattedValue":"Chloé Dubois",`+
			`"_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty":"owninguser",`+
			`"_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"systemuser",`+
			`"statecode":0,"statecode@OData.Community.Display.V1.FormattedValue":"Open",`+
			`"statuscode":1,"statuscode@OData.Community.Display.V1.FormattedValue":"In Progress",`+
			`"description":%s,"modifiedon":"%s","modifiedon@OData.Community.Display.V1.FormattedValue":"%s"}`,
			1000000+i, guid(), i, guid(), i, value, value,
			close.Format("2006-01-02"), close.Format("1/2/2006"), prob, prob, rating+1, ratings[rating],
			guid(), desc, mod.Format(time.RFC3339), mod.Format("1/2/2006 3:04 PM"))
	}
	b.WriteString(`],"@odata.nextLink":"https://org.crm.dynamics.com/api/data/v9.2/opportunities?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"}`)
	return []byte(b.String())
}

// BenchmarkDecodePage5000 compares the client's decoding and mapping of a
// 5000-row page (what List does with a response body) to the floor: a plain
// encoding/json decode of the same bytes into []map[string]any.
func BenchmarkDecodePage5000(b *testing.B) {
	data := page5000()
	var floorNs, clientNs float64
	b.Run("floor", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var env struct {
				Value []map[string]any `json:"value"`
			}
			if err := json.Unmarshal(data, &env); err != nil || len(env.Value) != 5000 {
				b.Fatal(err)
			}
		}
		floorNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("client", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := decodePage(data, "opportunityid")
			if err != nil || len(p.Records) != 5000 || p.Records[0].ID == "" || p.Records[0].Formatted["statecode"] != "Open" {
				b.Fatal(err)
			}
		}
		clientNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if floorNs > 0 {
			b.ReportMetric(clientNs/floorNs, "x-floor")
		}
	})
}
