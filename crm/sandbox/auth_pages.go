package sandbox

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// The sandbox's two HTML pages (user picker, sign-in error): self-contained,
// no scripts, styles allowed by a per-response CSP nonce.

const authPageStyle = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f3f2f1;color:#201f1e}
main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;margin:0 0 .5rem}
ul{list-style:none;padding:0;margin:0}
li{margin:.5rem 0}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:600;margin-bottom:.25rem}
button{font:inherit;cursor:pointer;border-radius:2px}
.user{display:block;width:100%;text-align:left;padding:.75rem 1rem;background:#fff;border:1px solid #8a8886;color:inherit}
.user:hover,.user:focus{background:#f3f2f1}
button:focus-visible{outline:3px solid #0067b8;outline-offset:2px}
.name{display:block;font-weight:600}
.detail{display:block;color:#484644}
.cancel{padding:.5rem 1.25rem;background:#e1dfdd;border:1px solid #8a8886;color:inherit}
.notice{padding:.5rem 1rem;background:#fff4ce;border-left:4px solid #797673}
.ids{font:13px/1.4 ui-monospace,monospace;color:#484644;word-break:break-all}
`

// authPageHead starts both pages; their data has Title and Nonce.
const authPageHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">` + authPageStyle + `</style>
</head>
<body>`

const authPickPageHTML = authPageHead + `
<main>
<h1>Sign in to the crmbot sandbox</h1>
<p id="about">The sandbox has no passwords: choose the demo user to sign in as.</p>
{{if .Notice}}<p class="notice" role="alert">{{.Notice}}</p>{{end}}
<p>The application <strong>{{.ClientID}}</strong> will be able to:</p>
<ul>{{range .Permissions}}
<li>{{.}}</li>{{end}}
</ul>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<input type="hidden" name="{{.TokenField}}" value="{{.Token}}">
<fieldset aria-describedby="about">
<legend>Demo users</legend>
<ul>{{range .Users}}
<li><button type="submit" class="user" name="{{$.UserField}}" value="{{.Email}}"><span class="name">{{.Name}}</span> <span class="detail">{{.Title}}</span> <span class="detail">{{.Email}}</span></button></li>{{end}}
</ul>
</fieldset>
<button type="submit" class="cancel" name="{{.CancelField}}" value="1">Cancel</button>
</form>
</main>
</body>
</html>
`

const authErrorPageHTML = authPageHead + `
<main>
<h1>Sorry, but we’re having trouble signing you in.</h1>
<p role="alert">{{.Description}}</p>
<dl class="ids">
<dt>Request Id</dt><dd>{{.TraceID}}</dd>
<dt>Correlation Id</dt><dd>{{.CorrelationID}}</dd>
<dt>Timestamp</dt><dd>{{.Timestamp}}</dd>
</dl>
</main>
</body>
</html>
`

// authHiddenField is one original authorize parameter carried by the picker form.
type authHiddenField struct{ Name, Value string }

// authPickUser is one demo user button.
type authPickUser struct{ Name, Title, Email string }

// renderPicker shows the user picker for a validated authorize request.
func (a *authServer) renderPicker(w http.ResponseWriter, t authTrace, action string, params url.Values, req authorizeRequest, notice string) {
	keys := slices.Sorted(maps.Keys(params))
	hidden := make([]authHiddenField, 0, len(keys))
	for _, k := range keys {
		hidden = append(hidden, authHiddenField{Name: k, Value: params.Get(k)})
	}
	users := make([]authPickUser, 0, len(a.users))
	for _, u := range a.users {
		users = append(users, authPickUser{Name: u.FullName(), Title: u.Title, Email: u.Email})
	}
	a.writePage(w, t, http.StatusOK, a.pickPage, func(nonce string) any {
		return struct {
			Title, Nonce, Action, ClientID, Notice, Token string
			TokenField, UserField, CancelField            string
			Permissions                                   []string
			Hidden                                        []authHiddenField
			Users                                         []authPickUser
		}{
			Title: "Sign in – crmbot sandbox", Nonce: nonce, Action: action, ClientID: a.opts.ClientID, Notice: notice,
			Token:      a.newFormToken(params),
			TokenField: authFieldFormToken, UserField: authFieldUser, CancelField: authFieldCancel,
			Permissions: authPermissionSentences(req.scopes),
			Hidden:      hidden,
			Users:       users,
		}
	})
}

// authPermissionSentences describes the requested scopes as a consent page would.
func authPermissionSentences(s authScopes) []string {
	var out []string
	if s.resource == authGraphResource {
		out = append(out, "Sign you in and read your profile (Microsoft Graph; the sandbox's Web API does not accept this token)")
	} else {
		out = append(out, "Access Dynamics 365 at "+s.resource+" as you")
	}
	if s.openid {
		out = append(out, "Sign you in")
	}
	if s.profile {
		out = append(out, "View your basic profile")
	}
	if s.email {
		out = append(out, "View your email address")
	}
	if s.offline {
		out = append(out, "Maintain access to data you have given it access to")
	}
	return out
}

// writeErrorPage shows an authorize error that cannot go to a redirect URI.
func (a *authServer) writeErrorPage(w http.ResponseWriter, t authTrace, e *oauthError) {
	a.writePage(w, t, http.StatusBadRequest, a.errorPage, func(nonce string) any {
		return struct{ Title, Nonce, Description, TraceID, CorrelationID, Timestamp string }{
			"Sign in – error – crmbot sandbox", nonce, e.description(), t.traceID, t.correlationID, t.timestamp,
		}
	})
}

// writePage renders an HTML page with a fresh CSP nonce and headers that keep
// it out of caches and frames.
func (a *authServer) writePage(w http.ResponseWriter, t authTrace, status int, page *template.Template, data func(nonce string) any) {
	nonce := base64.RawStdEncoding.EncodeToString(authRandomBytes(16))
	var buf bytes.Buffer
	if err := page.Execute(&buf, data(nonce)); err != nil {
		http.Error(w, "sandbox: cannot render page", http.StatusInternalServerError)
		return
	}
	t.setHeaders(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	// No form-action: browsers apply it to the redirect that follows the POST.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
