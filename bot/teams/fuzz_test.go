package teams

import (
	"net/http"
	"testing"
	"time"
)

// FuzzActivity posts arbitrary bodies to the endpoint (dev mode, stub core
// and connector): whatever Teams or an attacker sends, the handler answers
// a status and never panics. Seeded with the shapes Teams sends.
func FuzzActivity(f *testing.F) {
	for _, s := range []string{
		activityJSON(TypeMessage, "", ""),
		activityJSON(TypeMessage, "", `{"crmbot":{"form":"edit","state":"s"},"subject":"x"}`),
		activityJSON(TypeMessage, "", `{"verb":"open","value":"lead:1"}`),
		activityJSON(TypeInvoke, InvokeTaskFetch, `{"data":{"msteams":{"type":"task/fetch"},"verb":"edit","value":"lead:1"},"context":{"theme":"dark"}}`),
		activityJSON(TypeInvoke, InvokeTaskSubmit, `{"data":{"crmbot":{"form":"edit","state":"s","origin":"1:2"},"subject":"Renewal","when.date":"2026-11-30","when.time":"09:00"}}`),
		activityJSON(TypeInvoke, InvokeTaskSubmit, `{"data":{"crmbot":{"form":"edit","state":"s","cancel":true}}}`),
		activityJSON(TypeInvoke, InvokeCardAction, `{"action":{"type":"Action.Execute","verb":"search","data":{"value":"t=lead","search":"acme"}},"trigger":"manual"}`),
		activityJSON(TypeInvoke, InvokeSearch, `{"queryText":"con","kind":"search","dataset":"account","queryOptions":{"skip":0,"top":15}}`),
		activityJSON(TypeConversationUpdate, "", ""),
		`{"type":"conversationUpdate","membersAdded":[{"id":"28:bot"}],"recipient":{"id":"28:bot"},"from":{"id":"29:u"},"conversation":{"id":"a:1","conversationType":"personal","tenantId":"t"},"serviceUrl":"http://127.0.0.1:1"}`,
		`{"type":"invoke","name":"task/submit","value":null}`,
		`{"type":"message","value":[1,2,3],"from":{"id":"29:u"},"conversation":{"id":"a:1"},"channelData":{"tenant":{"id":"t"}}}`,
	} {
		f.Add(s)
	}
	a, _, _, _ := devAdapter(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := post(a, "127.0.0.1:1", body)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		_ = a.Wait(ctxWithin(t, 10*time.Second))
	})
}
