// Package loopback decides whether an HTTP request comes from this machine
// and from nobody else: the trust the Teams dev endpoint and the demo's
// status page give without credentials.
package loopback

import (
	"net"
	"net/http"
	"strings"
)

// ProxyHeaders are the headers a relaying proxy adds: with any of them the
// peer speaks for someone else, however local it is.
var ProxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip",
	"Via", "Cf-Connecting-Ip", "True-Client-Ip"}

// Request reports whether r's peer is this machine, addressed us by a
// loopback name (a DNS-rebinding page cannot), and carries no proxy header
// nor any of alsoAbsent (Origin, Sec-Fetch-* to turn browsers away).
func Request(r *http.Request, alsoAbsent ...string) bool {
	for _, list := range [][]string{ProxyHeaders, alsoAbsent} {
		for _, name := range list {
			if r.Header.Get(name) != "" {
				return false
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && Host(r.Host)
}

// Host reports whether hostport (a Host header, a URL's host) names this
// machine: localhost or a loopback address.
func Host(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
