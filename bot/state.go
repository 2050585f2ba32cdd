package bot

import (
	"net/url"
	"strconv"
	"strings"
)

// Action ids the core puts on buttons and routes back (cards.Action.ID).
// They never end in "#<digits>" (the Slack renderer's suffix for repeats).
const (
	actList     = "list"     // a page of a "my" list: t, q, p, s
	actSearch   = "search"   // a list's search box: State t; the typed text
	actOpen     = "open"     // a record's detail: t, id, o
	actEdit     = "edit"     // the edit form: t, id, o
	actClose    = "close"    // a closing action: t, id, a, o
	actConfirm  = "confirm"  // a closing action without a form, confirmed: t, id, a, o
	actNew      = "new"      // the create form: t (and for activities, regarding: rt, rid)
	actRelated  = "related"  // the full list of related records: t, id, r, p, s
	actSettings = "settings" // the notification preferences form
	actHelp     = "help"     // the help message
	actBack     = "back"     // back to the card a confirmation replaced: t, id, o
)

// dialogActions open (or continue in) a dialog.
var dialogActions = map[string]bool{actOpen: true, actEdit: true, actClose: true, actNew: true, actSettings: true, actRelated: true}

// Form ids (cards.Form.ID).
const (
	formEdit     = "edit"
	formCreate   = "create"
	formClose    = "close"
	formSettings = "settings"
)

// Origins: which card a dialog was opened from, so that after a submit the
// core can answer that card's new state (Response.Refresh).
const (
	originDetail      = "d"
	originNotifyNew   = "n0"
	originNotifyMoved = "n1"
)

// notifyOrigin is a notification's origin with who assigned the record
// ("n1:Seán O'Brien"), so the card redrawn after an action still says so.
func notifyOrigin(base, by string) string {
	if by == "" {
		return base
	}
	return base + ":" + by
}

// splitOrigin reads an origin back: its kind and, for a notification, who
// assigned the record.
func splitOrigin(o string) (base, by string) {
	base, by, _ = strings.Cut(o, ":")
	return base, by
}

// params is an action value or a form state: a URL query string, so every
// part (search text included) is escaped and a value never breaks another.
type params struct{ v url.Values }

func newParams(kv ...string) params {
	p := params{url.Values{}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			p.v.Set(kv[i], kv[i+1])
		}
	}
	return p
}

func parseParams(s string) params {
	v, err := url.ParseQuery(s)
	if err != nil {
		v = url.Values{}
	}
	return params{v}
}

func (p params) get(k string) string { return p.v.Get(k) }

func (p params) int(k string) int {
	n, _ := strconv.Atoi(p.v.Get(k))
	return n
}

func (p params) with(k, v string) params {
	q := params{url.Values{}}
	for key, vals := range p.v {
		q.v[key] = append([]string(nil), vals...)
	}
	if v == "" {
		q.v.Del(k)
	} else {
		q.v.Set(k, v)
	}
	return q
}

func (p params) String() string { return p.v.Encode() }
